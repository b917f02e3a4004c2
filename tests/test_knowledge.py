"""Knowledge evidence (issue 19): annotation loading and symbol resolution, similarity on a hand-built
ontology, no label leakage into the transfer, the controls, and the --knowledge flag of the API and CLI."""
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlib.data import make_toy
from grnlib.errors import DataWarning
from grnlib.data.knowledge import GeneAnnotations, Knowledge, parse_sources
from grnlib.models.knowledge import KnowledgeScorer, cosine, jaccard, weighted_rows


# --- a tiny hand-built ontology ---------------------------------------------------------------------

def _annotations(genes, rows, terms, term_genes, n_annotated, source="go"):
    """GeneAnnotations from {gene: [terms]}."""
    genes = pd.Index(genes)
    terms = pd.Index(terms)
    r, c = zip(*[(genes.get_loc(g), terms.get_loc(t)) for g, ts in rows.items() for t in ts])
    matrix = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(genes), len(terms)))
    return GeneAnnotations(source, genes, terms, matrix, np.asarray(term_genes, float), n_annotated)


@pytest.fixture()
def ontology():
    # t_root is on every gene (too general), t_a on A and B, t_c on C only.
    return _annotations(["A", "B", "C", "D"], {"A": ["t_root", "t_a"], "B": ["t_root", "t_a"],
                                               "C": ["t_root", "t_c"]},
                        ["t_root", "t_a", "t_c"], term_genes=[100, 2, 1], n_annotated=100)


def test_information_content_drops_general_terms(ontology):
    ic = ontology.information_content(max_fraction=0.05)
    assert ic[0] == 0  # on every gene
    assert ic[1] == pytest.approx(-np.log(0.02)) and ic[2] == pytest.approx(-np.log(0.01))


def test_ic_weighted_cosine_and_jaccard_by_hand(ontology):
    rows = weighted_rows(ontology)
    sim = cosine(rows, rows)
    assert sim[0, 1] == pytest.approx(1.0)  # A and B share their only specific term
    assert sim[0, 2] == 0.0  # A and C share only the general term, which carries no weight
    assert sim[3].sum() == 0.0  # D has no annotation
    jac = jaccard(ontology.matrix, np.arange(4), np.arange(4))
    assert jac[0, 1] == 1.0 and jac[0, 2] == pytest.approx(1 / 3) and jac[3, 3] == 0.0


def _toy_knowledge(n_genes=40, seed=0):
    """Genes g0..g{n-1}; TFs g0..g5; TF pairs (g0, g1), (g2, g3) share a specific GO term each."""
    genes = [f"g{i}" for i in range(n_genes)]
    rows = {"g0": ["p1"], "g1": ["p1"], "g2": ["p2"], "g3": ["p2"], "g4": ["p3"], "g5": ["p4"]}
    rows.update({f"g{i}": ["p1"] for i in range(10, 14)})  # g10..g13 share g0's process
    go = _annotations(genes, rows, ["p1", "p2", "p3", "p4"], term_genes=[6, 2, 1, 1], n_annotated=1000)
    real = np.zeros(n_genes, bool)
    real[:6] = True
    return Knowledge(pd.Index(genes), np.asarray(genes, object), {"go": go}, real, 1.0)


def test_transfer_borrows_the_targets_of_similar_tfs():
    knowledge = _toy_knowledge()
    # g1 (similar to g0) regulates 20..24; g2, g3 regulate 30..34; g0 is held out.
    edges = np.array([(1, t) for t in range(20, 25)] + [(s, t) for s in (2, 3) for t in range(30, 35)])
    scorer = KnowledgeScorer(knowledge, k=2, lam=0.0, mu=1.0, real_only=False).fit(edges)
    scores, parts = scorer.score_matrix([0])
    assert set(np.argsort(-scores[0])[:5]) == set(range(20, 25))
    assert parts[("transfer", False)][0, 30:35].max() == 0.0  # g2, g3 are not like g0


def test_function_similarity_lifts_genes_in_the_tfs_process():
    knowledge = _toy_knowledge()
    edges = np.array([(s, t) for s in (2, 3, 4) for t in (10, 30)])  # g10 and g30 have equal in-degree
    scorer = KnowledgeScorer(knowledge, lam=1.0, mu=0.0, real_only=False).fit(edges)
    score = scorer.score(np.array([0, 0]), np.array([10, 30]))
    assert score[0] > score[1]  # g10 shares g0's GO process


