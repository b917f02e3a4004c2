"""The training loop: early stopping, determinism, resume, checkpoints, prediction helpers."""
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
from sklearn.metrics import roc_auc_score

from grnlib.training.checkpoint import load_checkpoint, load_model
from grnlib.data import make_toy
from grnlib.features import gene_features
from grnlib.models import ConfigError, build_model
from grnlib.training.loop import (EarlyStopping, TrainConfig, fit, predict_logits, predict_proba,
                          progress_enabled, score_all_pairs)

torch.set_num_threads(1)

DS = make_toy(n_genes=80, n_tfs=8, n_cells=40, seed=4)
FEATURES = gene_features(DS, "cells")
METRICS = ["epoch", "loss", "val_loss", "val_auroc", "val_auprc", "lr"]


def toy_pairs(ds, seed=0):
    """All positive edges plus as many random TF x gene negatives (no self pairs)."""
    rng = np.random.default_rng(seed)
    taken = set(map(tuple, ds.edges[["tf", "target"]].to_numpy()))
    negatives = []
    while len(negatives) < len(ds.edges):
        tf, gene = int(rng.choice(ds.tf_ids)), int(rng.integers(ds.n_genes))
        if tf != gene and (tf, gene) not in taken:
            taken.add((tf, gene))
            negatives.append((tf, gene))
    pairs = pd.concat([ds.edges.assign(label=1),
                       pd.DataFrame(negatives, columns=["tf", "target"]).assign(label=0)],
                      ignore_index=True)
    return pairs.sample(frac=1.0, random_state=seed, ignore_index=True)


PAIRS = toy_pairs(DS)
TRAIN, VAL = PAIRS.iloc[: int(0.7 * len(PAIRS))], PAIRS.iloc[int(0.7 * len(PAIRS)):]
SMALL_DEEP = {"name": "deep_two_tower", "n_genes": DS.n_genes, "embedding_dim": 16,
              "hidden_dims": [32, 16], "out_dim": 8, "dropout": 0.2}


def config(**overrides):
    base = dict(epochs=6, batch_size=32, lr=0.01, progress=False, seed=0)
    return TrainConfig(**{**base, **overrides})


def test_early_stopping_stops_after_patience_and_restores_best():
    model = nn.Linear(1, 1, bias=False)
    stopper = EarlyStopping(patience=3, mode="max")
    metrics = [0.5, 0.7, 0.6, 0.65, 0.69, 0.9]
    stopped_at = None
    for epoch, value in enumerate(metrics, start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)  # weights remember which epoch they come from
        if stopper.step(value, epoch, model):
            stopped_at = epoch
            break
    assert stopped_at == 5 and stopper.best_epoch == 2 and stopper.best_value == 0.7
    assert stopper.restore(model) and model.weight.item() == 2.0


def test_early_stopping_min_mode_and_nan():
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, mode="min", min_delta=0.1)
    assert not stopper.step(1.0, 1, model)
    assert not stopper.step(0.95, 2, model)   # not better by min_delta
    assert not stopper.step(0.5, 3, model)
    assert not stopper.step(float("nan"), 4, model)
    assert stopper.step(0.45, 5, model)       # second epoch without a real improvement
    assert stopper.best_epoch == 3


def test_fit_stops_early_and_returns_best_weights():
    rng = np.random.default_rng(0)
    noisy_val = VAL.assign(label=rng.permutation(VAL["label"].to_numpy()))  # val can't improve for long
    result = fit(dict(SMALL_DEEP), TRAIN, noisy_val,
                 config=config(epochs=40, early_stopping_patience=2))
    history = result.history
    assert result.stopped_early and len(history) == result.best_epoch + 2 < 40
    assert history["val_auroc"].idxmax() == result.best_epoch - 1
    auroc = roc_auc_score(noisy_val["label"], predict_logits(result.model, noisy_val))
    assert auroc == pytest.approx(history["val_auroc"].iloc[result.best_epoch - 1], abs=1e-12)


