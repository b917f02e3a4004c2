"""`grnlib train` stores the per-TF base-rate correction (pi from every prior edge) and `grnlib
predict` ranks genome-wide with it: every score is the model's logit plus its TF's offset."""
import numpy as np
import pandas as pd
import pytest
import torch

import grnlib
from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.models.floors import base_rate_offsets
from grnlib.training.loop import predict_logits

torch.set_num_threads(1)
TINY = {"model": "expression_two_tower", "model_cfg": {"embedding_dim": 16, "hidden_dims": [16], "out_dim": 16},
        "train": {"epochs": 1, "batch_size": 64, "warmup_epochs": 0}, "features": {"kind": "pca", "n_components": 8}}


@pytest.fixture(scope="module")
def toy():
    ds = make_toy(seed=1, n_cells=60, n_genes=100, n_tfs=12, mean_targets=10)
    edges = ds.symbols(ds.edges)
    return ds.expression, pd.DataFrame({"source": edges["tf_symbol"], "target": edges["target_symbol"]})


def test_per_tf_sampled_training_is_corrected_in_the_ranking(toy, tmp_path):
    adata, net = toy
    model = grnlib.fit(adata, net, seed=0, split={"protocol": "heldout-tf"}, **TINY)
    um = model.user_model
    assert um.correction is not None and um.correction.applied
    prior = um.prior_edges[["tf", "target"]].to_numpy().T
    expected = base_rate_offsets(um.split["train"], len(um.genes), edges=prior).offsets
    assert np.allclose(um.correction.offsets, expected)
    assert model.params["data"]["prior_correction"]["applied"] is True
    ranked = model.rank(adata)
    ids = pd.DataFrame({"tf": um.genes.get_indexer(ranked["tf"]), "target": um.genes.get_indexer(ranked["target"])})
    features = um.recipe.transform(adata)
    raw = predict_logits(um.model, ids, features=features)
    assert ranked["score"].to_numpy() == pytest.approx(raw + expected[ids["tf"].to_numpy()], abs=1e-4)
    # the correction survives save and load
    path = model.save(tmp_path / "m")
    again = grnlib.load(path).rank(adata)
    assert again["score"].to_numpy() == pytest.approx(ranked["score"].to_numpy(), abs=1e-5)


def test_uniform_negatives_are_left_alone_and_off_means_off(toy):
    adata, net = toy
    model = grnlib.fit(adata, net, seed=0, **TINY)  # split "seed": uniform random negatives
    um = model.user_model
    assert um.correction is not None and not um.correction.applied
    assert model.params["prior_correction"] == "auto"


def test_fit_sets_the_prior_correction_as_params_do(toy):
    adata, net = toy
    off = grnlib.fit(adata, net, seed=0, split={"protocol": "heldout-tf"}, prior_correction=False, **TINY)
    assert off.params["prior_correction"] is False
    assert not off.user_model.correction.applied  # per-TF sampled pairs, corrected by default (test above)
    forced = grnlib.fit(adata, net, seed=0, prior_correction=True, **TINY)  # uniform negatives: off unless asked
    assert forced.params["prior_correction"] is True and forced.user_model.correction.applied
    with pytest.raises(DataError, match="prior_correction='sometimes' is not one of"):
        grnlib.fit(adata, net, seed=0, prior_correction="sometimes", **TINY)
