"""THE run pipeline: a dataset split and a list of run specs in, metrics of every run beside the
degree floor on exactly the same test pairs out. ``grnlib train``, ``grnlib evaluate``, the sweep
cells and the notebooks all call :func:`evaluate_split`, so the same data, spec and seed give the
same numbers everywhere.

spec -> features (a fitted :class:`~grnlib.features.FeatureRecipe`) -> model -> fit -> scores ->
threshold chosen on validation -> metrics. Runs are named or given as dicts and resolved by
:func:`grnlib.evaluation.spec.resolve_spec`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.evaluation import cache
from grnlib.evaluation.spec import resolve_spec
from grnlib.io import write_json

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
    trained: dict = field(default_factory=dict)
    stacks: dict = field(default_factory=dict)

    @property
    def y_test(self) -> np.ndarray:
        return self.split["test"]["label"].to_numpy()

    def test_probabilities(self, name: str) -> np.ndarray:
        """A trained model's test-pair probabilities (sigmoid of its logits), for calibration."""
        if name not in self.models:
            raise KeyError(f"{name!r} is not a trained model here; models: {', '.join(self.models)}")
        return 1.0 / (1.0 + np.exp(-self.test_scores[name]))


@dataclass
class TrainedRun:
    """A trained model with the features it reads (None for models without expression input)."""

    model: object
    result: object
    recipe: object = None
    features: np.ndarray | None = None


def train_run(ds: GRNDataset, split: dict, spec, seed: int = 0, progress: bool = False) -> TrainedRun:
    """Train one run spec (name or dict) on ``split["train"]``, early-stopped on ``split["val"]``.

    Features are fitted on the dataset's expression with ``seed`` (labels are never read); model
    init, shuffling and dropout are seeded with ``seed`` too.
    """
    from grnlib.features import FeatureRecipe
    from grnlib.models import build_model
    from grnlib.training.loop import CHECKPOINT_NAME, TrainConfig, fit, seed_everything

    spec = resolve_spec(spec)
    if spec["kind"] == "control":  # grnlib.evaluation.controls: transform the data, train the wrapped model
        from grnlib.evaluation.controls import apply_control

        ds, split = apply_control(spec["model"], ds, split, seed)
        spec = spec["model_cfg"]["base"]
    recipe, features = None, None
    model_cfg = {"n_genes": ds.n_genes, **spec["model_cfg"]}
    if spec["features"]:
        if not ds.has_expression:
            from grnlib.errors import DataError

            raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression, which {spec['name']!r} reads",
                            "use a model without expression inputs or a dataset with expression")
        recipe = FeatureRecipe.fit(ds.expression, seed=seed, **spec["features"])
        features = recipe.transform(ds.expression)
        model_cfg["in_features"] = features.shape[1]
    seed_everything(seed)  # model init is seeded too
    model = build_model(spec["model"], **model_cfg)
    if features is not None and not getattr(model, "uses_features", True):
        recipe, features = None, None  # e.g. pair_evidence with inputs="none": nothing to fit or store
    if hasattr(model, "prepare"):  # models that read the training graph (grnlib.models.context)
        model.prepare(ds, split["train"])
    config = TrainConfig.from_dict({**spec["train"], "seed": seed, "progress": progress})
    val = split["val"]
    correction = applied_correction(spec, ds, split)
    if correction is not None:  # early stopping reads the corrected logits, as they are evaluated
        val = val.assign(offset=correction.apply(val, np.zeros(len(val))))
    # A checkpoint_dir that already holds a training state continues it (``grnlib train --resume``);
    # fit refuses a state of another config or model.
    last = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    result = fit(model, split["train"], val, features=features, config=config,
                 resume_from=last if last is not None and last.is_file() else None)
    return TrainedRun(model=result.model, result=result, recipe=recipe, features=features)


