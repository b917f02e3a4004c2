"""Expression-only pair evidence: each kind matches a direct computation, finds planted edges,
is cached in memory and on disk (a damaged file is recomputed), and feeds pair_evidence."""
import numpy as np
import pytest
import torch

from grnlib.data import make_toy
from grnlib.evaluation.metrics import auroc
from grnlib.models import build_model, evidence
from grnlib.training.loop import predict_logits

torch.set_num_threads(1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(evidence.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(evidence.ENV_OFF, raising=False)
    monkeypatch.setitem(evidence.DEFAULTS, "trees", {"n_estimators": 5, "min_samples_leaf": 5, "seed": 0})
    evidence._MEMORY.clear()
    return tmp_path


@pytest.fixture(scope="module")
def toy():
    return make_toy(n_genes=60, n_tfs=8, n_cells=120, mean_targets=8, seed=3)


def labels(ds):
    y = np.zeros((ds.n_tfs, ds.n_genes))
    y[ds.edges["tf"].to_numpy(), ds.edges["target"].to_numpy()] = 1  # TF ids are 0..n_tfs-1
    keep = np.ones_like(y, dtype=bool)
    keep[np.arange(ds.n_tfs), np.arange(ds.n_tfs)] = False
    return y, keep


@pytest.mark.parametrize("kind", evidence.EXPRESSION_EVIDENCE)
def test_every_kind_finds_planted_edges(cache, toy, kind):
    tf_ids, matrix = evidence.expression_evidence(toy, kind)
    assert np.array_equal(tf_ids, toy.tf_ids) and matrix.shape == (toy.n_tfs, toy.n_genes)
    y, keep = labels(toy)
    assert auroc(y[keep], np.abs(matrix)[keep]) > 0.7


def test_kinds_match_direct_computations(toy):
    from sklearn.covariance import LedoitWolf

    x = toy.expression_matrix().astype(np.float64)
    tf_ids = np.asarray(toy.tf_ids)
    z = evidence.standardised(x)
    precision = np.linalg.inv(LedoitWolf(assume_centered=True).fit(z.T).covariance_)
    i, j = 2, 40
    expected = -precision[i, j] / np.sqrt(precision[i, i] * precision[j, j])
    assert evidence.partial_correlation(x, tf_ids)[i, j] == pytest.approx(expected, rel=1e-4)
    mi = evidence.mutual_information(x, tf_ids, bins=4)
    a = np.argsort(np.argsort(x[i])) * 4 // x.shape[1]  # no ties in the toy: equal-count bins
    b = np.argsort(np.argsort(x[j])) * 4 // x.shape[1]
    joint = np.histogram2d(a, b, bins=4)[0] / x.shape[1]
    outer = joint.sum(1)[:, None] * joint.sum(0)[None, :]
    nz = joint > 0
    assert mi[i, j] == pytest.approx(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])), rel=1e-5)
    trees = evidence.tree_importance(x, tf_ids, n_estimators=3)
    assert (trees >= 0).all() and np.all(trees[np.arange(tf_ids.size), tf_ids] == 0)  # a gene never explains itself


def test_memory_and_disk_cache(cache, toy):
    first = evidence.expression_evidence(toy, "mutual_information")[1]
    assert evidence.expression_evidence(toy, "mutual_information")[1] is first  # memory
    files = list(cache.glob("mutual_information-*.npy"))
    assert len(files) == 1
    evidence._MEMORY.clear()
    assert np.array_equal(evidence.expression_evidence(toy, "mutual_information")[1], first)  # disk
    files[0].write_bytes(b"not a numpy file")
    evidence._MEMORY.clear()
    assert np.array_equal(evidence.expression_evidence(toy, "mutual_information")[1], first)  # recomputed
    with pytest.raises(ValueError, match="unknown expression evidence"):
        evidence.expression_evidence(toy, "pagerank")


def test_pair_evidence_reads_the_table_groups(cache, toy):
    from grnlib.evaluation.protocols import make_split

    split = make_split(toy, "seed", seed=0)
    groups = ["degree", "trees", "partial_correlation", "mutual_information"]
    model = build_model("pair_evidence", n_genes=toy.n_genes, inputs="none", evidence=groups)
    assert model.columns == ["log_out_degree", "log_in_degree", "tree_importance", "partial_correlation",
                             "abs_partial_correlation", "mutual_information"]
    model.prepare(toy, split["train"])
    pairs = split["test"]
    raw = model.pair_evidence(torch.as_tensor(pairs["tf"].to_numpy()), torch.as_tensor(pairs["target"].to_numpy()))
    _, mi = evidence.expression_evidence(toy, "mutual_information")
    assert raw[:, -1].numpy() == pytest.approx(mi[pairs["tf"], pairs["target"]])
    rebuilt = build_model(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert predict_logits(rebuilt, pairs) == pytest.approx(predict_logits(model, pairs))
    no_expression = make_toy(n_genes=60, n_tfs=8, seed=3, with_expression=False)
    with pytest.raises(ValueError, match="expression"):
        build_model("pair_evidence", n_genes=60, inputs="none", evidence=["trees"]).prepare(no_expression, split["train"])