def test_no_label_leakage_into_the_transfer():
    knowledge = _toy_knowledge()
    train = np.array([(1, t) for t in range(20, 25)] + [(2, t) for t in range(30, 35)])
    held_out_edges = np.array([(0, t) for t in range(14, 18)])
    scorer = KnowledgeScorer(knowledge, k=3, lam=1.0, mu=2.0, real_only=False).fit(train)
    before = scorer.score_matrix([0])[0]
    # The held-out TF's own edges never reach its scores: they are not in the fit ...
    assert np.all(before[0, 14:18] == before[0, 18])
    # ... and a TF is never its own neighbour: with its edges in training, its transfer is unchanged.
    with_own = KnowledgeScorer(knowledge, k=3, lam=1.0, mu=2.0, real_only=False).fit(np.vstack([train, held_out_edges]))
    assert np.allclose(with_own.score_matrix([0])[1][("transfer", False)], scorer.score_matrix([0])[1][("transfer", False)])
    assert (with_own.similarity(np.array([0]), np.array([0, 1]))[0, 0]) == 0.0


def test_lambda_and_mu_are_chosen_on_training_tfs_only():
    knowledge = _toy_knowledge(n_genes=60)
    rng = np.random.default_rng(0)
    edges = np.array([(s, t) for s in range(1, 6) for t in rng.choice(np.arange(10, 60), 8, replace=False)])
    scorer = KnowledgeScorer(knowledge).fit(edges, seed=0)
    again = KnowledgeScorer(knowledge).fit(edges, seed=0)
    assert (scorer.lam, scorer.mu, scorer.real_only) == (again.lam, again.mu, again.real_only)  # seeded
    assert scorer.inner["mean_per_tf_auroc"].shape == (len(scorer.inner["grid"]),)


def test_the_controls_differ_from_the_evidence():
    knowledge = _toy_knowledge()
    edges = np.array([(1, t) for t in range(20, 25)] + [(2, t) for t in range(30, 35)])
    options = dict(k=2, lam=1.0, mu=1.0, real_only=False)
    real = KnowledgeScorer(knowledge, **options).fit(edges).score_matrix([0, 3])[0]
    blind = KnowledgeScorer(knowledge, blind=True, **options).fit(edges).score_matrix([0, 3])[0]
    assert np.allclose(blind[0], blind[1])  # identity-blind: both TFs get the same scores
    assert not np.allclose(real[0], real[1])
    shuffled = knowledge.shuffled(seed=1)
    assert shuffled.annotations["go"].matrix.nnz == knowledge.annotations["go"].matrix.nnz
    assert (shuffled.annotations["go"].matrix != knowledge.annotations["go"].matrix).nnz > 0


# --- knowledge evidence as features of pair_evidence ------------------------------------------------------

def _random_knowledge(genes, seed=0, n_terms=30):
    """Every gene 1-3 of ``n_terms`` specific GO terms and a JASPAR family; a third of them real TFs."""
    rng = np.random.default_rng(seed)
    genes = pd.Index(genes)
    terms = [f"t{i}" for i in range(n_terms)]
    rows = {g: list(rng.choice(terms, rng.integers(1, 4), replace=False)) for g in genes}
    go = _annotations(genes, rows, terms, term_genes=np.full(n_terms, 5), n_annotated=1000)
    families = {g: [f"family:f{rng.integers(4)}"] for g in genes}
    jaspar = _annotations(genes, families, [f"family:f{i}" for i in range(4)], np.full(4, 10), 100, "jaspar")
    return Knowledge(genes, np.asarray(genes, object), {"go": go, "jaspar": jaspar},
                     rng.random(len(genes)) < 0.33, 1.0)


def _knowledge_model(ds, monkeypatch, hide="tf", control=None):
    import grnlib.models.knowledge as models_knowledge
    from grnlib.models import build_model

    toy_knowledge = _random_knowledge(ds.genes)
    monkeypatch.setattr(models_knowledge, "knowledge_of", lambda genes, sources: toy_knowledge)
    return build_model("pair_evidence", n_genes=ds.n_genes, inputs="none", evidence=["degree", "knowledge"],
                       hide=hide, knowledge_control=control)


def _evidence(model, ds, train_pairs, tfs):
    import torch

    model.prepare(ds, train_pairs)
    tf = torch.as_tensor(np.repeat(tfs, ds.n_genes))
    gene = torch.as_tensor(np.tile(np.arange(ds.n_genes), len(tfs)))
    return model.pair_evidence(tf, gene).numpy().reshape(len(tfs), ds.n_genes, -1)