def evaluate_split(ds: GRNDataset, split: dict, runs, baselines=("degree",), seed: int = 0,
                   progress: bool = False) -> Evaluation:
    """Score every baseline and train every run on one split; one metrics row per scorer.

    Args:
        ds, split: the dataset and its pair tables (``grnlib.evaluation.protocols.make_split``).
        runs: run specs or names (models, presets or baselines), resolved by ``resolve_spec``.
        baselines: baseline names scored first (the degree floor by default).
        seed: seeds features, model init and shuffling.

    Thresholds for accuracy/F1/MCC are chosen on the validation pairs of each scorer. A model
    whose spec's ``prior_correction`` applies to this split (:mod:`grnlib.evaluation.correction`)
    is scored with the per-TF base-rate correction under its own name and, as the ablation,
    without it under ``"<name> (uncorrected)"``; column ``prior_correction`` says which row is which.
    """
    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.metrics import auprc, auroc, choose_threshold, evaluate_scores
    from grnlib.training.loop import predict_logits

    evaluation = Evaluation(split=split, metrics=pd.DataFrame())
    rows, corrections = [], {}
    specs, seen = [], set()
    for run in [*baselines, *runs]:
        spec = resolve_spec(run)
        members = [resolve_spec(m) for m in spec["model_cfg"]["members"]] if spec["kind"] == "stack" else []
        for one in [*members, spec]:  # a stack's members are scored (and reported) first
            if one["name"] not in seen:
                seen.add(one["name"])
                specs.append(one)
    for spec in specs:
        started = time.perf_counter()
        if spec["kind"] == "stack":
            rows += stack_rows(spec, ds, split, evaluation, rows, corrections, seed)
            continue
        key = cache.run_key(spec, ds, split, seed)
        entry = cache.load(key)
        hit = entry is not None
        if spec["kind"] == "baseline":
            if entry is None:
                val = score_baseline(spec["model"], ds, split["train"], split["val"], seed=seed)
                test = score_baseline(spec["model"], ds, split["train"], split["test"], seed=seed)
                entry = _scores_entry(val, test, time.perf_counter() - started)
                cache.store(key, entry)
            val, test = entry["val"].numpy(), entry["test"].numpy()
        else:
            if entry is None:
                trained = train_run(ds, split, spec, seed=seed, progress=progress)
                # Logits, not probabilities: sigmoid saturates at 1.0 for confident models and ties ranks.
                val = predict_logits(trained.model, split["val"], features=trained.features)
                test = predict_logits(trained.model, split["test"], features=trained.features)
                entry = {**_scores_entry(val, test, time.perf_counter() - started), **_trained_entry(trained)}
                cache.store(key, entry)
            else:
                trained = _trained_from_entry(entry)
            val, test = entry["val"].numpy(), entry["test"].numpy()
            evaluation.histories[spec["name"]] = trained.result.history
            evaluation.models[spec["name"]] = trained.model
            evaluation.trained[spec["name"]] = trained
        y_val = split["val"]["label"].to_numpy()
        for name, val, test, applied in scored_variants(spec, ds, split, val, test, corrections):
            threshold = choose_threshold(y_val, val)
            metrics = evaluate_scores(split["test"], test, threshold=threshold)
            rows.append({"name": name, "kind": spec["kind"], "seed": seed, **metrics,
                         "val_auroc": auroc(y_val, val), "val_auprc": auprc(y_val, val),
                         "threshold": threshold, "prior_correction": applied,
                         "seconds": float(entry["seconds"]), "cached": hit})
            evaluation.val_scores[name] = val
            evaluation.test_scores[name] = test
    evaluation.metrics = pd.DataFrame(rows)
    return evaluation