def test_history_columns_and_schedule():
    result = fit(dict(SMALL_DEEP), TRAIN, VAL,
                 config=config(warmup_epochs=2, min_lr_ratio=0.1, early_stopping_patience=None))
    history = result.history
    assert list(history.columns) == METRICS + ["time_s"]
    assert history["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert history["lr"].iloc[1] == pytest.approx(0.01)           # last warm-up step: peak
    assert history["lr"].iloc[-1] == pytest.approx(0.001)         # last step: the floor
    assert history["val_auroc"].between(0, 1).all() and (history["loss"] > 0).all()
    assert result.best_epoch == history["val_auroc"].idxmax() + 1


def test_same_seed_gives_identical_metrics_and_other_seed_differs():
    runs = [fit(dict(SMALL_DEEP), TRAIN, VAL, config=config(seed=s)) for s in (7, 7, 8)]
    pd.testing.assert_frame_equal(runs[0].history[METRICS], runs[1].history[METRICS])
    for key, value in runs[0].model.state_dict().items():
        assert torch.equal(value, runs[1].model.state_dict()[key])
    assert not runs[0].history["loss"].equals(runs[2].history["loss"])


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    settings = dict(optimizer="sgd_momentum", lr=0.05, warmup_epochs=2, loss="focal",
                    early_stopping_patience=10)
    full = fit(dict(SMALL_DEEP), TRAIN, VAL, config=config(**settings))

    class Interrupt(Exception):
        pass

    def stop_after_three(row):
        if row["epoch"] == 3:
            raise Interrupt

    run_config = config(checkpoint_dir=str(tmp_path), **settings)
    with pytest.raises(Interrupt):
        fit(dict(SMALL_DEEP), TRAIN, VAL, config=run_config, on_epoch_end=stop_after_three)
    checkpoint = tmp_path / "last.pt"
    saved = load_checkpoint(checkpoint)
    assert saved["epoch"] == 3 and not saved["finished"]

    torch.manual_seed(123)  # disturb global RNG: resume must restore its own
    resumed = fit(build_model(**SMALL_DEEP), TRAIN, VAL, config=run_config, resume_from=checkpoint)
    pd.testing.assert_frame_equal(resumed.history[METRICS], full.history[METRICS])
    assert resumed.best_epoch == full.best_epoch
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    # The final checkpoint holds the best weights and rebuilds the model on its own.
    final = load_model(checkpoint)
    np.testing.assert_array_equal(predict_logits(final, VAL), predict_logits(full.model, VAL))


def test_resume_refuses_a_different_config(tmp_path):
    fit(dict(SMALL_DEEP), TRAIN, VAL, config=config(epochs=2, checkpoint_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="lr"):
        fit(dict(SMALL_DEEP), TRAIN, VAL, config=config(epochs=2, lr=0.5),
            resume_from=tmp_path / "last.pt")


def test_weighted_bce_auto_and_features_model():
    model = {"name": "two_tower", "in_features": FEATURES.shape[1], "hidden_dims": [16],
             "out_dim": 8, "similarity": "cosine"}
    result = fit(model, TRAIN, VAL, FEATURES,
                 config=config(epochs=2, loss="weighted_bce", loss_kwargs={"pos_weight": "auto"}))
    assert np.isfinite(result.history["loss"]).all()
    with pytest.raises(ValueError, match="features"):
        fit(model, TRAIN, VAL, config=config(epochs=1))


def test_config_errors_are_explained():
    with pytest.raises(ConfigError, match="adamw"):
        TrainConfig(optimizer="adam")
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig.from_dict({"epochs": 3, "batchsize": 4})
    with pytest.raises(ConfigError, match="momentum"):
        fit(dict(SMALL_DEEP), TRAIN, VAL, config=config(epochs=1, momentum=0.9))
    assert TrainConfig.from_dict({"epochs": 3}).epochs == 3


def test_progress_is_off_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(True)
    monkeypatch.delenv("CI")
    assert progress_enabled(True) and not progress_enabled(False)


def test_predict_proba_matches_sigmoid_of_forward():
    torch.manual_seed(0)
    model = build_model(**SMALL_DEEP).eval()
    proba = predict_proba(model, VAL, batch_size=7)
    with torch.no_grad():
        logits = model(torch.as_tensor(VAL["tf"].to_numpy()), torch.as_tensor(VAL["target"].to_numpy()))
    np.testing.assert_allclose(proba, torch.sigmoid(logits.double()).numpy(), rtol=1e-6)
    assert proba.shape == (len(VAL),)


@pytest.mark.parametrize("name", ["expression_two_tower", "cross_encoder"])
def test_score_all_pairs_full_matrix_and_chunked_top_k(name):
    torch.manual_seed(0)
    model = build_model(name, n_genes=DS.n_genes, in_features=FEATURES.shape[1]).eval()
    tfs, genes = DS.tf_ids, np.arange(DS.n_genes)
    matrix = score_all_pairs(model, tfs, genes, FEATURES, chunk=13)
    assert matrix.shape == (len(tfs), len(genes))
    grid_tf, grid_gene = np.repeat(tfs, len(genes)), np.tile(genes, len(tfs))
    expected = predict_logits(model, (grid_tf, grid_gene), FEATURES).reshape(len(tfs), len(genes))
    finite = np.isfinite(matrix)
    assert (~finite).sum() == len(tfs) and np.isneginf(matrix[np.arange(len(tfs)), tfs]).all()
    np.testing.assert_allclose(matrix[finite], expected[finite], rtol=1e-4, atol=1e-4)

    top = score_all_pairs(model, tfs, genes, FEATURES, top_k=25, chunk=13)
    flat = np.argsort(-np.where(finite, matrix, -np.inf), axis=None)[:25]
    assert list(top.columns) == ["tf", "target", "score"] and len(top) == 25
    assert top["tf"].tolist() == tfs[flat // len(genes)].tolist()
    assert top["target"].tolist() == genes[flat % len(genes)].tolist()
    assert (np.diff(top["score"].to_numpy()) <= 0).all() and (top["tf"] != top["target"]).all()


def test_fit_clips_the_global_gradient_norm():
    torch.manual_seed(0)
    model = build_model(**SMALL_DEEP)
    before = [p.detach().clone() for p in model.parameters()]
    one_plain_step = config(epochs=1, batch_size=len(TRAIN), optimizer="sgd", lr=1.0,
                            weight_decay=0.0, scheduler="constant", clip_norm=1e-3)
    fit(model, TRAIN, None, config=one_plain_step)
    moved = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert 0 < moved.item() <= 1e-3 * (1 + 1e-4)  # one SGD step of lr * clipped gradient


def test_phase4_differs_from_phase3_only_by_its_loss_and_batch_recipe():
    """Phase 4 trains like phase 3 except the focal loss and its larger batch with a scaled-up
    learning rate (the speed recipe, benchmarks/phase4_speed.py); everything else is shared."""
    from grnlib.evaluation.spec import preset

    p3, p4 = preset("phase3")["train"], preset("phase4")["train"]
    assert preset("phase3")["model"] == preset("phase4")["model"] == "deep_two_tower"
    differ = {k for k in set(p3) | set(p4) if p3.get(k) != p4.get(k)}
    assert differ == {"loss", "loss_kwargs", "batch_size", "lr"}
    assert p4["loss"] == "focal" and p4["batch_size"] > p3["batch_size"]
    assert p4["lr"] / p4["batch_size"] >= p3["lr"] / p3["batch_size"]  # at least the linear scaling rule


def test_a_batch_larger_than_the_training_set_is_one_step_per_epoch():
    model = build_model(**SMALL_DEEP)
    result = fit(model, TRAIN, VAL, config=config(epochs=3, batch_size=100_000, scheduler="warmup_cosine",
                                                  warmup_epochs=1))
    # warm-up of one epoch = one step, then cosine over the remaining two steps
    assert result.history["lr"].tolist() == pytest.approx([0.01, 0.01, 0.01 * 0.01])
    assert len(result.history) == 3 and np.isfinite(result.history["val_auroc"]).all()
