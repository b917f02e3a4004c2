"""The run spec: what to score and how, as plain data, and the one resolver that makes it complete.

A *run spec* comes from a name (``"degree"``, ``"phase1"``, ``"expression_two_tower"``) or a dict
(a params YAML section, a notebook's overrides) and resolves to::

    {"name": "phase1", "kind": "model", "model": "expression_two_tower", "preset": "phase1",
     "model_cfg": {...}, "train": {...TrainConfig fields...},
     "features": {"kind": "pca", "n_components": 64, "standardize": True} or None,
     "prior_correction": "auto"}

``kind`` is ``"baseline"`` for a registered baseline (scored without training; ``model`` names it),
``"stack"`` for a stacked ensemble (a preset with a ``stack`` list; ``model_cfg["members"]`` names
the members, see :mod:`grnlib.evaluation.stacking`) and ``"model"`` otherwise. ``prior_correction`` (``"auto"``, true, false) says whether the
model's logits get the per-TF base-rate correction (:mod:`grnlib.evaluation.correction`;
baselines are never corrected, their value is False). A dict may name a preset (``{"preset": "phase3", "train": {"epochs": 5}}``
or ``{"model": "phase3", ...}``) and override parts of it; sections are merged key by key. Every
caller (``grnlib train``, ``grnlib evaluate``, sweep cells, notebooks) resolves through
:func:`resolve_spec` and runs through :func:`grnlib.evaluation.experiment.evaluate_split`.
"""
from __future__ import annotations

import copy

from grnlib.errors import DataError
from grnlib.features import DEFAULT_FEATURES, feature_options

SPEC_KEYS = ("name", "kind", "model", "preset", "model_cfg", "train", "features", "prior_correction")
DATA_SET_CFG = ("name", "n_genes", "in_features")  # model keys that come from the data, not from a spec
RUNTIME_TRAIN_KEYS = ("seed", "progress", "checkpoint_dir", "checkpoint_every")  # set per run, never in a spec


