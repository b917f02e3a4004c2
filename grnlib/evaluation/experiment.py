"""THE run pipeline: a dataset split and a list of run specs in, metrics of every run beside the
degree floor on exactly the same test pairs out. ``grnlib train``, ``grnlib evaluate``, the sweep
cells and the notebooks all call :func:`evaluate_split`, so the same data, spec and seed give the
same numbers everywhere.

spec -> features (a fitted :class:`~grnlib.features.FeatureRecipe`) -> model -> fit -> scores ->
threshold chosen on validation -> metrics. Runs arrive as :class:`~grnlib.evaluation.spec.RunSpec`
(resolved once where the input entered; a name or dict given here is resolved here, once) with a
:class:`~grnlib.evaluation.spec.Runtime` (seed, device, progress, checkpoint folder) beside them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.evaluation import cache
from grnlib.evaluation.spec import DEGREE_FLOOR, RunSpec, Runtime, as_spec


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
    # nested validation (grnlib.evaluation.nested): per scorer, its validation scores chosen on half A and on half B
    val_chosen: dict = field(default_factory=dict)
    val_half_a: np.ndarray | None = None

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


@dataclass
class BuiltRun:
    """A model ready to train: built, seeded and prepared on the training graph, with the fitted feature
    recipe and features it reads (None when it reads none). ``spec``, ``ds`` and ``split`` are what it
    trains on: a control's wrapped model on the data its transform produced."""

    model: object
    recipe: object
    features: np.ndarray | None
    spec: RunSpec
    ds: GRNDataset
    split: dict


def runtime_of(runtime: Runtime | None = None, seed: int | None = None, progress: bool | None = None) -> Runtime:
    """``runtime``, or one made of the ``seed=``/``progress=`` shorthand (defaults: seed 0, no progress bar)."""
    if runtime is not None:
        if seed is not None or progress is not None:
            raise TypeError("pass either runtime or seed=/progress=, not both")
        return runtime
    return Runtime(seed=0 if seed is None else int(seed), progress=bool(progress))


def build_run(ds: GRNDataset, split: dict, spec: RunSpec, runtime: Runtime) -> BuiltRun:
    """The model of ``spec`` built for ``ds`` (a control's data transform applied first): features fitted on
    the dataset's expression with the runtime's seed (labels are never read), model init seeded with it,
    then ``prepare(ds, split["train"])``. :func:`train_run` trains it; the benchmarks time it."""
    from grnlib.features import FeatureRecipe
    from grnlib.models import build_model
    from grnlib.training.loop import seed_everything

    if spec.kind == "control":  # grnlib.evaluation.controls: transform the data, build the wrapped model
        from grnlib.evaluation.controls import apply_control

        ds, split = apply_control(spec.model, ds, split, runtime.seed)
        spec = spec.base
    recipe, features = None, None
    model_cfg = {"n_genes": ds.n_genes, **spec.model_cfg}
    if spec.features:
        if not ds.has_expression:
            from grnlib.errors import DataError

            raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression, which {spec.name!r} reads",
                            "use a model without expression inputs or a dataset with expression")
        recipe = FeatureRecipe.fit(ds.expression, seed=runtime.seed, **spec.features)
        features = recipe.transform(ds.expression)
        model_cfg["in_features"] = features.shape[1]
    seed_everything(runtime.seed)  # model init is seeded too
    model = build_model(spec.model, **model_cfg)
    if features is not None and not model.uses_features:
        recipe, features = None, None  # e.g. pair_evidence with inputs="none": nothing to fit or store
    model.prepare(ds, split["train"])  # models that read the training graph store it (a no-op otherwise)
    return BuiltRun(model=model, recipe=recipe, features=features, spec=spec, ds=ds, split=split)


def train_run(ds: GRNDataset, split: dict, spec, runtime: Runtime | None = None, *, seed: int | None = None,
              progress: bool | None = None, val_halves=None) -> TrainedRun:
    """Train one run spec on ``split["train"]``, early-stopped on ``split["val"]`` (:func:`build_run`, then
    :func:`grnlib.training.loop.fit` with the spec's ``train`` section and the runtime's settings).

    ``spec`` is a RunSpec (a name or dict is resolved here); ``runtime`` (or the ``seed=``/``progress=``
    shorthand) seeds features, model init, shuffling and dropout. ``val_halves`` (a mask of validation half A)
    records the nested-validation logits (:mod:`grnlib.evaluation.nested`) in ``result.val_chosen``.
    """
    from grnlib.training.loop import CHECKPOINT_NAME, TrainConfig, fit

    runtime = runtime_of(runtime, seed, progress)
    built = build_run(ds, split, as_spec(spec), runtime)
    config = TrainConfig.from_dict({**built.spec.train, **runtime.train_settings()})
    val = built.split["val"]
    correction = applied_correction(built.spec, built.ds, built.split)
    if correction is not None:  # early stopping reads the corrected logits, as they are evaluated
        val = val.assign(offset=correction.apply(val, np.zeros(len(val))))
    # A checkpoint_dir that already holds a training state continues it (``grnlib train --resume``);
    # fit refuses a state of another config or model.
    last = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    result = fit(built.model, built.split["train"], val, features=built.features, config=config,
                 resume_from=last if last is not None and last.is_file() else None, val_halves=val_halves)
    return TrainedRun(model=result.model, result=result, recipe=built.recipe, features=built.features)


