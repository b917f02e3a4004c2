"""Residual-over-floor models: the untrained model scores exactly the floor's logit (fitted on the
training table only), training moves it, and a saved model carries its floor."""
import numpy as np
import pytest
import torch

from grnlib.data import make_toy
from grnlib.evaluation.protocols import make_split
from grnlib.models import build_model
from grnlib.models.floors import degree_logit, loo_log_degrees
from grnlib.training.loop import TrainConfig, fit, predict_logits

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setting():
    ds = make_toy(n_genes=150, n_tfs=15, mean_targets=10, seed=5, with_expression=False)
    return ds, make_split(ds, "seed", seed=0)


def build(ds, split, floor, hide="edge"):
    torch.manual_seed(0)
    model = build_model("pair_evidence", n_genes=ds.n_genes, inputs="none", evidence=["degree", "topology"],
                        hide=hide, residual_floor=floor)
    model.prepare(ds, split["train"])
    return model


@pytest.mark.parametrize("hide", ["edge", "tf"])
def test_untrained_degree_residual_is_the_degree_logit(setting, hide):
    ds, split = setting
    model = build(ds, split, "degree", hide)
    w_out, w_in, b = degree_logit(split["train"], ds.n_genes, hide_tf=hide == "tf")
    for table in (split["train"], split["test"]):
        x = loo_log_degrees(split["train"], table, ds.n_genes, hide_tf=hide == "tf")
        expected = x @ np.array([w_out, w_in]) + b
        assert predict_logits(model, table) == pytest.approx(expected, abs=1e-4)


def test_edge_prior_residual_trains_and_round_trips(setting):
    ds, split = setting
    model = build(ds, split, "edge_prior")
    start = predict_logits(model, split["test"])
    assert np.isfinite(start).all() and np.ptp(start) > 0
    config = TrainConfig(epochs=2, batch_size=128, lr=1e-2, progress=False, seed=0)
    trained = fit(model, split["train"], split["val"], config=config).model
    after = predict_logits(trained, split["test"])
    assert not np.allclose(after, start)
    rebuilt = build_model(**trained.config)
    rebuilt.load_state_dict(trained.state_dict())  # floor buffers resize to the saved grid
    assert predict_logits(rebuilt, split["test"]) == pytest.approx(after, abs=1e-5)


def test_unknown_floor_is_refused():
    with pytest.raises(ValueError, match="residual_floor"):
        build_model("pair_evidence", n_genes=10, inputs="none", residual_floor="pagerank")


def test_residual_wrapper_starts_at_the_floor_for_any_family(setting):
    ds, split = setting
    torch.manual_seed(0)
    floor_only = build(ds, split, "degree")
    for base, cfg in (("embedding_two_tower", {}), ("pair_evidence", {"inputs": "none", "evidence": ["degree"]})):
        model = build_model("residual", n_genes=ds.n_genes, base=base, base_cfg=cfg, floor="degree")
        model.prepare(ds, split["train"])  # fits the floor and prepares a graph-reading base
        start = predict_logits(model, split["test"])
        assert start == pytest.approx(predict_logits(floor_only, split["test"]), abs=0.05)
        config = TrainConfig(epochs=2, batch_size=128, lr=1e-2, progress=False, seed=0)
        trained = fit(model, split["train"], split["val"], config=config).model
        assert abs(trained.alpha.item()) > 1e-3  # training moved away from the floor
        rebuilt = build_model(**trained.config)
        rebuilt.load_state_dict(trained.state_dict())
        assert predict_logits(rebuilt, split["test"]) == pytest.approx(predict_logits(trained, split["test"]), abs=1e-5)
    with pytest.raises(ValueError, match="residual"):
        build_model("residual", n_genes=10, base="residual")
