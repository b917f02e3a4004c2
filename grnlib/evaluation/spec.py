"""The run spec: what to score and how, resolved once, where input enters, into a frozen :class:`RunSpec`.

A run comes from a name (``"degree"``, ``"phase1"``, ``"expression_two_tower"``) or a dict (a params
YAML section, a notebook's overrides). :func:`resolve_spec` makes it complete and checked, once: the
command line (``grnlib train``, ``grnlib evaluate``), :func:`grnlib.fit`, the sweep cells and the notebooks
(:func:`preset`) resolve their input, and everything downstream (the pipeline
:func:`grnlib.evaluation.experiment.evaluate_split`, the run cache, the trainer) takes the RunSpec as it
is. Its plain-data form (:meth:`RunSpec.to_dict`, what records and params files hold) is::

    {"name": "phase1", "kind": "model", "model": "expression_two_tower", "preset": "phase1",
     "model_cfg": {...}, "train": {...TrainConfig fields...},
     "features": {"kind": "pca", "n_components": 64, "standardize": True} or None,
     "prior_correction": "auto"}

``kind`` is ``"baseline"`` for a registered baseline (scored without training; ``model`` names it),
``"stack"`` for a stacked ensemble (a preset with a ``stack`` list; :attr:`RunSpec.members` are the
members' specs, see :mod:`grnlib.evaluation.stacking`), ``"control"`` for a data transform around a model
(:mod:`grnlib.evaluation.controls`; :attr:`RunSpec.base` is the wrapped model's spec) and ``"model"``
otherwise. ``prior_correction`` (``"auto"``, true, false) says whether the model's logits get the per-TF
base-rate correction (:mod:`grnlib.evaluation.correction`; baselines are never corrected). A dict may name
a preset (``{"preset": "phase3", "train": {"epochs": 5}}`` or ``{"model": "phase3", ...}``) and override
parts of it; sections are merged key by key.

Where and how a run executes (seed, device, threads, progress, checkpoint folder) is not part of the
science: it travels separately as a :class:`Runtime`, so it never enters a spec or its cache key.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from grnlib.errors import DataError
from grnlib.evaluation.controls import CONTROL_PRESETS, CONTROLS
from grnlib.evaluation.presets import PRESETS
from grnlib.features import DEFAULT_FEATURES, feature_options
from grnlib.training.loop import RUNTIME_KEYS

SPEC_KEYS = ("name", "kind", "model", "preset", "model_cfg", "train", "features", "prior_correction")
DATA_SET_CFG = ("name", "n_genes", "in_features")  # model keys that come from the data, not from a spec
KINDS = ("baseline", "model", "stack", "control")


@dataclass(frozen=True)
class Runtime:
    """Where and how runs execute; never part of a run spec or its cache key (the numbers do not depend
    on it: the seed is the cache's own key part).

    Attributes:
        seed: seeds the features, model init, shuffling and dropout (and the split, where a caller makes one).
        device: the training device (``"auto"``, ``"cpu"``, ``"cuda"``, ...).
        threads: CPU threads for torch (None: torch's choice); applied by :meth:`apply_threads`.
        progress: show the training progress bar.
        checkpoint_dir: folder for the training state after every epoch (``last.pt``); a folder that
            already holds one of this run continues it.
    """

    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    progress: bool = False
    checkpoint_dir: str | None = None

    def train_settings(self) -> dict:
        """The :class:`~grnlib.training.loop.TrainConfig` fields this runtime sets."""
        return {"seed": int(self.seed), "device": str(self.device), "progress": bool(self.progress),
                "checkpoint_dir": None if self.checkpoint_dir is None else str(self.checkpoint_dir)}

    def apply_threads(self) -> None:
        """Set torch's CPU threads when :attr:`threads` is given."""
        if self.threads is not None:
            import torch

            torch.set_num_threads(int(self.threads))


#: TrainConfig fields that are run settings (:data:`grnlib.training.loop.RUNTIME_KEYS`, the one list): a
#: :class:`Runtime` sets them (``checkpoint_every`` keeps its default), and a spec's ``train`` section may not.
RUNTIME_TRAIN_KEYS = RUNTIME_KEYS


@dataclass(frozen=True)
class RunSpec(Mapping):
    """A complete, checked run spec (see the module docstring); build it with :func:`resolve_spec` or
    :func:`preset`. Frozen: change one with :meth:`replace`. It reads as a mapping of its plain-data form
    (:meth:`to_dict`: ``spec["train"]``, ``dict(spec)``), for notebooks and records."""

    name: str
    kind: str
    model: str
    preset: str | None = None
    model_cfg: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    features: dict | None = None
    prior_correction: bool | str = False
    members: tuple = ()  # a stack's member specs (RunSpec), scored before the stack
    base: "RunSpec | None" = None  # the model spec a control wraps

    def to_dict(self) -> dict:
        """Plain data (JSON/YAML): the keys of :data:`SPEC_KEYS`; a stack's members under
        ``model_cfg["members"]``, a control's model under ``model_cfg["base"]``."""
        model_cfg = copy.deepcopy(self.model_cfg)
        if self.kind == "stack":
            model_cfg = {"members": [m.to_dict() for m in self.members]}
        elif self.kind == "control":
            model_cfg = {"base": self.base.to_dict()}
        return {"name": self.name, "kind": self.kind, "model": self.model, "preset": self.preset,
                "model_cfg": model_cfg, "train": copy.deepcopy(self.train), "features": copy.deepcopy(self.features),
                "prior_correction": self.prior_correction}

    @classmethod
    def from_dict(cls, values: dict) -> "RunSpec":
        """A RunSpec from its :meth:`to_dict` form (already resolved: nothing is checked)."""
        values = copy.deepcopy(dict(values))
        cfg = values.get("model_cfg") or {}
        if values["kind"] == "stack":
            values.update(model_cfg={}, members=tuple(as_spec(m) for m in cfg["members"]))
        elif values["kind"] == "control":
            values.update(model_cfg={}, base=as_spec(cfg["base"]))
        return cls(**values)

    def key(self) -> str:
        """What makes two runs the same science: every field but the name, as a hash (the run cache's
        key part; :func:`grnlib.evaluation.cache.run_key` adds the data, split, seed and code)."""
        science = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.blake2b(json.dumps(science, sort_keys=True, default=str).encode(), digest_size=20).hexdigest()

    def replace(self, **changes) -> "RunSpec":
        """A copy with ``changes`` (fields), e.g. ``spec.replace(name="short")``."""
        return dataclasses.replace(self, **changes)

    def __getitem__(self, key: str):
        if key not in SPEC_KEYS:
            raise KeyError(key)
        return self.to_dict()[key]

    def __iter__(self):
        return iter(SPEC_KEYS)

    def __len__(self):
        return len(SPEC_KEYS)

    def __hash__(self):
        return hash(self.key() + self.name)


#: The degree floor, scored beside every run (:func:`grnlib.evaluation.experiment.evaluate_split`'s default).
DEGREE_FLOOR = RunSpec(name="degree", kind="baseline", model="degree")


def valid_names() -> list[str]:
    """Every name :func:`resolve_spec` accepts: baselines, presets, controls, registered models."""
    from grnlib.evaluation.baselines import BASELINES
    from grnlib.models import MODELS

    return sorted(set(BASELINES.names()) | set(PRESETS) | set(CONTROL_PRESETS) | set(MODELS.names()))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def as_spec(run) -> RunSpec:
    """``run`` when it is a RunSpec, else :func:`resolve_spec` of it (a name or a dict, resolved here once)."""
    return run if isinstance(run, RunSpec) else resolve_spec(run)


def resolve_spec(run, *, epochs: int | None = None, source=None) -> RunSpec:
    """A complete :class:`RunSpec` from a name, a partial dict or a RunSpec (see the module docstring).

    Args:
        run: a baseline, preset, control or model name, or a dict with ``model`` or ``preset`` and any of
            ``name``, ``model_cfg``, ``train``, ``features``, ``prior_correction`` (overrides of the preset),
            or a RunSpec (returned as it is unless ``epochs`` changes it).
        epochs: overrides the training epochs (of a stack's or control's models too).
        source: the file the spec came from, named in errors (a params YAML).

    Raises:
        DataError naming ``source`` for an unknown name, key or value (lists the valid ones).
    """
    from grnlib.evaluation.baselines import BASELINES
    from grnlib.models import MODELS, reads_expression
    from grnlib.training.loop import TrainConfig
    from grnlib.training.losses import build_loss

    if isinstance(run, RunSpec):
        if epochs is None:
            return run
        run = run.to_dict()
    if isinstance(run, dict) and set(run) == set(SPEC_KEYS) and epochs is None and run.get("kind") in KINDS:
        return RunSpec.from_dict(run)  # its plain-data form, already resolved
    overrides = {"model": run} if isinstance(run, str) else copy.deepcopy(dict(run or {}))
    unknown = sorted(set(overrides) - set(SPEC_KEYS))
    if unknown:
        raise DataError(source, f"unknown run spec key(s) {unknown}", f"use only {list(SPEC_KEYS[2:])}")
    name = overrides.get("preset") or overrides.get("model")
    if not name:
        raise DataError(source, "no model given", "name a model, preset or baseline (e.g. phase1, degree)")
    if name in BASELINES:
        return RunSpec(name=overrides.get("name", name), kind="baseline", model=name)
    if name in PRESETS and "stack" in PRESETS[name]:
        return _stack_spec(name, overrides, source, epochs=epochs)
    if name in CONTROL_PRESETS and "control" in CONTROL_PRESETS[name]:  # a data transform around a model
        return _control_spec(name, overrides, source, epochs=epochs)
    if name in PRESETS or name in CONTROL_PRESETS:
        base = copy.deepcopy(PRESETS.get(name) or CONTROL_PRESETS[name])
        preset_name = name
    elif name in MODELS:
        base, preset_name = {"model": name}, None
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
    features = overrides["features"] if "features" in overrides else base.get("features")
    if features is None and reads_expression(model, model_cfg):  # as the model family declared it
        features = dict(DEFAULT_FEATURES)
    if features:
        try:
            features = feature_options(features)
        except ValueError as exc:
            raise DataError(source, f"invalid features section ({exc})", "fix the 'features' section") from None
    return RunSpec(name=overrides.get("name", preset_name or model), kind="model", model=model, preset=preset_name,
                   model_cfg=model_cfg, train=train, features=features or None,
                   prior_correction=_correction(overrides, base, source))


def _correction(overrides: dict, base: dict, source):
    from grnlib.evaluation.correction import check_mode

    return check_mode(overrides.get("prior_correction", base.get("prior_correction", "auto")), source)


def _stack_spec(name: str, overrides: dict, source, epochs=None) -> RunSpec:
    """A stacked ensemble (:mod:`grnlib.evaluation.stacking`); its members are resolved here (with
    the same ``epochs``) into :attr:`RunSpec.members`."""
    base = PRESETS[name]
    members = list((overrides.get("model_cfg") or {}).get("members") or base["stack"])
    resolved = all(isinstance(m, RunSpec) and m.kind in ("model", "baseline")
                   or isinstance(m, dict) and m.get("kind") in ("model", "baseline") for m in members)
    unknown = [] if resolved else [m for m in members if not isinstance(m, str) or m not in valid_names()
                                   or (m in PRESETS and "stack" in PRESETS[m])]
    if unknown or len(members) < 2:
        raise DataError(source, f"stack {name!r} needs at least two member names that are models, presets or "
                        f"baselines (not stacks); got {members}", f"choose members from: {', '.join(valid_names())}")
    return RunSpec(name=overrides.get("name", name), kind="stack", model=name, preset=name,
                   members=tuple(resolve_spec(m, epochs=epochs, source=source) for m in members),
                   prior_correction=_correction(overrides, base, source))


def _control_spec(name: str, overrides: dict, source=None, epochs=None) -> RunSpec:
    """A wrapping control (:mod:`grnlib.evaluation.controls`): kind ``"control"``, ``model`` the transform
    and :attr:`RunSpec.base` the wrapped model's spec (``overrides`` other than ``name`` apply to it). Its
    prior correction is the base's."""
    control = CONTROL_PRESETS[name]
    if overrides.get("kind") == "control":  # a resolved control spec, resolved again (e.g. with fewer epochs)
        base = resolve_spec(overrides["model_cfg"]["base"], epochs=epochs, source=source)
    else:
        inner = {k: v for k, v in copy.deepcopy(overrides).items() if k not in ("name", "model", "preset")}
        base = resolve_spec({"preset": control["of"], **inner}, epochs=epochs, source=source)
    return RunSpec(name=overrides.get("name", name), kind="control", model=control["control"], preset=name,
                   base=base, prior_correction=base.prior_correction)


def resolve_specs(runs, *, epochs: int | None = None, source=None) -> list[RunSpec]:
    """:func:`resolve_spec` for each of ``runs`` (names, dicts or RunSpecs); repeated names are dropped."""
    specs, seen = [], set()
    for run in runs:
        spec = resolve_spec(run, epochs=epochs, source=source)
        if spec.name not in seen:
            seen.add(spec.name)
            specs.append(spec)
    return specs


def preset(name: str, epochs: int | None = None, **train_overrides) -> RunSpec:
    """Preset ``name`` (:data:`grnlib.evaluation.presets.PRESETS`) as a RunSpec, optionally with fewer
    epochs or other training changes (``preset("phase3", epochs=5, lr=1e-3)``)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}. Valid presets: {', '.join(sorted(PRESETS))}")
    return resolve_spec({"preset": name, "train": train_overrides}, epochs=epochs)


def needs_expression(run) -> bool:
    """True when the run (a name, dict or RunSpec) cannot score a dataset without expression."""
    from grnlib.evaluation.baselines import BASELINES

    spec = as_spec(run)
    if spec.kind == "stack":
        return any(needs_expression(member) for member in spec.members)
    if spec.kind == "control":
        return CONTROLS.info(spec.model).needs_expression or needs_expression(spec.base)
    if spec.kind == "baseline":
        return BASELINES.info(spec.model).needs_expression
    return bool(spec.features)


def check_expression(ds, runs) -> None:
    """DataError naming the runs that need expression when ``ds`` has none."""
    needing = [r if isinstance(r, str) else as_spec(r).name for r in runs if needs_expression(r)]
    if needing and not ds.has_expression:
        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression data, which "
                        f"{needing} need", "drop those models (degree, random and embedding models such "
                        "as baseline/phase2/phase3/phase4 run anywhere) or pick a dataset with "
                        "has_expression=True in `grnlib datasets`")
