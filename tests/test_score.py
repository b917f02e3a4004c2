"""`grnlib score` / `grnlib.score`: a ranked network in another tool's format against a reference,
with BEELINE's definitions of AUROC, AUPRC and EPR checked on a case computed by hand."""
import json

import numpy as np
import pandas as pd
import pytest

import grnlib
from grnlib import cli
from grnlib.errors import DataError
from grnlib.evaluation import metrics

# The hand-computed case. Genes A..E, every one a source of the reference, so the candidate pairs
# (reference TFs x genes, no self-pairs) are all 5 x 4 = 20 ordered pairs: the population BEELINE's
# computeScores (directed, no self edges) and computeEarlyPrec (TFEdges) both use.
REFERENCE = [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D"), ("D", "E"), ("E", "A")]  # 6 positives, 14 negatives
RANKED = [("A", "B", 0.9), ("C", "A", 0.8), ("B", "C", 0.7), ("D", "E", 0.6), ("A", "D", 0.5), ("B", "A", 0.4)]
# Listed: + - + + - -. Unlisted (14 pairs, weight 0 for BEELINE, last and tied here): 3 positives
# (A->C, C->D, E->A) and 11 negatives.
#
# AUROC (ties half): A->B is above all 14 negatives; B->C and D->E above 13 (all but C->A); each of
# the 3 unlisted positives ties with 11 unlisted negatives: 5.5. (14 + 13 + 13 + 3 * 5.5) / (6 * 14).
AUROC = (14 + 13 + 13 + 16.5) / 84  # 0.672619
# Average precision: precision at each positive: 1/1, 2/3, 3/4, and the last bin (3 positives among
# 14 pairs) ends at 6/20.
AP = (1 + 2 / 3 + 3 / 4 + 3 * 6 / 20) / 6  # 0.552778
# BEELINE's AUPRC, PRROC's Davis-Goadrich area, bin by bin (tp, fp after each bin):
#   +  (1,0): the first bin counts its own precision: 1/6 * 1
#   +  (2,1): trapezoid from the precision before (1/2) to 2/3: 1/6 * (1/2 + 2/3) / 2
#   +  (3,1): 1/6 * (2/3 + 3/4) / 2
#   last bin, 3 positives and 11 negatives from (3,3): interpolated one positive at a time with
#   11/3 negatives per positive: precisions 3/6, 4/(7 + 11/3), 5/(8 + 22/3), 6/20, trapezoids between.
_STEPS = [3 / 6, 4 / (7 + 11 / 3), 5 / (8 + 22 / 3), 6 / 20]
AUPRC_DG = (1 + (1 / 2 + 2 / 3) / 2 + (2 / 3 + 3 / 4) / 2
            + sum((a + b) / 2 for a, b in zip(_STEPS, _STEPS[1:]))) / 6  # 0.565459
# EPR: k = 6 true edges; the top 6 are the 6 listed edges (BEELINE: weight >= the 6th weight, 0.4),
# 3 of them true: precision 3/6, over the random precision 6/20.
EPR = (3 / 6) / (6 / 20)  # 1.666667
# Per TF (its 4 candidate targets each):
#   A: A->B + (0.9), A->D - (0.5), A->C + and A->E - unlisted: AUROC (2 + 0.5)/4, AP (1 + 2/4)/2
#   B: B->C + above all three negatives: 1, 1
#   C: C->A - (0.8) above C->D + tied with two unlisted negatives: AUROC (0 + 2 * 0.5)/3, AP 1/4
#   D: D->E + first: 1, 1
#   E: everything unlisted and tied: AUROC 0.5, AP 1/4
PER_TF_AUROC = (2.5 / 4 + 1 + 1 / 3 + 1 + 0.5) / 5  # 0.691667
PER_TF_AUPRC = (0.75 + 1 + 0.25 + 1 + 0.25) / 5  # 0.65
EXPECTED = {"auroc": AUROC, "auprc": AP, "auprc_dg": AUPRC_DG, "early_precision_ratio": EPR,
            "per_tf_auroc": PER_TF_AUROC, "per_tf_auprc": PER_TF_AUPRC}


@pytest.fixture
def files(tmp_path):
    ref = tmp_path / "refNetwork.csv"
    pd.DataFrame(REFERENCE, columns=["Gene1", "Gene2"]).to_csv(ref, index=False)
    beeline = tmp_path / "rankedEdges.csv"  # BEELINE writes it tab-separated whatever the suffix
    pd.DataFrame(RANKED, columns=["Gene1", "Gene2", "EdgeWeight"]).to_csv(beeline, sep="\t", index=False)
    arboreto = tmp_path / "adjacencies.tsv"
    pd.DataFrame(RANKED, columns=["TF", "target", "importance"]).to_csv(arboreto, sep="\t", index=False)
    return {"reference": ref, "beeline": beeline, "arboreto": arboreto}


def run_score(capsys, *argv):
    code = cli.main(["score", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("network", ["beeline", "arboreto"])
def test_command_reproduces_beeline_definitions_by_hand(files, network, tmp_path, capsys):
    out = tmp_path / f"{network}.json"
    code, stdout, err = run_score(capsys, "--network", files[network], "--reference", files["reference"],
                                  "--n-boot", 50, "--out", out)
    assert code == 0, err
    assert "auprc_dg" in stdout and "universe: 5 genes" in err and "no floors" in err
    written = json.loads(out.read_text())
    row = written["scores"][0]
    assert row["scorer"] == "network" and row["n_pairs"] == 20 and row["n_positives"] == 6
    for key, value in EXPECTED.items():
        assert row[key] == pytest.approx(value, abs=1e-12), key
        if f"{key}_low" in row:
            assert row[f"{key}_low"] <= value + 1e-12 and value - 1e-12 <= row[f"{key}_high"]
    assert written["info"]["network_format"] == network and written["info"]["candidate_pairs"] == 20


def test_api_reads_data_frames_and_signed_weights_by_magnitude():
    # decoupler's signed weights: a repression of weight -0.8 is as confident as an activation of 0.8
    signs = np.array([1, -1, 1, -1, 1, -1])
    net = pd.DataFrame([(s, t, w * sign) for (s, t, w), sign in zip(RANKED, signs)],
                       columns=["source", "target", "weight"])
    ref = pd.DataFrame(REFERENCE, columns=["source", "target"])
    table = grnlib.score(net, ref, n_boot=0)
    for key, value in EXPECTED.items():
        assert table.loc[0, key] == pytest.approx(value, abs=1e-12), key
    # grnlib's own table: the score is a logit, ranked as it is (negative is low, not strong)
    logits = pd.DataFrame([(s, t, w - 1.0, i + 1, 0) for i, (s, t, w) in enumerate(RANKED)],
                          columns=["tf", "target", "score", "rank", "in_prior"])
    assert grnlib.score(logits, ref, n_boot=0).loc[0, "auprc_dg"] == pytest.approx(AUPRC_DG)
    # without weights the row order is the ranking
    ordered = grnlib.score(net[["source", "target"]], ref, n_boot=0)
    assert ordered.loc[0, "auroc"] == pytest.approx(AUROC)


def test_metrics_davis_goadrich_differs_from_average_precision():
    # + - + : AP = (1 + 2/3) / 2; Davis-Goadrich = (1 + (1/2 + 2/3) / 2) / 2
    y, s = [1, 0, 1], [3.0, 2.0, 1.0]
    assert metrics.auprc(y, s) == pytest.approx((1 + 2 / 3) / 2)
    assert metrics.auprc_davis_goadrich(y, s) == pytest.approx((1 + (1 / 2 + 2 / 3) / 2) / 2)
    # a perfect ranking is 1 in both, whatever the ties among positives
    assert metrics.auprc_davis_goadrich([1, 1, 0], [1.0, 1.0, 0.0]) == pytest.approx(1.0)


def planted(seed=0, n_tfs=12, n_genes=150):
    """A reference whose hub TFs target hub genes, and a network that ranks by those hubs plus noise."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n_genes)]
    rows = []
    for t in range(n_tfs):
        weights = 1.0 / (1 + np.arange(n_genes))
        targets = rng.choice(n_genes, size=5 + 3 * t, replace=False, p=weights / weights.sum())
        rows += [(genes[t], genes[g]) for g in targets if g != t]
    ref = pd.DataFrame(rows, columns=["source", "target"])
    truth = set(rows)
    net = pd.DataFrame([(genes[t], g, float((genes[t], g) in truth) + rng.normal(0, 0.7))
                        for t in range(n_tfs) for g in genes if g != genes[t]],
                       columns=["TF", "target", "importance"]).sort_values("importance", ascending=False)
    return ref, net, genes


def test_training_part_of_the_reference_scores_the_floors_on_the_remaining_pairs():
    ref, net, genes = planted()
    net = net.assign(importance=net["importance"] - net["importance"].min())
    first = grnlib.score(net, ref, train_reference=0.5, seed=3, n_boot=100)
    again = grnlib.score(net, ref, train_reference=0.5, seed=3, n_boot=100)
    pd.testing.assert_frame_equal(first, again)  # same seed, same numbers
    assert list(first["scorer"]) == ["network", "degree", "edge_prior"]
    info = first.attrs["info"]
    n_ref = len(ref)
    assert info["train_edges"] == round(0.5 * n_ref) and info["reference_edges_scored"] == n_ref - info["train_edges"]
    assert (first["n_pairs"] == 12 * 149 - info["train_edges"]).all()  # training edges leave the scored pairs
    # hubs make the degree floor informative; the planted network is better still
    degree = first.set_index("scorer").loc["degree"]
    network = first.set_index("scorer").loc["network"]
    assert degree["auroc"] > 0.6 and network["auroc"] > degree["auroc"]
    assert network["auroc_low"] <= network["auroc"] <= network["auroc_high"]
    other_seed = grnlib.score(net, ref, train_reference=0.5, seed=4, n_boot=0)
    assert other_seed.loc[0, "auroc"] != first.loc[0, "auroc"]


def test_separate_prior_and_expression_universe(tmp_path, capsys):
    import anndata as ad

    ref, net, genes = planted()
    prior = ref.sample(frac=0.6, random_state=0)
    table = grnlib.score(net, ref, prior=prior, n_boot=0)
    assert table.attrs["info"]["train_edges"] == len(prior)
    assert table.loc[0, "n_pairs"] == 12 * 149  # a separate prior removes no pair
    # the universe of an expression: only its genes count
    cells = ad.AnnData(np.random.default_rng(0).random((6, 100)).astype(np.float32),
                       var=pd.DataFrame(index=genes[:100]))
    small = grnlib.score(net, ref, expression=cells, n_boot=0)
    assert small.attrs["info"]["n_genes"] == 100 and small.loc[0, "n_pairs"] == 12 * 99
    cells.write_h5ad(tmp_path / "cells.h5ad")
    net.to_csv(tmp_path / "net.tsv", sep="\t", index=False)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    code, stdout, err = run_score(capsys, "--network", tmp_path / "net.tsv", "--reference", tmp_path / "ref.csv",
                                  "--expression", tmp_path / "cells.h5ad", "--n-boot", 0,
                                  "--out", tmp_path / "s.tsv")
    assert code == 0, err
    written = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert written.loc[0, "auroc"] == pytest.approx(small.loc[0, "auroc"], rel=1e-5)
    assert "100 genes of the expression" in err


def test_bad_input_is_one_line_and_writes_nothing(files, tmp_path, capsys):
    base = ["--network", files["beeline"], "--reference", files["reference"]]
    code, _, err = run_score(capsys, *base, "--train-reference", 1.5)
    assert code == 1 and "fraction in (0, 1)" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:  # one floor source at a time
        cli.main(["score", *map(str, base), "--train-reference", "0.5", "--prior", str(files["reference"])])
    assert exit_info.value.code == 2
    existing = tmp_path / "exists.json"
    existing.write_text("keep")
    code, _, err = run_score(capsys, *base, "--out", existing)
    assert code == 1 and "exists" in err and existing.read_text() == "keep"
    strangers = tmp_path / "other.csv"
    pd.DataFrame({"source": ["X"], "target": ["Y"]}).to_csv(strangers, index=False)
    code, _, err = run_score(capsys, "--network", strangers, "--reference", files["reference"], "--out",
                             tmp_path / "none.json")
    assert code == 1 and "none of the network" in err and not (tmp_path / "none.json").exists()
    with pytest.raises(DataError, match="both"):
        grnlib.score(files["beeline"], files["reference"], train_reference=0.5, prior=files["reference"])


def test_tf_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    tf = rng.integers(0, 40, 4000)
    y = (rng.random(4000) < 0.1).astype(int)
    s = y + rng.normal(0, 1, 4000)
    first = metrics.cluster_bootstrap(y, {"a": s}, tf, n_boot=300, seed=5)["a"]
    second = metrics.cluster_bootstrap(y, {"a": s}, tf, n_boot=300, seed=5)["a"]
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    low, high = np.percentile(first["auroc"], [2.5, 97.5])
    assert low < metrics.auroc(y, s) < high
    # resampling TFs, not pairs: a TF-level effect widens the interval
    per_tf_shift = rng.normal(0, 1.5, 40)[tf]
    wide = metrics.cluster_bootstrap(y, {"a": s + per_tf_shift}, tf, n_boot=300, seed=5)["a"]["auroc"]
    pairs = [metrics.auroc(y[i], (s + per_tf_shift)[i]) for i in rng.integers(0, 4000, (300, 4000))]
    assert np.std(wide) > np.std(pairs)