def scorers(specs) -> list[RunSpec]:
    """The scorers of a list of runs in the order they are scored: a stack's members before the stack,
    each name once (a name or dict among ``specs`` is resolved here, once)."""
    ordered, seen = [], set()
    for spec in map(as_spec, specs):
        for one in [*spec.members, spec]:
            if one.name not in seen:
                seen.add(one.name)
                ordered.append(one)
    return ordered


def evaluate_split(ds: GRNDataset, split: dict, specs, runtime: Runtime | None = None, *,
                   baselines=(DEGREE_FLOOR,), seed: int | None = None, progress: bool | None = None) -> Evaluation:
    """Score every baseline and train every run on one split; one metrics row per scorer.

    Args:
        ds, split: the dataset and its pair tables (``grnlib.evaluation.protocols.make_split``).
        specs: the runs, :class:`~grnlib.evaluation.spec.RunSpec` as resolved where they entered (a name
            or dict, e.g. a notebook's, is resolved here once); baselines among them are scored like any run.
        runtime: seed (features, model init, shuffling), device, progress bar, checkpoint folder;
            ``seed=``/``progress=`` are its shorthand.
        baselines: scored first, before ``specs`` (the degree floor by default; ``()`` for none; names are
            resolved here).

    Thresholds for accuracy/F1/MCC are chosen on the validation pairs of each scorer; ``val_nested_auroc`` and
    ``val_nested_auprc`` score each scorer with every choice made on the other half of the validation TFs
    (:mod:`grnlib.evaluation.nested`), the footing on which aliases are chosen. A model
    whose spec's ``prior_correction`` applies to this split (:mod:`grnlib.evaluation.correction`)
    is scored with the per-TF base-rate correction under its own name and, as the ablation,
    without it under ``"<name> (uncorrected)"``; column ``prior_correction`` says which row is which.
    """
    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.metrics import auprc, auroc, choose_threshold, evaluate_scores
    from grnlib.evaluation.nested import nested_metrics
    from grnlib.evaluation.protocols import validation_halves
    from grnlib.training.loop import predict_logits

    runtime = runtime_of(runtime, seed, progress)
    seed = runtime.seed
    evaluation = Evaluation(split=split, metrics=pd.DataFrame(), val_half_a=validation_halves(split["val"], seed))
    rows, corrections = [], {}
    for spec in scorers([*baselines, *specs]):
        started = time.perf_counter()
        if spec.kind == "stack":
            rows += stack_rows(spec, ds, split, evaluation, rows, corrections, seed)
            continue
        key = cache.run_key(spec, ds, split, seed)
        entry = cache.load(key)
        hit = entry is not None
        if spec.kind == "baseline":
            if entry is None:
                val = score_baseline(spec.model, ds, split["train"], split["val"], seed=seed)
                test = score_baseline(spec.model, ds, split["train"], split["test"], seed=seed)
                entry = cache.scores_entry(val, test, time.perf_counter() - started)
                cache.store(key, entry)
            val, test = entry["val"].numpy(), entry["test"].numpy()
            chosen = (val, val)  # a baseline chooses nothing on validation
        else:
            if entry is None:
                trained = train_run(ds, split, spec, runtime, val_halves=evaluation.val_half_a)
                # Logits, not probabilities: sigmoid saturates at 1.0 for confident models and ties ranks.
                val = predict_logits(trained.model, split["val"], features=trained.features)
                test = predict_logits(trained.model, split["test"], features=trained.features)
                entry = {**cache.scores_entry(val, test, time.perf_counter() - started, trained.result.val_chosen),
                         **cache.trained_entry(trained.model, trained.result, trained.recipe, trained.features)}
                cache.store(key, entry)
            else:
                trained = TrainedRun(**cache.trained_parts(entry))
            val, test = entry["val"].numpy(), entry["test"].numpy()
            chosen = tuple(entry["val_chosen"].numpy()) if "val_chosen" in entry else None
            evaluation.histories[spec.name] = trained.result.history
            evaluation.models[spec.name] = trained.model
            evaluation.trained[spec.name] = trained
        y_val = split["val"]["label"].to_numpy()
        for name, val, test, chosen, applied in scored_variants(spec, ds, split, val, test, chosen, corrections):
            threshold = choose_threshold(y_val, val)
            metrics = evaluate_scores(split["test"], test, threshold=threshold)
            rows.append({"name": name, "kind": spec.kind, "seed": seed, **metrics,
                         "val_auroc": auroc(y_val, val), "val_auprc": auprc(y_val, val),
                         **nested_metrics(y_val, evaluation.val_half_a, chosen),
                         "threshold": threshold, "prior_correction": applied,
                         "seconds": float(entry["seconds"]), "cached": hit})
            evaluation.val_chosen[name] = chosen
            evaluation.val_scores[name] = val
            evaluation.test_scores[name] = test
    evaluation.metrics = pd.DataFrame(rows)
    return evaluation


