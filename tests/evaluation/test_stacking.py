"""Stacked ensembles: weights from validation pairs only, cross-fitted validation scores, members
reported beside the stack, cost = members + fit."""
import numpy as np
import pytest

from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.evaluation import presets
from grnlib.evaluation.experiment import evaluate_split
from grnlib.evaluation.metrics import auroc
from grnlib.evaluation.protocols import make_split
from grnlib.evaluation.spec import needs_expression, resolve_spec
from grnlib.evaluation.stacking import fit_stack


def test_fit_stack_weights_the_informative_member_and_cross_fits_validation():
    rng = np.random.default_rng(0)
    y_val, y_test = rng.integers(0, 2, 400), rng.integers(0, 2, 300)
    good = lambda y: y + rng.normal(0, 0.7, y.size)  # noqa: E731
    noise = lambda y: rng.normal(0, 1, y.size)  # noqa: E731
    out = fit_stack(y_val, [good(y_val), noise(y_val)], [good(y_test), noise(y_test)])
    assert out["weights"][0] > 5 * abs(out["weights"][1])
    assert auroc(y_test, out["test"]) > 0.8
    assert out["val"].shape == y_val.shape and 0.75 < auroc(y_val, out["val"]) < 1.0


def test_stack_spec_runs_its_members_and_reports_the_cost(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "toy_stack", {"stack": ["degree", "edge_prior", "random"]})
    spec = resolve_spec("toy_stack", epochs=3)
    assert spec["kind"] == "stack" and [m["name"] for m in spec["model_cfg"]["members"]] == [
        "degree", "edge_prior", "random"]
    assert not needs_expression(spec)
    ds = make_toy(n_genes=150, n_tfs=15, mean_targets=10, seed=2, with_expression=False)
    split = make_split(ds, "seed", seed=0)
    evaluation = evaluate_split(ds, split, ["toy_stack"], baselines=(), seed=0)
    table = evaluation.metrics.set_index("name")
    assert list(table.index) == ["degree", "edge_prior", "random", "toy_stack"]
    assert table.loc["toy_stack", "kind"] == "stack"
    assert table.loc["toy_stack", "seconds"] >= table.loc[["degree", "edge_prior", "random"], "seconds"].sum()
    assert table.loc["toy_stack", "auroc"] > table.loc["random", "auroc"]
    # test labels never enter: shuffling them leaves the stack's test scores unchanged
    shuffled = {**split, "test": split["test"].assign(label=np.random.default_rng(1).permutation(split["test"]["label"]))}
    again = evaluate_split(ds, shuffled, ["toy_stack"], baselines=(), seed=0)
    assert np.array_equal(again.test_scores["toy_stack"], evaluation.test_scores["toy_stack"])


def test_bad_stacks_are_refused(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "bad_stack", {"stack": ["degree", "nope"]})
    with pytest.raises(DataError, match="nope"):
        resolve_spec("bad_stack")
    monkeypatch.setitem(presets.PRESETS, "lonely", {"stack": ["degree"]})
    with pytest.raises(DataError, match="at least two"):
        resolve_spec("lonely")
