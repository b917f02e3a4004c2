"""Issue 18 (3, 7): a stack is a model: it trains, saves its members in one folder, loads and ranks the
held-out pairs exactly as the evaluation scored them; every trained model carries its verdict against the
degree floor."""
import numpy as np
import pytest
import torch

import grnlib
from grnlib.data.toy import toy_user_data
from grnlib.evaluation import presets
from grnlib.evaluation.floor_gap import FloorVerdict, floor_verdict
from grnlib.training.loop import predict_logits

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy():
    return toy_user_data(seed=0, n_cells=80)


@pytest.fixture(scope="module")
def stack(toy):
    presets.PRESETS["toy_phase1_blend"] = {"stack": ["degree", "edge_prior", "phase1"]}
    try:
        adata, net = toy
        yield grnlib.fit(adata, net, model="toy_phase1_blend", seed=0, epochs=2,
                         features={"kind": "pca", "n_components": 8})
    finally:
        presets.PRESETS.pop("toy_phase1_blend")


def test_a_stack_trains_saves_loads_and_ranks_like_its_evaluation(stack, toy, tmp_path):
    um = stack.user_model
    assert um.model.config["name"] == "stacked"
    assert list(stack.metrics.index) == ["degree", "edge_prior", "phase1", "toy_phase1_blend"]
    weights = stack.params["data"]["stack_weights"]
    assert list(weights) == ["degree", "edge_prior", "phase1"] and min(weights.values()) >= 0
    test = um.split["test"]
    features = um.recipe.transform(toy[0])
    direct = predict_logits(um.model, test, features=features)
    assert np.allclose(direct, um.test_scores["toy_phase1_blend"], atol=1e-4)
    stack.save(tmp_path / "m")
    loaded = grnlib.load(tmp_path / "m")
    assert loaded.user_model.model.config["name"] == "stacked"
    again = predict_logits(loaded.user_model.model, test, features=loaded.user_model.recipe.transform(toy[0]))
    assert np.allclose(again, direct, atol=1e-5)
    ranked = loaded.rank(toy[0], top_k=20)
    assert len(ranked) == 20 and ranked["score"].is_monotonic_decreasing
    assert loaded.verdict == stack.verdict


def test_verdict_is_a_paired_bootstrap_over_tfs_and_warns_below_the_floor(stack):
    verdict = stack.verdict
    assert isinstance(verdict, FloorVerdict) and verdict.model == "toy_phase1_blend" and verdict.floor == "degree"
    held = stack.held_out
    assert verdict.model_value == pytest.approx(stack.metrics.loc["toy_phase1_blend", "auroc"])
    assert verdict.floor_value == pytest.approx(stack.metrics.loc["degree", "auroc"])
    assert verdict.low <= verdict.gap <= verdict.high and verdict.n_tfs == held["tf"].nunique()
    again = floor_verdict(stack.user_model.split["test"], held["toy_phase1_blend"], held["degree"],
                          "toy_phase1_blend", seed=0)
    assert again == verdict  # seeded: the same numbers
    line = verdict.line()
    assert line.startswith("verdict: toy_phase1_blend held-out AUROC") and "95% CI" in line
    assert ("WARNING" in line) == (not verdict.above)
    # a model no better than the floor is told so
    worse = floor_verdict(stack.user_model.split["test"], -held["degree"], held["degree"], "inverted")
    assert not worse.above and worse.status == "below" and "WARNING" in worse.line()


def test_train_without_a_model_trains_best():
    from grnlib.user.model import DEFAULT_MODEL, resolve_user_spec

    assert DEFAULT_MODEL == "best"
    assert resolve_user_spec(None, {})["name"] == "best"


def test_grnlib_train_without_a_model_trains_best_and_prints_the_verdict(toy, tmp_path, capsys):
    from grnlib import cli

    adata, net = toy
    adata.to_df().T.to_csv(tmp_path / "expr.csv")
    net.to_csv(tmp_path / "net.csv", index=False)
    assert cli.main(["train", "--expression", str(tmp_path / "expr.csv"), "--priors", str(tmp_path / "net.csv"),
                     "--epochs", "2", "--threads", "1", "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    loaded = grnlib.load(tmp_path / "m")
    assert loaded.params["model"] == "best"
    assert loaded.verdict.line() in out and out.strip().splitlines()[-1].startswith("verdict: best held-out AUROC")