def scored_variants(spec: RunSpec, ds: GRNDataset, split: dict, val: np.ndarray, test: np.ndarray,
                    chosen=None, corrections: dict | None = None) -> list[tuple]:
    """``(name, val scores, test scores, nested-validation scores, corrected)`` rows of one scorer: the scores as
    they are, or, when the spec's prior correction applies to the split, the corrected scores under the
    spec's name and the raw ones under ``"<name> (uncorrected)"``; a correction that is the same
    for every validation and test TF (the held-out-TF protocols) changes no metric and is skipped.
    ``chosen``: the scorer's two nested-validation vectors (:mod:`grnlib.evaluation.nested`; None: none),
    corrected like the validation scores. ``corrections`` memoises the correction per mode across the scorers
    of one split."""
    from grnlib.evaluation.correction import UNCORRECTED_SUFFIX

    correction = applied_correction(spec, ds, split, corrections)
    if correction is None:
        return [(spec.name, val, test, chosen, False)]
    chosen_corrected = None if chosen is None else tuple(correction.apply(split["val"], v) for v in chosen)
    return [(spec.name, correction.apply(split["val"], val), correction.apply(split["test"], test), chosen_corrected,
             True), (spec.name + UNCORRECTED_SUFFIX, val, test, chosen, False)]


def applied_correction(spec: RunSpec, ds: GRNDataset, split: dict, corrections: dict | None = None):
    """The spec's prior correction (:mod:`grnlib.evaluation.correction`) when it applies to the split and
    changes a metric, else None; ``corrections`` memoises it per mode across the scorers of one split."""
    from grnlib.evaluation.correction import fit_prior_correction

    mode = spec.prior_correction if spec.kind in ("model", "stack", "control") else False
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


def stack_rows(spec: RunSpec, ds: GRNDataset, split: dict, evaluation: Evaluation, rows: list, corrections: dict,
               seed: int) -> list[dict]:
    """The metrics row of a stacked ensemble whose members are already in ``evaluation``
    (:mod:`grnlib.evaluation.stacking`): members enter as they are evaluated (corrected where their
    prior correction applies), and the stack's logit is not corrected again. ``evaluation.stacks``
    keeps the fitted blend (its weights) by name."""
    from grnlib.evaluation.metrics import auprc, auroc, choose_threshold, evaluate_scores
    from grnlib.evaluation.nested import nested_metrics
    from grnlib.evaluation.stacking import fit_stack, nested_stack

    started = time.perf_counter()
    members = [m.name for m in spec.members]
    y_val = split["val"]["label"].to_numpy()
    stacked = fit_stack(y_val, [evaluation.val_scores[m] for m in members],
                        [evaluation.test_scores[m] for m in members], seed=seed, members=members)
    evaluation.stacks[spec.name] = stacked["fitted"]
    cost = sum(r["seconds"] for r in rows if r["name"] in members) + time.perf_counter() - started
    corrected = any(r["prior_correction"] for r in rows if r["name"] in members)
    val, test = stacked["val"], stacked["test"]
    threshold = choose_threshold(y_val, val)
    evaluation.val_scores[spec.name] = val
    evaluation.test_scores[spec.name] = test
    chosen = nested_stack(y_val, evaluation.val_half_a, [evaluation.val_chosen.get(m) for m in members],
                          members=members)
    evaluation.val_chosen[spec.name] = chosen
    return [{"name": spec.name, "kind": "stack", "seed": seed, **evaluate_scores(split["test"], test, threshold),
             "val_auroc": auroc(y_val, val), "val_auprc": auprc(y_val, val),
             **nested_metrics(y_val, evaluation.val_half_a, chosen), "threshold": threshold,
             "prior_correction": corrected, "seconds": float(cost), "cached": False}]