def valid_names() -> list[str]:
    """Every name :func:`resolve_spec` accepts: baselines, presets, registered models."""
    from grnlib.evaluation.baselines import BASELINES
    from grnlib.evaluation.controls import CONTROL_PRESETS
    from grnlib.evaluation.presets import PRESETS
    from grnlib.models import MODELS

    return sorted(set(BASELINES.names()) | set(PRESETS) | set(CONTROL_PRESETS) | set(MODELS.names()))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def resolve_spec(run, *, epochs: int | None = None, device: str | None = None, source=None) -> dict:
    """A complete run spec from a name or a partial dict (see the module docstring).

    Args:
        run: a baseline, preset or model name, or a dict with ``model`` or ``preset`` and any of
            ``name``, ``model_cfg``, ``train``, ``features``, ``prior_correction`` (overrides of the preset).
        epochs: overrides the training epochs.
        device: the training device (``"cpu"``, ``"cuda"``, ``"auto"``); not part of the science.
        source: the file the spec came from, named in errors (a params YAML).

    Raises:
        DataError naming ``source`` for an unknown name, key or value (lists the valid ones).
    """
    from grnlib.evaluation.baselines import BASELINES
    from grnlib.evaluation.presets import PRESETS
    from grnlib.models import MODELS
    from grnlib.training.loop import TrainConfig
    from grnlib.training.losses import build_loss

    if isinstance(run, dict) and set(run) == set(SPEC_KEYS) and epochs is None and device is None:
        return copy.deepcopy(run)  # already resolved
    overrides = {"model": run} if isinstance(run, str) else copy.deepcopy(dict(run or {}))
    unknown = sorted(set(overrides) - set(SPEC_KEYS))
    if unknown:
        raise DataError(source, f"unknown run spec key(s) {unknown}", f"use only {list(SPEC_KEYS[2:])}")
    name = overrides.get("preset") or overrides.get("model")
    if not name:
        raise DataError(source, "no model given", "name a model, preset or baseline (e.g. phase1, degree)")
    if name in BASELINES:
        return {"name": overrides.get("name", name), "kind": "baseline", "model": name, "preset": None,
                "model_cfg": {}, "train": {}, "features": None, "prior_correction": False}
    if name in PRESETS and "stack" in PRESETS[name]:
        return _stack_spec(name, overrides, source, epochs=epochs, device=device)
    from grnlib.evaluation.controls import CONTROL_PRESETS, control_spec

    if name in CONTROL_PRESETS and "control" in CONTROL_PRESETS[name]:  # a data transform around a model
        return control_spec(name, overrides, source, epochs=epochs, device=device)
    if name in PRESETS or name in CONTROL_PRESETS:
        base = copy.deepcopy(PRESETS.get(name) or CONTROL_PRESETS[name])
        preset = name
    elif name in MODELS:
        base, preset = {"model": name}, None
    else:
        raise DataError(source, f"unknown model {name!r}", f"choose one of: {', '.join(valid_names())}")
    model = base["model"]
    model_cfg = {**base.get("model_cfg", {}), **(overrides.get("model_cfg") or {})}
    bad = sorted(set(model_cfg) - set(MODELS.valid_keys(model)) | set(model_cfg) & set(DATA_SET_CFG))
    if bad:
        raise DataError(source, f"unknown model_cfg key(s) {bad} for model {model!r}",
                        f"use keys from {[k for k in MODELS.valid_keys(model) if k not in DATA_SET_CFG]}")
    train = {**base.get("train", {}), **(overrides.get("train") or {})}
    runtime = sorted(set(overrides.get("train") or {}) & set(RUNTIME_TRAIN_KEYS))
    if runtime:
        raise DataError(source, f"train key(s) {runtime} are run settings, not part of a run spec",
                        "set the seed, device and checkpoints with the command-line flags or function arguments")
    if epochs is not None:
        train["epochs"] = int(epochs)
        if "warmup_epochs" in train:  # a shortened run keeps warm-up to an eighth of it
            train["warmup_epochs"] = min(train["warmup_epochs"], max(1, train["epochs"] // 8))
    try:
        checked = TrainConfig.from_dict(train)
        build_loss(checked.loss, **checked.loss_kwargs)  # loss options are only checked when built
    except (ValueError, TypeError) as exc:
        raise DataError(source, f"invalid train settings ({_one_line(exc)})", "fix the 'train' section") from None
    if device is not None:
        train["device"] = device
    reads_expression = {**MODELS.defaults(model), **model_cfg}.get("inputs", "embedding") in ("expression", "hybrid")
    features = overrides["features"] if "features" in overrides else base.get("features")
    if features is None and reads_expression:
        features = dict(DEFAULT_FEATURES)
    if features:
        try:
            features = feature_options(features)
        except ValueError as exc:
            raise DataError(source, f"invalid features section ({exc})", "fix the 'features' section") from None
    from grnlib.evaluation.correction import check_mode

    correction = check_mode(overrides.get("prior_correction", base.get("prior_correction", "auto")), source)
    return {"name": overrides.get("name", preset or model), "kind": "model", "model": model, "preset": preset,
            "model_cfg": model_cfg, "train": train, "features": features or None, "prior_correction": correction}


def _stack_spec(name: str, overrides: dict, source, epochs=None, device=None) -> dict:
    """A stacked ensemble (:mod:`grnlib.evaluation.stacking`); its members are resolved here (with
    the same ``epochs`` and ``device``) and kept in ``model_cfg["members"]``."""
    from grnlib.evaluation.correction import check_mode
    from grnlib.evaluation.presets import PRESETS

    base = PRESETS[name]
    members = list((overrides.get("model_cfg") or {}).get("members") or base["stack"])
    resolved = all(isinstance(m, dict) and m.get("kind") in ("model", "baseline") for m in members)
    unknown = [] if resolved else [m for m in members if not isinstance(m, str) or m not in valid_names()
                                   or (m in PRESETS and "stack" in PRESETS[m])]
    if unknown or len(members) < 2:
        raise DataError(source, f"stack {name!r} needs at least two member names that are models, presets or "
                        f"baselines (not stacks); got {members}", f"choose members from: {', '.join(valid_names())}")
    members = [resolve_spec(m, epochs=epochs, device=device, source=source) for m in members]
    correction = check_mode(overrides.get("prior_correction", base.get("prior_correction", "auto")), source)
    return {"name": overrides.get("name", name), "kind": "stack", "model": name, "preset": name,
            "model_cfg": {"members": members}, "train": {}, "features": None, "prior_correction": correction}


def resolve_specs(runs, *, epochs: int | None = None, device: str | None = None, source=None) -> list[dict]:
    """:func:`resolve_spec` for each of ``runs`` (names or dicts); repeated names are dropped."""
    specs, seen = [], set()
    for run in runs:
        spec = resolve_spec(run, epochs=epochs, device=device, source=source)
        if spec["name"] not in seen:
            seen.add(spec["name"])
            specs.append(spec)
    return specs


def needs_expression(run) -> bool:
    """True when the run (name or spec) cannot score a dataset without expression."""
    from grnlib.evaluation.baselines import BASELINES

    spec = run if isinstance(run, dict) and "kind" in run else resolve_spec(run)
    if spec["kind"] == "stack":
        return any(needs_expression(member) for member in spec["model_cfg"]["members"])
    if spec["kind"] == "control":
        from grnlib.evaluation.controls import CONTROLS

        return CONTROLS.info(spec["model"]).needs_expression or needs_expression(spec["model_cfg"]["base"])
    if spec["kind"] == "baseline":
        return BASELINES.info(spec["model"]).needs_expression
    return bool(spec["features"])


def check_expression(ds, runs) -> None:
    """DataError naming the runs that need expression when ``ds`` has none."""
    needing = [r if isinstance(r, str) else r["name"] for r in runs if needs_expression(r)]
    if needing and not ds.has_expression:
        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression data, which "
                        f"{needing} need", "drop those models (degree, random and embedding models such "
                        "as baseline/phase2/phase3/phase4 run anywhere) or pick a dataset with "
                        "has_expression=True in `grnlib datasets`")
