"""Glue the notebooks and the CLI share: train named runs on one split and score them, with the
baselines, on exactly the same test pairs.

A *run spec* is plain data (it comes from a params YAML)::

    {"name": "baseline", "model": "embedding_two_tower", "model_cfg": {...},
     "train": {...TrainConfig fields...}, "features": {"kind": "pca", "n_components": 64} or None}

``model`` may also name a baseline (``degree``, ``correlation``, ...), which is scored without training.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import GRNDataset

METRIC_COLUMNS = ("auroc", "auprc", "auprc_ratio", "accuracy", "f1", "mcc", "early_precision_ratio")


@dataclass
class Evaluation:
    """Everything one split's runs produced.

    ``metrics`` has one row per scorer (``name``), all on the same test pairs; ``test_scores`` and
    ``val_scores`` map a scorer's name to its scores in pair-table order (logits for models).
    """

    split: dict
    metrics: pd.DataFrame
    test_scores: dict = field(default_factory=dict)
    val_scores: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)

    @property
    def y_test(self) -> np.ndarray:
        return self.split["test"]["label"].to_numpy()

    def test_probabilities(self, name: str) -> np.ndarray:
        """A trained model's test-pair probabilities (sigmoid of its logits), for calibration."""
        if name not in self.models:
            raise KeyError(f"{name!r} is not a trained model here; models: {', '.join(self.models)}")
        return 1.0 / (1.0 + np.exp(-self.test_scores[name]))


def _as_spec(run) -> dict:
    spec = dict(run)
    spec.setdefault("name", spec["model"])
    spec.setdefault("model_cfg", {})
    spec.setdefault("train", {})
    spec.setdefault("features", None)
    return spec


def train_run(ds: GRNDataset, split: dict, spec: dict, seed: int = 0, progress: bool = False):
    """Train one model run spec on ``split``; returns ``(model, fit_result, features)``."""
    import torch

    from .features import gene_features
    from .models import build_model
    from .train import TrainConfig, fit

    spec = _as_spec(spec)
    features = None
    model_cfg = {"n_genes": ds.n_genes, **spec["model_cfg"]}
    if spec["features"]:
        features = torch.from_numpy(gene_features(ds, seed=seed, **spec["features"]))
        model_cfg["in_features"] = features.shape[1]
    torch.manual_seed(seed)
    model = build_model(spec["model"], **model_cfg)
    if hasattr(model, "prepare"):  # models that read the training graph (grnlib.models.context)
        model.prepare(ds, split["train"])
    config = TrainConfig(**{**spec["train"], "seed": seed, "progress": progress})
    result = fit(model, split["train"], split["val"], features=features, config=config)
    return result.model, result, features


def evaluate_split(ds: GRNDataset, split: dict, runs: list[dict], baselines=("degree",), seed: int = 0,
                   progress: bool = False) -> Evaluation:
    """Score every baseline and train every run on one split; one metrics row per scorer.

    Thresholds for accuracy/F1/MCC are chosen on the validation pairs of each scorer.
    """
    from .baselines import score_baseline
    from .metrics import auprc, auroc, choose_threshold, evaluate_scores
    from .train import predict_logits

    evaluation = Evaluation(split=split, metrics=pd.DataFrame())
    rows = []
    jobs = [{"name": b, "model": b} for b in baselines] + [_as_spec(r) for r in runs]
    for spec in jobs:
        started = time.perf_counter()
        if spec["model"] in _baseline_names():
            val = score_baseline(spec["model"], ds, split["train"], split["val"], seed=seed)
            test = score_baseline(spec["model"], ds, split["train"], split["test"], seed=seed)
            kind = "baseline"
        else:
            model, result, features = train_run(ds, split, spec, seed=seed, progress=progress)
            # Logits, not probabilities: sigmoid saturates at 1.0 for confident models and ties ranks.
            val = predict_logits(model, split["val"], features=features)
            test = predict_logits(model, split["test"], features=features)
            evaluation.histories[spec["name"]] = result.history
            evaluation.models[spec["name"]] = model
            kind = "model"
        y_val = split["val"]["label"].to_numpy()
        threshold = choose_threshold(y_val, val)
        metrics = evaluate_scores(split["test"], test, threshold=threshold)
        rows.append({"name": spec["name"], "kind": kind, "seed": seed, **metrics,
                     "val_auroc": auroc(y_val, val), "val_auprc": auprc(y_val, val),
                     "threshold": threshold, "seconds": time.perf_counter() - started})
        evaluation.val_scores[spec["name"]] = val
        evaluation.test_scores[spec["name"]] = test
    evaluation.metrics = pd.DataFrame(rows)
    return evaluation


def _baseline_names() -> set[str]:
    from .baselines import BASELINES

    return set(BASELINES)


def summary_table(metrics: pd.DataFrame, columns=METRIC_COLUMNS, by: str = "name") -> pd.DataFrame:
    """Mean ± std over seeds, formatted, one row per scorer (order of first appearance)."""
    columns = [c for c in columns if c in metrics]
    grouped = metrics.groupby(by, sort=False)[columns]
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.size()
    table = mean.round(3).astype(str)
    if n.max() > 1:
        table = mean.map("{:.3f}".format) + " ± " + std.fillna(0).map("{:.3f}".format)
    table.insert(0, "seeds", n)
    return table


def write_json_atomic(path: str | Path, payload) -> Path:
    """Write JSON to a temporary file beside ``path`` and rename it, so readers never see half a file."""
    from .userdata import atomic_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=_json_default))
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def save_outputs(folder: Path, params: dict, metrics: pd.DataFrame, figures: dict | None = None) -> Path:
    """Write ``params.json``, ``metrics.json`` (records) and ``<name>.png`` figures into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "params.json", params)
    write_json_atomic(folder / "metrics.json", metrics.to_dict(orient="records"))
    for name, fig in (figures or {}).items():
        fig.savefig(folder / f"{name}.png", dpi=110, bbox_inches="tight")
    return folder