def test_knowledge_features_never_see_held_out_tfs_edges(monkeypatch):
    """Held-out TFs' edges never reach the features: the training graph and the knowledge tables hold the
    training positives only, and (hide="tf") a training TF's features are those it would have with all of
    its own edges removed, i.e. what a held-out TF gets."""
    from grnlib.evaluation.experiment import train_run
    from grnlib.evaluation.protocols import make_split

    ds = make_toy(n_genes=60, n_tfs=15, seed=3)
    split = make_split(ds, "heldout-tf", seed=0, fold=0)
    test_tfs = np.unique(split["test"]["tf"])
    model = _knowledge_model(ds, monkeypatch)
    trained = train_run(ds, split, {"model": "pair_evidence", "model_cfg": {
        "inputs": "none", "evidence": ["degree", "knowledge"], "hide": "tf"}, "train": {"epochs": 1}}, seed=0).model
    assert not np.isin(trained.graph.edges[0].numpy(), test_tfs).any()
    fresh = _knowledge_model(ds, monkeypatch)
    fresh.prepare(ds, split["train"])  # from the training table alone
    assert torch_equal(trained.knowledge.table, fresh.knowledge.table)
    columns = fresh.columns
    train = split["train"]
    for tf in np.unique(train.loc[train["label"] == 1, "tf"])[:5]:
        with_own = _evidence(model, ds, train, [tf])
        without_own = _evidence(model, ds, train[~((train["tf"] == tf) & (train["label"] == 1))], [tf])
        knowledge_cols = [columns.index(c) for c in columns if c != "log_out_degree"]
        assert np.allclose(with_own[..., knowledge_cols], without_own[..., knowledge_cols]), tf


def torch_equal(a, b):
    return a.shape == b.shape and bool((a == b).all())


def test_knowledge_features_leave_the_own_edge_out(monkeypatch):
    """hide="edge": a training positive's counts exclude its own edge, like TrainingGraph's."""
    ds = make_toy(n_genes=60, n_tfs=15, seed=4)
    pairs = pd.DataFrame({"tf": [1, 1, 2, 2, 3], "target": [20, 21, 20, 22, 21], "label": 1})
    model = _knowledge_model(ds, monkeypatch, hide="edge")
    ev = _evidence(model, ds, pairs, [1])[0]
    col = {c: i for i, c in enumerate(model.columns)}
    without = _evidence(model, ds, pairs.iloc[1:], [1])[0]  # (1, 20) removed from training
    for name in ("knowledge_transfer", "go_function", "log_in_degree_real", "go_target_similarity",
                 "go_function_x_log_in_degree"):
        assert ev[20, col[name]] == pytest.approx(without[20, col[name]]), name


def test_knowledge_controls_change_the_features(monkeypatch):
    ds = make_toy(n_genes=60, n_tfs=15, seed=5)
    pairs = pd.DataFrame({"tf": np.repeat(np.arange(1, 8), 4), "target": np.arange(20, 48), "label": 1})
    tfs = np.arange(15)
    plain = _evidence(_knowledge_model(ds, monkeypatch), ds, pairs, tfs)
    blind = _evidence(_knowledge_model(ds, monkeypatch, control="blind"), ds, pairs, tfs)
    shuffled = _evidence(_knowledge_model(ds, monkeypatch, control="shuffled"), ds, pairs, tfs)
    transfer = _knowledge_model(ds, monkeypatch).columns.index("knowledge_transfer")
    assert not np.allclose(plain[..., transfer], blind[..., transfer])
    assert not np.allclose(plain, shuffled)
    with pytest.raises(ValueError, match="knowledge_control"):
        _knowledge_model(ds, monkeypatch, control="reversed")


def test_parse_sources():
    assert parse_sources("auto") == ("go", "pfam", "jaspar")
    assert parse_sources("pfam, go") == ("pfam", "go")
    assert parse_sources("none") == () and parse_sources(None) == ()
    with pytest.raises(ValueError, match="unknown knowledge source"):
        parse_sources("go,kegg")


# --- the real tables (../shared/data) ----------------------------------------------------------------