def scored_variants(spec: dict, ds: GRNDataset, split: dict, val: np.ndarray, test: np.ndarray,
                    corrections: dict | None = None) -> list[tuple]:
    """``(name, val scores, test scores, corrected)`` rows of one scorer: the scores as they are,
    or, when the spec's prior correction applies to the split, the corrected scores under the
    spec's name and the raw ones under ``"<name> (uncorrected)"``; a correction that is the same
    for every validation and test TF (the held-out-TF protocols) changes no metric and is skipped.
    ``corrections`` memoises the correction per mode across the scorers of one split."""
    from grnlib.evaluation.correction import UNCORRECTED_SUFFIX

    correction = applied_correction(spec, ds, split, corrections)
    if correction is None:
        return [(spec["name"], val, test, False)]
    return [(spec["name"], correction.apply(split["val"], val), correction.apply(split["test"], test), True),
            (spec["name"] + UNCORRECTED_SUFFIX, val, test, False)]


def applied_correction(spec: dict, ds: GRNDataset, split: dict, corrections: dict | None = None):
    """The spec's prior correction (:mod:`grnlib.evaluation.correction`) when it applies to the split and
    changes a metric, else None; ``corrections`` memoises it per mode across the scorers of one split."""
    from grnlib.evaluation.correction import fit_prior_correction

    mode = spec.get("prior_correction", False) if spec["kind"] in ("model", "stack", "control") else False
    if mode is False:
        return None
    memo = corrections if corrections is not None else {}
    if mode not in memo:
        memo[mode] = fit_prior_correction(split["train"], ds.n_genes, mode)
    correction = memo[mode]
    scored_tfs = np.unique(np.r_[split["val"]["tf"].to_numpy(), split["test"]["tf"].to_numpy()])
    if not correction.applied or np.ptp(correction.offsets[scored_tfs]) < 1e-12:
        # one offset for every scored TF (held-out TFs have no training rows) changes no metric
        return None
    return correction


def stack_rows(spec: dict, ds: GRNDataset, split: dict, evaluation: Evaluation, rows: list, corrections: dict,
               seed: int) -> list[dict]:
    """The metrics row of a stacked ensemble whose members are already in ``evaluation``
    (:mod:`grnlib.evaluation.stacking`): members enter as they are evaluated (corrected where their
    prior correction applies), and the stack's logit is not corrected again. ``evaluation.stacks``
    keeps the fitted blend (its weights) by name."""
    from grnlib.evaluation.metrics import auprc, auroc, choose_threshold, evaluate_scores
    from grnlib.evaluation.stacking import fit_stack

    started = time.perf_counter()
    members = [resolve_spec(m)["name"] for m in spec["model_cfg"]["members"]]
    y_val = split["val"]["label"].to_numpy()
    stacked = fit_stack(y_val, [evaluation.val_scores[m] for m in members],
                        [evaluation.test_scores[m] for m in members], seed=seed, members=members)
    evaluation.stacks[spec["name"]] = stacked["fitted"]
    cost = sum(r["seconds"] for r in rows if r["name"] in members) + time.perf_counter() - started
    corrected = any(r["prior_correction"] for r in rows if r["name"] in members)
    val, test = stacked["val"], stacked["test"]
    threshold = choose_threshold(y_val, val)
    evaluation.val_scores[spec["name"]] = val
    evaluation.test_scores[spec["name"]] = test
    return [{"name": spec["name"], "kind": "stack", "seed": seed, **evaluate_scores(split["test"], test, threshold),
             "val_auroc": auroc(y_val, val), "val_auprc": auprc(y_val, val), "threshold": threshold,
             "prior_correction": corrected, "seconds": float(cost), "cached": False}]


def _scores_entry(val: np.ndarray, test: np.ndarray, seconds: float) -> dict:
    import torch

    return {"val": torch.from_numpy(np.asarray(val, dtype=np.float64)),
            "test": torch.from_numpy(np.asarray(test, dtype=np.float64)), "seconds": float(seconds)}


