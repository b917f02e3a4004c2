"""The optional ``motif`` knowledge source (issue 19): JASPAR motif similarity between TFs on hand-built
matrices, TFs without a motif, the source switch and the shuffled-motif control."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlib.data.knowledge import KNOWLEDGE_SOURCES, GeneAnnotations, Knowledge, parse_sources
from grnlib.models.knowledge import (KnowledgeScorer, motif_columns, motif_similarity, motif_tf_similarity,
                                     tf_similarity)


def pfm(consensus: str, count: float = 20.0) -> np.ndarray:
    """Counts [columns, 4] (A, C, G, T) of a motif that is its consensus, with a little noise on each column."""
    counts = np.ones((len(consensus), 4))
    counts[np.arange(len(consensus)), ["ACGT".index(b) for b in consensus]] = count
    return counts


def reverse_complement(sequence: str) -> str:
    return sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))


def test_identical_motifs_score_one_and_the_pearson_ignores_the_pseudocount():
    motif = pfm("GATTACAGG")
    assert motif_similarity([motif])[0, 0] == pytest.approx(1.0)
    # an affine change of the counts (a pseudocount) leaves a column's Pearson correlation unchanged
    assert np.allclose(motif_columns(motif, pseudocount=0.0), motif_columns(motif, pseudocount=5.0))
    assert motif_columns(np.full((2, 4), 7.0)).sum() == 0.0  # a flat column correlates with nothing


def test_the_reverse_complement_and_a_motif_inside_a_longer_one_are_found():
    site = "GATTACAGG"
    similarity = motif_similarity([pfm(site)], [pfm(reverse_complement(site)), pfm("TTTT" + site + "CC"),
                                                pfm(reverse_complement("CCC" + site))])
    assert similarity == pytest.approx(np.ones((1, 3)))


def test_unrelated_motifs_score_low_and_short_overlaps_do_not_count():
    # A against C and G columns (both strands): every column pair correlates at -1/3
    assert motif_similarity([pfm("AAAAAAAA")], [pfm("CCCCCCCC")])[0, 0] == pytest.approx(-1 / 3)
    # at most 2 of 5 columns agree in any alignment (the Gs of ...CAGG against poly-G, poly-C's reverse complement)
    assert motif_similarity([pfm("GATTACAGG")], [pfm("CCCCCCCCC")])[0, 0] == pytest.approx((2 - 3 / 3) / 5)
    # sharing the 3 last columns only: below the minimum overlap of 5 they do not align there
    tail = motif_similarity([pfm("TTTTTTACG")], [pfm("ACGCCCCCC")])[0, 0]
    assert tail < 0.5
    assert motif_similarity([pfm("TTTTTTACG")], [pfm("ACGCCCCCC")], min_overlap=3)[0, 0] == pytest.approx(1.0)


def _motif_annotations(rows: dict, genes) -> GeneAnnotations:
    genes, terms = pd.Index(genes), pd.Index(sorted({t for ts in rows.values() for t in ts}))
    r, c = zip(*[(genes.get_loc(g), terms.get_loc(t)) for g, ts in rows.items() for t in ts])
    matrix = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(genes), len(terms)))
    return GeneAnnotations("motif", genes, terms, matrix, np.ones(len(terms)), len(rows))


def test_tf_similarity_is_the_best_motif_pair_and_a_tf_without_motif_gets_none():
    site = "GATTACAGG"
    pfms = {"m1": pfm(site), "m1_rc": pfm(reverse_complement(site)), "m2": pfm("CCCCCCCC"), "m3": pfm("AAAAAAAA")}
    # t0: m1; t1: m2 and the reverse complement of m1 (the best pair counts); t2: m3 only; t3: no motif
    annotations = _motif_annotations({"t0": ["m1"], "t1": ["m2", "m1_rc"], "t2": ["m3"]}, ["t0", "t1", "t2", "t3"])
    similarity = motif_tf_similarity(annotations, np.arange(4), np.arange(4), pfms=pfms)
    assert similarity[0, 1] == pytest.approx(1.0) and similarity[1, 0] == pytest.approx(1.0)
    assert similarity[0, 2] == 0.0  # unrelated: below the floor, clipped to 0
    assert similarity[3].sum() == 0.0 and similarity[:, 3].sum() == 0.0
    assert similarity.shape == (4, 4) and ((similarity >= 0) & (similarity <= 1)).all()


# --- the real JASPAR matrices and the source switch ------------------------------------------------------

def test_the_motif_source_is_optional():
    assert "motif" not in parse_sources("auto") and parse_sources("auto") == KNOWLEDGE_SOURCES
    assert parse_sources("go,motif") == ("go", "motif")


@pytest.fixture(scope="module")
def motif_knowledge():
    """Knowledge with JASPAR motifs for real TFs (and a gene without any motif)."""
    pytest.importorskip("pyjaspar")
    from grnlib.data.knowledge import annotation_matrix

    genes = ["SOX2", "SOX3", "MAX", "MYC", "GAPDH", "FOXA1", "FOXA2"] + [f"G{i}" for i in range(20)]
    symbols = np.asarray(genes, dtype=object)
    motif = annotation_matrix("motif", genes, symbols)
    jaspar = annotation_matrix("jaspar", genes, symbols)
    return Knowledge(pd.Index(genes), symbols, {"jaspar": jaspar, "motif": motif}, np.arange(len(genes)) < 7, 1.0)


def test_real_jaspar_motifs_relate_paralogues(motif_knowledge):
    motif = motif_knowledge.annotations["motif"]
    assert motif.annotated[:7].tolist() == [True, True, True, True, False, True, True]
    similarity = motif_tf_similarity(motif, np.arange(7), np.arange(7))
    assert similarity[0, 1] > 0.5 and similarity[5, 6] > 0.5 and similarity[2, 3] > 0.5  # SOX2~SOX3 etc.
    assert similarity[0, 5] < similarity[0, 1]  # SOX2 is less like FOXA1 than like SOX3
    assert similarity[4].sum() == 0.0  # GAPDH has no motif


def test_the_switch_adds_the_motif_source_and_the_control_shuffles_only_it(motif_knowledge):
    without = Knowledge(motif_knowledge.genes, motif_knowledge.human_symbols,
                        {"jaspar": motif_knowledge.annotations["jaspar"]}, motif_knowledge.is_real_tf, 1.0)
    tfs = np.arange(7)
    assert set(tf_similarity(without, tfs, tfs)) == {"jaspar"}
    assert set(tf_similarity(motif_knowledge, tfs, tfs)) == {"jaspar", "motif"}
    with_motif = KnowledgeScorer(motif_knowledge).similarity(tfs, tfs)
    assert not np.allclose(with_motif, KnowledgeScorer(without).similarity(tfs, tfs))
    shuffled = motif_knowledge.shuffled(seed=3, sources=("motif",))
    assert (shuffled.annotations["jaspar"].matrix != motif_knowledge.annotations["jaspar"].matrix).nnz == 0
    assert (shuffled.annotations["motif"].matrix != motif_knowledge.annotations["motif"].matrix).nnz > 0
    motif_of = {name: tf_similarity(kb, tfs, tfs)["motif"] for name, kb in (("real", motif_knowledge),
                                                                            ("shuffled", shuffled))}
    assert not np.allclose(motif_of["real"], motif_of["shuffled"])


def test_the_motif_verdict_needs_both_intervals_above_zero():
    from grnlib.benchmark.knowledge import MOTIF_METHODS, MOTIF_VARIANTS, motif_verdict

    assert set(MOTIF_VARIANTS) <= set(MOTIF_METHODS) and "knowledge" in MOTIF_METHODS
    assert all("motif" in parse_sources(v["sources"]) for v in MOTIF_VARIANTS.values())

    def row(network, reference, low):
        return {"network": network, "metric": "per_tf_auroc", "method": "knowledge_motif", "reference": reference,
                "delta": low + 0.01, "ci_low": low, "ci_high": low + 0.02}
    summary = pd.DataFrame([row("A", "knowledge", 0.001), row("A", "knowledge_motif_shuffled", 0.002),
                            row("B", "knowledge", 0.001), row("B", "knowledge_motif_shuffled", -0.001)])
    verdict = motif_verdict(summary).set_index("network")["earns_its_place"]
    assert verdict.to_dict() == {"A": True, "B": False}