def test_annotation_loading_and_symbol_resolution(shared_root):
    from grnlib.data.knowledge import load_knowledge, resolve_symbols

    symbols, rate = resolve_symbols(["POU5F1", "Pou5f1", "OCT4", "c-Myc", "OCT3", "notagene"], root=shared_root)
    # mouse by upper-casing; an alias naming one annotated gene (OCT4: POU5F1, not its pseudogenes);
    # OCT3 also names SLC22A3, so it stays unresolved
    assert list(symbols) == ["POU5F1", "POU5F1", "POU5F1", "MYC", "", ""]
    assert rate == pytest.approx(4 / 6)
    with pytest.warns(DataWarning, match="match a human symbol"):
        kb = load_knowledge(["Sox2", "Pou5f1", "Gapdh", "nogene1", "nogene2", "nogene3"], root=shared_root)
    assert list(kb.is_real_tf) == [True, True, False, False, False, False]
    go, pfam, jaspar = (kb.annotations[s] for s in ("go", "pfam", "jaspar"))
    assert go.matrix.shape[0] == 6 and list(go.annotated) == [True, True, True, False, False, False]
    assert pfam.matrix[0].nnz > 0  # SOX2's HMG box
    families = set(jaspar.terms[jaspar.matrix[0].indices])
    assert "family:SOX-related factors" in families
    assert sp.issparse(go.matrix) and go.matrix.shape[1] > 10_000


def test_knowledge_baseline_on_a_real_setting(shared_root):
    from grnlib.data import load_dataset
    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.protocols import make_split

    ds = load_dataset("beeline/Non-Specific/hHEP/500", root=shared_root)
    split = make_split(ds, "heldout-tf", seed=0, fold=0)
    scores = score_baseline("knowledge", ds, split["train"], split["test"])
    assert scores.shape == (len(split["test"]),) and np.isfinite(scores).all()
    # test TFs' labels never enter: scoring with their labels flipped gives the same scores
    flipped = split["test"].assign(label=1 - split["test"]["label"])
    assert np.array_equal(scores, score_baseline("knowledge", ds, split["train"], flipped))


# --- the user path -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def symbol_toy():
    """A toy dataset whose genes carry real human symbols (TFs first), as an AnnData and an edge table."""
    from grnlib.data import load_dataset

    toy = make_toy(n_genes=120, n_tfs=12, n_cells=80, mean_targets=8, seed=3)
    real = load_dataset("beeline/Non-Specific/hHEP/500")
    tf_names = list(real.genes[real.tf_ids][:12])
    others = [g for g in real.genes if g not in set(tf_names)][:108]
    names = pd.Index(tf_names + others)
    order = np.r_[toy.tf_ids, np.setdiff1d(np.arange(toy.n_genes), toy.tf_ids)]
    rename = dict(zip(toy.genes[order], names))
    adata = toy.expression.copy()
    adata.var_names = [rename[g] for g in adata.var_names]
    edges = pd.DataFrame({"source": [rename[g] for g in toy.genes[toy.edges["tf"]]],
                          "target": [rename[g] for g in toy.genes[toy.edges["target"]]]})
    return adata, edges, tf_names


def test_api_knowledge_gives_targets_to_a_tf_without_edges(shared_root, symbol_toy):
    import grnlib

    adata, edges, tfs = symbol_toy
    hidden = tfs[0]
    known = edges[edges["source"] != hidden]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        model = grnlib.fit(adata, known, model="phase1", epochs=1, tfs=tfs, knowledge="go,pfam,jaspar", seed=0)
        ranked = model.rank(adata)
    assert set(model.params["knowledge"]["sources"]) == {"go", "pfam", "jaspar"}
    assert "evidence" in ranked
    assert (ranked.loc[ranked["tf"] != hidden, "evidence"] == "model").all()
    own = ranked[ranked["tf"] == hidden]
    assert len(own) == adata.n_vars - 1 and (own["evidence"] != "model").all()
    assert own["evidence"].str.contains("target degree").any()
    plain = grnlib.fit(adata, known, model="phase1", epochs=1, tfs=tfs, seed=0).rank(adata)
    assert "evidence" not in plain