def _trained_entry(trained: TrainedRun) -> dict:
    """A trained run as tensors and JSON strings (a weights-only cache entry)."""
    import json

    import torch

    result = trained.result
    entry = {"model_config": json.dumps(trained.model.config), "model_state": trained.model.state_dict(),
             "history": result.history.to_json(orient="split"),
             "fit": json.dumps({"best_epoch": result.best_epoch, "best_value": result.best_value,
                                "stopped_early": bool(result.stopped_early), "device": str(result.device),
                                "config": result.config.to_dict()}, default=str)}
    if trained.recipe is not None:
        meta, tensors = trained.recipe.state()
        entry.update(recipe_meta=json.dumps(meta), features=torch.from_numpy(trained.features), **tensors)
    return entry


def _trained_from_entry(entry: dict) -> TrainedRun:
    import io
    import json

    from grnlib.features import FeatureRecipe
    from grnlib.models import build_model
    from grnlib.training.loop import FitResult, TrainConfig

    model = build_model(**json.loads(entry["model_config"]))
    model.load_state_dict(entry["model_state"])
    model.eval()
    fit = json.loads(entry["fit"])
    history = pd.read_json(io.StringIO(entry["history"]), orient="split")
    result = FitResult(model=model, history=history, best_epoch=fit["best_epoch"], best_value=fit["best_value"],
                       stopped_early=fit["stopped_early"], config=TrainConfig.from_dict(fit["config"]),
                       device=fit["device"])
    recipe = features = None
    if "recipe_meta" in entry:
        recipe = FeatureRecipe.from_state(json.loads(entry["recipe_meta"]), entry)
        features = entry["features"].numpy()
    return TrainedRun(model=model, result=result, recipe=recipe, features=features)


def summary_table(metrics: pd.DataFrame, columns=METRIC_COLUMNS, by="name") -> pd.DataFrame:
    """Mean ± std over seeds in one cell per metric (three decimals), one row per ``by`` group in
    order of first appearance, with the number of seeds first. Headers are the readable labels of
    :data:`METRIC_LABELS`. A group measured once has no spread: its cells read ``0.812 ± —``, never NaN,
    and a table of single measurements shows plain means.
    """
    columns = [c for c in columns if c in metrics]
    grouped = metrics.groupby(by, sort=False)[columns]
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.size()
    if n.max() < 2:
        table = pd.DataFrame({METRIC_LABELS.get(c, c): mean[c].map("{:.3f}".format) for c in columns})
    else:
        table = pd.DataFrame({METRIC_LABELS.get(c, c): [mean_std(m, s, k) for m, s, k in zip(mean[c], std[c], n)]
                              for c in columns}, index=mean.index)
    table.insert(0, "seeds", n.to_numpy())
    return table


#: Column headers of formatted tables (short, so a table fits the book's content column).
METRIC_LABELS = {"auroc": "AUROC", "auprc": "AUPRC", "auprc_ratio": "AUPRC / rate", "accuracy": "accuracy",
                 "f1": "F1", "mcc": "MCC", "early_precision_ratio": "early prec. ratio", "brier": "Brier",
                 "per_tf_auroc": "per-TF AUROC", "per_tf_auprc": "per-TF AUPRC"}


def mean_std(mean: float, std: float | None = None, n: int | None = None, digits: int = 3) -> str:
    """``"0.812 ± 0.004"``. Without a spread (``n`` < 2, or ``std`` missing/NaN) ``"0.812 ± —"``;
    a missing mean ``"—"``."""
    if mean is None or not np.isfinite(mean):
        return "—"
    spread = "—" if std is None or not np.isfinite(std) or (n is not None and n < 2) else f"{std:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread}"


def save_outputs(folder: Path, params: dict, metrics: pd.DataFrame, figures: dict | None = None) -> Path:
    """Write ``params.json``, ``metrics.json`` (records) and ``<name>.png`` figures into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "params.json", params)
    write_json(folder / "metrics.json", metrics.to_dict(orient="records"))
    for name, fig in (figures or {}).items():
        fig.savefig(folder / f"{name}.png", dpi=110, bbox_inches="tight")
    return folder
