"""Nested validation: every choice made on one half of the validation TFs and scored on the other, so single
models (best epoch), stacks (weights) and baselines (nothing chosen) are ranked on one footing."""
import numpy as np
import pandas as pd
import pytest

from grnlib.data import make_toy
from grnlib.evaluation.experiment import evaluate_split
from grnlib.evaluation.metrics import auprc, auroc
from grnlib.evaluation.nested import nested_metrics
from grnlib.evaluation.protocols import make_split, validation_halves
from grnlib.evaluation.stacking import nested_stack
from grnlib.training.loop import TrainConfig, fit


def _pairs(tf, label):
    return pd.DataFrame({"tf": np.asarray(tf, np.int64), "target": np.arange(len(tf), dtype=np.int64),
                         "label": np.asarray(label, np.int64)})


def test_halves_are_whole_tfs_with_both_classes_and_seeded():
    val = _pairs(np.repeat(np.arange(8), 10), np.tile([1, 0, 0, 1, 0, 0, 0, 0, 1, 0], 8))
    half_a = validation_halves(val, seed=3)
    for tf, rows in val.assign(a=half_a).groupby("tf"):
        assert rows["a"].nunique() == 1, f"TF {tf} is split across the halves"
    assert half_a.sum() == 40 and set(val.loc[half_a, "label"]) == {0, 1} == set(val.loc[~half_a, "label"])
    assert np.array_equal(half_a, validation_halves(val, seed=3))
    assert any(not np.array_equal(half_a, validation_halves(val, seed=s)) for s in range(4, 10))


def test_halves_split_pairs_when_whole_tfs_cannot_give_both_classes():
    val = _pairs([0] * 6 + [1] * 6, [1] * 6 + [0] * 6)  # each TF has one class only
    half_a = validation_halves(val, seed=0)
    assert set(val.loc[half_a, "label"]) == {0, 1} == set(val.loc[~half_a, "label"])
    assert half_a.sum() == 6


def test_nested_metrics_score_each_half_with_the_other_halfs_choice():
    rng = np.random.default_rng(0)
    y, half_a = rng.integers(0, 2, 200), np.arange(200) < 100
    chosen_a, chosen_b = y + rng.normal(0, 1, 200), rng.normal(0, 1, 200)
    values = nested_metrics(y, half_a, (chosen_a, chosen_b))
    expected = np.mean([auroc(y[~half_a], chosen_a[~half_a]), auroc(y[half_a], chosen_b[half_a])])
    assert values["val_nested_auroc"] == pytest.approx(expected)
    assert values["val_nested_auprc"] == pytest.approx(
        np.mean([auprc(y[~half_a], chosen_a[~half_a]), auprc(y[half_a], chosen_b[half_a])]))
    assert np.isnan(nested_metrics(y, half_a, None)["val_nested_auroc"])


def test_a_stack_chosen_on_half_a_never_reads_half_b_labels():
    rng = np.random.default_rng(1)
    y, half_a = rng.integers(0, 2, 300), np.arange(300) % 3 == 0
    members = [(y + rng.normal(0, 1, 300),) * 2, (rng.normal(0, 1, 300),) * 2]
    flipped = y.copy()
    flipped[~half_a] = 1 - flipped[~half_a]
    chosen, chosen_flipped = nested_stack(y, half_a, members), nested_stack(flipped, half_a, members)
    assert np.allclose(chosen[0], chosen_flipped[0])  # fitted on half A only
    assert not np.allclose(chosen[1], chosen_flipped[1])  # fitted on half B, whose labels changed
    assert nested_stack(y, half_a, [members[0], None]) is None


def test_fit_keeps_the_best_epoch_of_each_half():
    ds = make_toy(n_genes=150, n_tfs=15, mean_targets=10, seed=2)
    split = make_split(ds, "heldout-tf", seed=0)
    half_a = validation_halves(split["val"], seed=0)
    from grnlib.features import gene_features

    features = gene_features(ds)
    model = {"name": "expression_two_tower", "n_genes": ds.n_genes, "in_features": features.shape[1]}
    result = fit(model, split["train"], split["val"], features=features, val_halves=half_a,
                 config=TrainConfig(epochs=6, batch_size=64, lr=3e-3, optimizer="adamw", progress=False))
    y = split["val"]["label"].to_numpy()
    assert result.val_chosen is not None and all(v.shape == y.shape for v in result.val_chosen)
    # the epoch kept for half A is at least as good on A as the epoch kept for the whole of validation
    from grnlib.training.loop import predict_logits

    final = predict_logits(result.model, split["val"], features=features)
    assert auroc(y[half_a], result.val_chosen[0][half_a]) >= auroc(y[half_a], final[half_a]) - 1e-9
    assert auroc(y[~half_a], result.val_chosen[1][~half_a]) >= auroc(y[~half_a], final[~half_a]) - 1e-9
    with pytest.raises(ValueError, match="val_halves"):
        fit(model, split["train"], split["val"], features=features, val_halves=half_a[:-1],
            config=TrainConfig(epochs=1, progress=False))


def test_every_scorer_of_a_split_gets_nested_metrics():
    ds = make_toy(n_genes=150, n_tfs=15, mean_targets=10, seed=2)
    split = make_split(ds, "heldout-tf", seed=0)
    evaluation = evaluate_split(ds, split, ["phase1_blend"], baselines=("degree", "edge_prior"), seed=0,
                                runtime=None, progress=False)
    table = evaluation.metrics.set_index("name")
    assert table["val_nested_auroc"].notna().all(), table["val_nested_auroc"]
    y, half_a = split["val"]["label"].to_numpy(), evaluation.val_half_a
    degree = evaluation.val_scores["degree"]  # a baseline chooses nothing: the mean of its two halves
    assert table.loc["degree", "val_nested_auroc"] == pytest.approx(
        np.mean([auroc(y[half_a], degree[half_a]), auroc(y[~half_a], degree[~half_a])]))
