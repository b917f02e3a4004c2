"""The controls of issue 18: target_only, tf_shuffled, expression_permuted (toy data, a few seconds)."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from grnlib.data import make_toy
from grnlib.evaluation.cells import Cell, evaluate_cell
from grnlib.evaluation.controls import CONTROL_NAMES, permute_cells, permute_expression, shuffle_training_tfs
from grnlib.evaluation.protocols import make_split
from grnlib.evaluation.spec import needs_expression, resolve_spec, valid_names
from grnlib.models import build_model


def test_permute_cells_keeps_each_gene_and_destroys_coexpression():
    rng = np.random.default_rng(0)
    base = rng.poisson(0.7, size=(400, 1)).astype(np.float32)
    dense = np.hstack([base, base, rng.poisson(0.5, size=(400, 3)).astype(np.float32)])  # genes 0 and 1 identical
    for x in (dense, sp.csr_matrix(dense), sp.csc_matrix(dense)):
        out = permute_cells(x, seed=3)
        assert sp.issparse(out) == sp.issparse(x) and out.shape == x.shape
        if sp.issparse(x):
            assert out.format == x.format and out.nnz == x.nnz
        got = out.toarray() if sp.issparse(out) else out
        for j in range(dense.shape[1]):  # every gene keeps its values, only their cells move
            assert np.array_equal(np.sort(got[:, j]), np.sort(dense[:, j]))
        assert abs(np.corrcoef(got[:, 0], got[:, 1])[0, 1]) < 0.2  # was 1.0
        same = permute_cells(x, seed=3)
        assert np.array_equal(same.toarray() if sp.issparse(same) else same, got)  # seeded


def test_expression_permuted_dataset_keeps_genes_cells_and_split():
    ds = make_toy(n_genes=40, n_tfs=5, n_cells=30, seed=1)
    split = make_split(ds, "seed", seed=0)
    permuted, same_split = permute_expression(ds, split, seed=0)
    assert same_split is split and permuted.genes.equals(ds.genes) and permuted.edges is ds.edges
    assert list(permuted.expression.obs_names) == list(ds.expression.obs_names)
    assert not np.array_equal(permuted.expression_matrix(), ds.expression_matrix())
    assert np.allclose(np.sort(permuted.expression_matrix(), 1), np.sort(ds.expression_matrix(), 1))


def test_tf_shuffled_permutes_training_tfs_and_keeps_target_popularity():
    ds = make_toy(n_genes=80, n_tfs=10, n_cells=20, seed=2)
    split = make_split(ds, "heldout-tf", seed=0)
    _, shuffled = shuffle_training_tfs(ds, split, seed=0)
    train, new = split["train"], shuffled["train"]
    assert shuffled["val"] is split["val"] and shuffled["test"] is split["test"]
    assert set(new["tf"]) <= set(train["tf"])
    assert not new[["tf", "target", "label"]].equals(train[["tf", "target", "label"]])
    kept = train[train["tf"] != train["target"]]
    # self-pairs made by the relabelling are dropped; otherwise every target keeps its positives
    in_degree = lambda t: t[t["label"] == 1].groupby("target").size()  # noqa: E731
    assert (in_degree(new).reindex(in_degree(kept).index, fill_value=0) <= in_degree(kept)).all()
    assert in_degree(kept).sum() - in_degree(new).sum() <= len(set(train["tf"]))
    assert not new.duplicated(["tf", "target"]).any() and (new["tf"] != new["target"]).all()


def test_control_specs_resolve_and_say_what_they_need():
    for name in ("target_only", "tf_shuffled", "tf_shuffled_heldout", "expression_permuted",
                 "expression_permuted_heldout"):
        assert name in valid_names()
    assert set(CONTROL_NAMES) <= set(valid_names())
    target = resolve_spec("target_only", epochs=3)
    assert (target["kind"], target["model"], target["train"]["epochs"]) == ("model", "target_only", 3)
    shuffled = resolve_spec("tf_shuffled_heldout", epochs=3)
    assert (shuffled["kind"], shuffled["model"]) == ("control", "tf_shuffled")
    assert shuffled["model_cfg"]["base"]["model_cfg"]["hide"] == "tf"
    assert resolve_spec(shuffled, epochs=2)["model_cfg"]["base"]["train"]["epochs"] == 2  # resolved again
    assert resolve_spec(shuffled) == shuffled
    assert needs_expression("expression_permuted") and needs_expression("target_only")
    assert resolve_spec({"preset": "tf_shuffled", "name": "x"})["name"] == "x"


def test_target_only_never_reads_the_tf():
    model = build_model("target_only", n_genes=30, in_features=4)
    model.prepare(None, pd.DataFrame({"tf": [0, 0, 1], "target": [5, 6, 5], "label": [1, 1, 0]}))
    model.eval()
    features = torch.randn(30, 4)
    genes = torch.tensor([7, 8, 9, 5])
    a = model(torch.tensor([0, 1, 2, 3]), genes, features)
    b = model(torch.tensor([3, 2, 1, 0]), genes, features)
    assert torch.allclose(a[:3], b[:3])  # no training edge among these pairs: the TF changes nothing
    rebuilt = build_model(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    assert torch.allclose(rebuilt(torch.tensor([0, 1, 2, 3]), genes, features), a)


@pytest.mark.parametrize("protocol", ["seed", "heldout-tf"])
def test_controls_run_in_a_cell_beside_the_floor(protocol):
    ds = make_toy(n_genes=60, n_tfs=8, n_cells=30, seed=1)
    names = ("degree", "target_only", "pair_evidence_heldout", "tf_shuffled_heldout", "expression_permuted_heldout")
    records = evaluate_cell(Cell("toy", protocol, 0, 0, names, 2), dataset=ds)
    scores = {r["model"]: r for r in records}
    assert set(names) <= set(scores)
    assert all(0.0 <= scores[n]["auroc"] <= 1.0 for n in names)
    again = {r["model"]: r["auroc"] for r in evaluate_cell(Cell("toy", protocol, 0, 0, names, 2), dataset=ds)}
    assert again == {n: scores[n]["auroc"] for n in scores}  # same seed, same metrics


def test_a_lone_trailing_training_pair_does_not_stop_a_batchnorm_model():
    from grnlib.evaluation.experiment import train_run

    ds = make_toy(n_genes=80, n_tfs=10, n_cells=30, seed=3)
    split = make_split(ds, "seed", seed=0)
    n = len(split["train"])  # batches of n - 1 leave one pair: BatchNorm cannot train on a single row
    trained = train_run(ds, split, {"preset": "pair_evidence", "train": {"batch_size": n - 1, "epochs": 2}}, seed=0)
    assert trained.result.best_epoch >= 1