def test_cli_knowledge_flag(shared_root, symbol_toy, tmp_path, capsys):
    from grnlib import cli

    adata, edges, tfs = symbol_toy
    expression = tmp_path / "expr.csv"
    pd.DataFrame(adata.X.T, index=adata.var_names, columns=adata.obs_names).to_csv(expression)
    priors = tmp_path / "priors.csv"
    edges[edges["source"] != tfs[0]].to_csv(priors, index=False)
    tf_file = tmp_path / "tfs.txt"
    tf_file.write_text("\n".join(tfs) + "\n")
    common = ["--expression", str(expression), "--quiet", "--threads", "1"]
    assert cli.main(["train", *common, "--priors", str(priors), "--tfs", str(tf_file), "--model", "phase1",
                     "--epochs", "1", "--knowledge", "auto", "--out", str(tmp_path / "m")]) == 0
    assert cli.main(["predict", *common, "--model", str(tmp_path / "m"), "--out", str(tmp_path / "r.tsv")]) == 0
    ranked = pd.read_csv(tmp_path / "r.tsv", sep="\t")
    assert ranked.columns[-1] == "evidence"
    assert (ranked.loc[ranked["tf"] == tfs[0], "evidence"] != "model").all()
    # a model trained without knowledge gets it at predict time
    assert cli.main(["train", *common, "--priors", str(priors), "--tfs", str(tf_file), "--model", "phase1",
                     "--epochs", "1", "--out", str(tmp_path / "plain")]) == 0
    assert cli.main(["predict", *common, "--model", str(tmp_path / "plain"), "--out", str(tmp_path / "p.tsv")]) == 0
    assert "evidence" not in pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert cli.main(["predict", *common, "--model", str(tmp_path / "plain"), "--knowledge", "go",
                     "--out", str(tmp_path / "k.tsv")]) == 0
    with_go = pd.read_csv(tmp_path / "k.tsv", sep="\t")
    assert (with_go.loc[with_go["tf"] == tfs[0], "evidence"] != "model").all()
    capsys.readouterr()


# --- the study's summary -------------------------------------------------------------------------------

def test_study_summary_pairs_settings_and_takes_the_better_floor():
    from grnlib.benchmark.knowledge import goals, per_setting, summarise

    rows = []
    for i, setting in enumerate(["beeline/Non-Specific/hHEP/500", "beeline/Non-Specific/mESC/500",
                                 "beeline/Non-Specific/mDC/500"]):
        for fold in range(2):
            for method, value in {"degree": 0.70, "edge_prior": 0.72, "knowledge": 0.80 + 0.01 * i,
                                  "knowledge_shuffled": 0.70, "knowledge_blind": 0.75}.items():
                rows.append({"setting": setting, "network": "Non-Specific", "cell": setting.split("/")[2], "seed": 0,
                             "fold": fold, "method": method, "per_tf_auroc": value, "pooled_auroc": value})
    runs = pd.DataFrame(rows)
    table = per_setting(runs)
    assert table.loc[table["method"] == "floor", "pooled_auroc"].eq(0.72).all()  # the better of the two floors
    summary = summarise(runs)
    hit = summary[(summary["network"] == "Non-Specific") & (summary["metric"] == "per_tf_auroc")
                  & (summary["method"] == "knowledge") & (summary["reference"] == "degree")].iloc[0]
    assert hit["delta"] == pytest.approx(0.11) and hit["n_settings"] == 3
    assert hit["ci_low"] < 0.11 < hit["ci_high"]  # a t interval over the three settings
    verdicts = goals(summary).set_index("goal")["met"]
    assert verdicts["Non-Specific per-TF AUROC >= degree + 0.05"]
    assert verdicts["Non-Specific per-TF gain net of the identity-blind control > 0"]
    moonshot = [goal for goal in verdicts.index if goal.startswith("Stretch goal")]
    assert moonshot and not verdicts[moonshot[0]]  # +0.11 on Non-Specific, but no other network type was run


def test_findings_state_each_goal_met_or_missed_without_rounding_up():
    from grnlib.benchmark.knowledge import findings

    goals_table = pd.DataFrame({"goal": ["Non-Specific per-TF AUROC >= degree + 0.05"], "delta": [0.04999],
                                "ci_low": [0.03], "ci_high": [0.07], "met": [False]})
    (line,) = findings({"held-out TFs": {"goals": goals_table, "lead": "knowledge"}})
    assert "+0.0499" in line and "missed" in line and "held-out TFs" in line


def test_the_committed_studies_load_for_chapter_12():
    from grnlib.benchmark.knowledge import STUDIES, gains_panel, load_studies

    studies = load_studies("results/knowledge")
    assert "held-out TFs: knowledge score" in studies and set(studies) <= set(STUDIES)
    for study in studies.values():
        spec = gains_panel(study["summary"], study["lead"])
        assert len(spec["table"]) and (spec["table"]["method"] == study["lead"]).all()
