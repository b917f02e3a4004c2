"""One training loop for every model: ``fit(model, train_pairs, val_pairs, features, config)``.
(Longer than most modules on purpose: config, loop, early stopping and resumable checkpoints share
state that must round-trip exactly; split apart they would pass it through many arguments.)

What it does, top to bottom:

- seeds everything from ``config.seed`` (model init too, when ``model`` is given as a config
  dict), so on CPU the same seed gives the same history bit for bit;
- keeps the pair table as tensors on the device and shuffles with a seeded
  ``torch.Generator`` (no DataLoader, no per-item Python work);
- per optimizer step: loss, backward, clip by global norm, step, per-step LR schedule;
- per epoch: validation AUROC/AUPRC (sklearn, on logits so saturated sigmoids make no ties),
  a history row, early stopping on a validation metric, an optional checkpoint;
- at the end the weights of the best validation epoch are restored.

A checkpoint holds the model config and weights, optimizer and scheduler state, RNG states,
the epoch, the history and the early-stopping state, so ``fit(..., resume_from=path)``
continues an interrupted run to the same final result. Mixed precision (bfloat16 autocast)
is used only on CUDA; on CPU everything is float32.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from scipy.special import expit
from sklearn.metrics import average_precision_score, roc_auc_score
from tqdm import tqdm

from grnlib.training.checkpoint import load_checkpoint, save_checkpoint
from grnlib.errors import DataError
from grnlib.training.losses import LOSSES, build_loss
from grnlib.models import build_model
from grnlib.registry import ConfigError
from grnlib.training.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler, clip_gradients

METRIC_MODES = {"val_auroc": "max", "val_auprc": "max", "val_loss": "min"}
HISTORY_COLUMNS = ["epoch", "loss", "val_loss", "val_auroc", "val_auprc", "lr", "time_s"]
CHECKPOINT_NAME = "last.pt"
#: Early stopping of ``grnlib train`` and ``grnlib.fit`` when a recipe has none (the study's presets
#: train a fixed number of epochs so that their curves compare): stop after this many epochs without
#: a better validation AUROC, keeping the best epoch's weights. On the README example (hHEP TFs+1000,
#: TRRUST, phase1) validation peaks at epoch 8 of 40.
USER_PATIENCE = 5
#: The TrainConfig fields that are run settings, not science: where and how a run executes (set from a
#: grnlib.evaluation.spec.Runtime, never by a run spec).
RUNTIME_KEYS = ("seed", "device", "progress", "checkpoint_dir", "checkpoint_every")
# Settings that may differ between an interrupted run and its resumption without changing results.
RESUME_FREE_KEYS = set(RUNTIME_KEYS) - {"seed"} | {"amp"}


@dataclass
class TrainConfig:
    """Everything ``fit`` needs, as plain data (YAML/JSON friendly).

    Attributes:
        epochs: maximum number of passes over the training pairs.
        batch_size: pairs per optimizer step.
        lr: peak learning rate.
        optimizer: ``"adamw"``, ``"sgd"`` or ``"sgd_momentum"`` (see grnlib.training.optim).
        momentum: passed to SGD optimizers when set; None keeps the optimizer's default
            (0 for ``sgd``, 0.9 for ``sgd_momentum``). An error for ``adamw``.
        weight_decay: applied to weight matrices and embeddings only.
        scheduler: ``"warmup_cosine"`` or ``"constant"``; stepped once per optimizer step.
        warmup_epochs: linear warm-up length, in epochs (converted to steps).
        min_lr_ratio: cosine floor as a fraction of ``lr``.
        loss: ``"bce"``, ``"focal"`` or ``"weighted_bce"``; ``loss_kwargs`` go to it
            (e.g. ``{"alpha": 0.25, "gamma": 2.0}``, ``{"pos_weight": "auto"}``).
        clip_norm: max global gradient norm; None disables clipping.
        early_stopping_patience: epochs without improvement before stopping; None disables
            (the best validation epoch is still restored at the end).
        early_stopping_metric: ``"val_auroc"``, ``"val_auprc"`` (higher is better) or
            ``"val_loss"`` (lower is better).
        early_stopping_min_delta: improvement smaller than this does not count.
        seed: seeds model init (for config-dict models), shuffling and dropout.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        amp: bfloat16 autocast on CUDA (ignored on CPU).
        progress: tqdm bar over epochs; also off whenever the environment variable CI is set.
        eval_batch_size: pairs per forward pass when validating/predicting.
        checkpoint_dir: folder for ``last.pt``; None writes no checkpoints.
        checkpoint_every: save every this many epochs (and always after the last one).
    """

    epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adamw"
    momentum: float | None = None
    weight_decay: float = 1e-4
    scheduler: str = "warmup_cosine"
    warmup_epochs: int = 5
    min_lr_ratio: float = 0.01
    loss: str = "bce"
    loss_kwargs: dict = field(default_factory=dict)
    clip_norm: float | None = 1.0
    early_stopping_patience: int | None = 10
    early_stopping_metric: str = "val_auroc"
    early_stopping_min_delta: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    progress: bool = True
    eval_batch_size: int = 8192
    checkpoint_dir: str | None = None
    checkpoint_every: int = 1

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.eval_batch_size < 1:
            raise ValueError("epochs, batch_size and eval_batch_size must be >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.warmup_epochs < 0 or self.checkpoint_every < 1:
            raise ValueError("warmup_epochs must be >= 0 and checkpoint_every >= 1")
        for value, registry in ((self.optimizer, OPTIMIZERS), (self.scheduler, SCHEDULERS),
                                (self.loss, LOSSES)):
            registry[value]  # raises ConfigError listing valid names
        if self.early_stopping_metric not in METRIC_MODES:
            raise ConfigError(f"unknown early_stopping_metric {self.early_stopping_metric!r}. "
                              f"Valid: {', '.join(METRIC_MODES)}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError("early_stopping_patience must be >= 1 or None")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = str(self.checkpoint_dir)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build from a plain dict (e.g. a params YAML); unknown keys raise ConfigError."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(f"unknown TrainConfig key(s) {unknown}. Valid keys: {', '.join(valid)}")
        for f in fields(cls):
            if f.name in values:
                _check_type(f.name, values[f.name], str(f.type))
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)


def user_patience(train: dict, patience: int | None = None, *, set_in_params: bool = False) -> dict:
    """The ``train`` settings of a user's run with early stopping on by default.

    ``patience``: ``None`` keeps the recipe's own patience (``set_in_params``: the user's params
    chose it, even ``null``) and otherwise sets :data:`USER_PATIENCE`; ``0`` turns early stopping
    off (all epochs run); ``N`` stops after N epochs without improvement. The best validation epoch's
    weights are restored either way. Only ``grnlib train`` and ``grnlib.fit`` call this: the
    benchmark and the notebooks train their recipes as written.
    """
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 0):
        raise DataError(None, f"patience must be a whole number >= 0, got {patience!r}",
                        "pass 0 to train every epoch, or N to stop after N epochs without improvement")
    train = dict(train)
    if patience is not None:
        train["early_stopping_patience"] = patience or None
    elif not set_in_params and train.get("early_stopping_patience", USER_PATIENCE) is None:
        train["early_stopping_patience"] = USER_PATIENCE
    return train


# What a YAML value of each annotated type may be (int for float: YAML writes 1e-3 as a float, 10 as an int).
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,)}


def _check_type(key: str, value, annotation: str) -> None:
    """TypeError naming ``key`` when ``value`` is not of the field's type: a quoted number in a params
    file (``lr: "0.01"``) would otherwise fail later with an unrelated comparison error."""
    kinds = [k.strip() for k in annotation.split("|")]
    if value is None and "None" in kinds:
        return
    allowed = tuple(t for k in kinds for t in _TYPES.get(k, (object,)))
    if isinstance(value, allowed) and not (isinstance(value, bool) and "bool" not in kinds):
        return
    expected = " or ".join("null" if k == "None" else {"int": "a whole number", "float": "a number"}.get(k, k)
                           for k in kinds)
    quoted = isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).replace("e-", "", 1).isdigit()
    hint = "; write it without quotes" if quoted else ""
    raise TypeError(f"train.{key} is {value!r} ({type(value).__name__}), expected {expected}{hint}")


class EarlyStopping:
    """Track a validation metric; say when ``patience`` epochs passed without improvement and
    keep a copy of the best weights.

    ``step(value, epoch, model)`` returns True when training should stop. A NaN value never
    counts as an improvement. ``patience=None`` never stops but still tracks the best epoch.
    """

    def __init__(self, patience: int | None, mode: str = "max", min_delta: float = 0.0):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.patience, self.mode, self.min_delta = patience, mode, float(min_delta)
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def improved(self, value: float) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.best_value is None:
            return True
        if self.mode == "max":
            return value > self.best_value + self.min_delta
        return value < self.best_value - self.min_delta

    def step(self, value: float, epoch: int, model: nn.Module) -> bool:
        if self.improved(value):
            self.best_value, self.best_epoch, self.bad_epochs = float(value), int(epoch), 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        return self.patience is not None and self.bad_epochs >= self.patience

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights into ``model``; False when no epoch ever improved."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict:
        return {"best_value": self.best_value, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs, "best_state": self.best_state}

    def load_state_dict(self, state: dict) -> None:
        self.best_value, self.best_epoch = state["best_value"], state["best_epoch"]
        self.bad_epochs, self.best_state = state["bad_epochs"], state["best_state"]


@dataclass
class FitResult:
    """What ``fit`` returns. ``model`` holds the best-validation weights (or the last ones when
    there was no validation set); ``history`` has one row per epoch with columns
    epoch, loss, val_loss, val_auroc, val_auprc, lr (LR of the epoch's last step), time_s."""

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int | None
    best_value: float | None
    stopped_early: bool
    config: TrainConfig
    device: str
    checkpoint_path: Path | None = None
    # Nested validation (``fit(val_halves=...)``): the raw validation logits at the epoch with the best
    # AUROC on half A and on half B (:mod:`grnlib.evaluation.nested`); None without halves.
    val_chosen: tuple[np.ndarray, np.ndarray] | None = None


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) global RNGs."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to torch.device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def progress_enabled(progress: bool) -> bool:
    """Progress bars show only when asked for and not under CI (env var CI set)."""
    return bool(progress) and not os.environ.get("CI")


# -- inputs ---------------------------------------------------------------------------------
def _pair_arrays(pairs, need_labels: bool) -> tuple[np.ndarray, ...]:
    """A pair table (DataFrame tf, target[, label]) or a tuple of arrays -> int64 arrays."""
    if isinstance(pairs, pd.DataFrame):
        need = ["tf", "target"] + (["label"] if need_labels else [])
        missing = [c for c in need if c not in pairs.columns]
        if missing:
            raise DataError(None, f"pair table lacks column(s) {missing} "
                                  f"(has {list(pairs.columns)})",
                            "pass a DataFrame with int columns tf, target and 0/1 label")
        arrays = [pairs[c].to_numpy() for c in need]
    else:
        arrays = [np.asarray(a) for a in pairs]
        if len(arrays) < (3 if need_labels else 2):
            raise DataError(None, "pairs must be (tf, target, label) arrays or a pair table",
                            "pass a DataFrame with columns tf, target, label")
        arrays = arrays[:3] if need_labels else arrays[:2]
    tf, target = (np.asarray(a, dtype=np.int64) for a in arrays[:2])
    if tf.shape != target.shape or tf.ndim != 1:
        raise DataError(None, f"tf and target ids must be 1-d of equal length, got "
                              f"{tf.shape} and {target.shape}", "pass one row per pair")
    if len(tf) and min(tf.min(), target.min()) < 0:
        raise DataError(None, "negative gene ids in pairs", "gene ids are positions in ds.genes")
    if not need_labels:
        return tf, target
    label = np.asarray(arrays[2])
    if len(label) and not np.isin(label, (0, 1)).all():
        raise DataError(None, f"labels must be 0/1, got values {np.unique(label)[:5]}",
                        "encode positives as 1 and negatives as 0")
    return tf, target, label.astype(np.float32)


def _features_tensor(features, device: torch.device) -> torch.Tensor | None:
    """np.ndarray / tensor [n_genes, d] -> float32 tensor on ``device`` (None stays None)."""
    if features is None:
        return None
    x = torch.as_tensor(np.asarray(features, dtype=np.float32) if not torch.is_tensor(features)
                        else features).to(device=device, dtype=torch.float32)
    if x.dim() != 2:
        raise ValueError(f"features must be [n_genes, d], got shape {tuple(x.shape)}")
    return x


def _check_ids(model: nn.Module, features: torch.Tensor | None, *id_arrays: np.ndarray) -> None:
    limits = [int(n) for n in (model.config.get("n_genes"),
                                None if features is None else features.shape[0]) if n]
    if not limits:
        return
    limit = min(limits)
    top = max((int(a.max()) for a in id_arrays if len(a)), default=-1)
    if top >= limit:
        raise ValueError(f"gene id {top} is out of range: the model/features cover {limit} genes; "
                         "build the model with n_genes=ds.n_genes and features for every gene")


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _logits(model: nn.Module, tf: torch.Tensor, target: torch.Tensor,
            features: torch.Tensor | None, batch_size: int) -> torch.Tensor:
    """Eval-mode logits [N] (float32) in batches of ``batch_size``."""
    was_training = model.training
    model.eval()
    try:
        out = [model(tf[i:i + batch_size], target[i:i + batch_size], features).float()
               for i in range(0, len(tf), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, device=tf.device)


def predict_logits(model: nn.Module, pairs, features=None, batch_size: int = 8192) -> np.ndarray:
    """Logits for a pair table (or ``(tf, target)`` arrays) -> float64 array [N], on the
    model's device, in eval mode. Rank-equivalent to probabilities without saturation ties."""
    device = _model_device(model)
    tf, target = _pair_arrays(pairs, need_labels=False)
    feats = _features_tensor(features, device)
    _check_ids(model, feats, tf, target)
    logits = _logits(model, torch.from_numpy(tf).to(device), torch.from_numpy(target).to(device),
                     feats, batch_size)
    return logits.double().cpu().numpy()


def predict_proba(model: nn.Module, pairs, features=None, batch_size: int = 8192) -> np.ndarray:
    """P(edge) for a pair table (or ``(tf, target)`` arrays) -> float64 array [N] in [0, 1].

    Beyond |logit| ~ 37 a float64 sigmoid is exactly 0 or 1; dot-product models with a small
    temperature get there, so rank with :func:`predict_logits` when ties would matter (AUROC).
    """
    return expit(predict_logits(model, pairs, features, batch_size))


def _val_metrics(y: np.ndarray, logits: np.ndarray) -> tuple[float, float]:
    if len(np.unique(y)) < 2:
        return float("nan"), float("nan")  # AUROC/AUPRC undefined with one class
    return float(roc_auc_score(y, logits)), float(average_precision_score(y, logits))


# -- the loop -------------------------------------------------------------------------------
def fit(model: nn.Module | dict, train_pairs, val_pairs=None, features=None,
        config: TrainConfig | None = None, *, resume_from: str | Path | None = None,
        on_epoch_end: Callable[[dict], None] | None = None, val_halves=None) -> FitResult:
    """Train ``model`` on a pair table and return it with its history.

    Args:
        model: a grnlib model, or its config dict (built after seeding, so init is seeded too).
        train_pairs: pair table (tf, target, label) of training pairs.
        val_pairs: pair table for validation metrics, early stopping and best-epoch restore;
            None trains for ``config.epochs`` and keeps the last weights. An ``offset`` column
            (float logits, e.g. the per-TF prior correction) is added to the logits the validation
            metrics read, so early stopping sees the scores that will be evaluated.
        features: per-gene expression features [n_genes, d] (np.ndarray or tensor) for models
            that read them.
        config: a :class:`TrainConfig` (defaults when None).
        resume_from: a checkpoint written by an earlier ``fit`` with the same config: training
            continues after its epoch and ends with the result an uninterrupted run would have.
        on_epoch_end: called with each epoch's history row (a dict) after its checkpoint is saved.
        val_halves: boolean mask over the validation pairs (half A; the rest is half B): the result's
            ``val_chosen`` keeps the raw validation logits of the epoch that is best on each half, so each
            half can be scored by an epoch chosen on the other (nested validation; after a resume, the
            epochs since the resume).

    Returns:
        :class:`FitResult`.
    """
    config = config or TrainConfig()
    device = resolve_device(config.device)
    if resume_from is None:
        seed_everything(config.seed)
    if isinstance(model, dict):
        model = build_model(**model)
    model.to(device)
    feats = _features_tensor(features, device)
    if model.uses_features and feats is None:
        raise ValueError(f"model {model.config['name']!r} reads expression features: pass "
                         "features=grnlib.features.gene_features(ds, ...)")

    tf_np, target_np, y_np = _pair_arrays(train_pairs, need_labels=True)
    if len(tf_np) == 0:
        raise DataError(None, "no training pairs", "pass a non-empty training pair table")
    val = _pair_arrays(val_pairs, need_labels=True) if val_pairs is not None else None
    _check_ids(model, feats, tf_np, target_np, *(val[:2] if val else ()))
    tf, target, y = (torch.from_numpy(a).to(device) for a in (tf_np, target_np, y_np))
    if val is not None:
        val_tf, val_target = (torch.from_numpy(a).to(device) for a in val[:2])
        val_y_np, val_y = val[2], torch.from_numpy(val[2]).to(device)
        val_offset = None
        if isinstance(val_pairs, pd.DataFrame) and "offset" in val_pairs.columns:
            val_offset = torch.as_tensor(val_pairs["offset"].to_numpy(np.float64), dtype=torch.float32, device=device)

    loss_fn = build_loss(config.loss, **config.loss_kwargs)
    if hasattr(loss_fn, "adapt"):
        loss_fn.adapt(y)
    n = len(tf)
    steps_per_epoch = math.ceil(n / config.batch_size)
    optimizer = build_optimizer(config.optimizer, model,
                                **_optimizer_kwargs(config))
    scheduler = build_scheduler(config.scheduler, optimizer, **_scheduler_kwargs(config, steps_per_epoch))
    stopper = EarlyStopping(config.early_stopping_patience,
                            METRIC_MODES[config.early_stopping_metric],
                            config.early_stopping_min_delta) if val is not None else None
    shuffle = torch.Generator().manual_seed(config.seed)
    rows: list[dict] = []
    start_epoch, finished, stopped_early = 0, False, False
    halves = None
    if val is not None and val_halves is not None:
        half_a = np.asarray(val_halves, dtype=bool)
        if half_a.shape != val_y_np.shape:
            raise ValueError(f"val_halves has {half_a.size} entries for {val_y_np.size} validation pairs")
        halves = {"masks": (half_a, ~half_a), "best": [-np.inf, -np.inf], "logits": [None, None]}

    if resume_from is not None:
        ckpt = load_checkpoint(resume_from, map_location="cpu")
        _check_resume(ckpt, config, model, resume_from)
        model.load_state_dict(ckpt["model_state"])
        optimizer.load_state_dict(ckpt["optimizer_state"])
        scheduler.load_state_dict(ckpt["scheduler_state"])
        if stopper is not None and ckpt["early_stopping"] is not None:
            state = dict(ckpt["early_stopping"])
            if state["best_state"] is not None:
                state["best_state"] = {k: v.to(device) for k, v in state["best_state"].items()}
            stopper.load_state_dict(state)
        torch.set_rng_state(ckpt["rng"]["torch"])
        if ckpt["rng"].get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        shuffle.set_state(ckpt["rng"]["shuffle"])
        rows = json.loads(ckpt["history"])
        start_epoch, finished = int(ckpt["epoch"]), bool(ckpt["finished"])
        stopped_early = bool(ckpt.get("stopped_early", False))

    ckpt_path = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    amp = config.amp and device.type == "cuda"
    bar = tqdm(total=config.epochs, initial=start_epoch, disable=not progress_enabled(config.progress),
               desc=f"fit {model.config['name']}", unit="epoch")
    epoch = start_epoch
    while not finished and epoch < config.epochs:
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=shuffle).to(device)
        total_loss = torch.zeros((), dtype=torch.float64, device=device)
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            if len(idx) == 1 and n > 1:  # a lone trailing pair: BatchNorm cannot train on one row (it is seen next epoch)
                continue
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(tf[idx], target[idx], feats)
            loss = loss_fn(logits.float(), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.clip_norm is not None:
                clip_gradients(model.parameters(), config.clip_norm)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            scheduler.step()
            total_loss += loss.detach().double() * len(idx)
        epoch += 1
        train_loss = float(total_loss) / n
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"training loss is {train_loss} at epoch {epoch}; lower lr, "
                                     "keep clip_norm, or use similarity='cosine'")
        row = {"epoch": epoch, "loss": train_loss, "val_loss": float("nan"),
               "val_auroc": float("nan"), "val_auprc": float("nan"), "lr": float(lr)}
        if val is not None:
            val_logits = _logits(model, val_tf, val_target, feats, config.eval_batch_size)
            if val_offset is not None:
                val_logits = val_logits + val_offset
            row["val_loss"] = float(loss_fn(val_logits, val_y))
            row["val_auroc"], row["val_auprc"] = _val_metrics(val_y_np, val_logits.double().cpu().numpy())
            if halves is not None:
                _track_halves(halves, val_y_np, val_logits, val_offset)
            stopped_early = stopper.step(row[config.early_stopping_metric], epoch, model)
        row["time_s"] = time.perf_counter() - started
        rows.append(row)
        finished = stopped_early or epoch == config.epochs
        if finished and stopper is not None:
            stopper.restore(model)
        if ckpt_path is not None and (finished or epoch % config.checkpoint_every == 0):
            _save(ckpt_path, model, optimizer, scheduler, stopper, shuffle, config, epoch, rows,
                  finished, stopped_early)
        if on_epoch_end is not None:
            on_epoch_end(dict(row))
        bar.update(1)
        bar.set_postfix(loss=f"{train_loss:.4f}", val_auroc=f"{row['val_auroc']:.4f}")
    bar.close()
    model.eval()
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return FitResult(model=model, history=history,
                     best_epoch=stopper.best_epoch if stopper else None,
                     best_value=stopper.best_value if stopper else None,
                     stopped_early=stopped_early, config=config, device=str(device),
                     checkpoint_path=ckpt_path,
                     val_chosen=tuple(halves["logits"]) if halves is not None and halves["logits"][0] is not None
                     else None)


def _track_halves(halves: dict, y: np.ndarray, logits: torch.Tensor, offset: torch.Tensor | None) -> None:
    """Keep, per validation half, the raw logits (offset removed) of the epoch with its best AUROC."""
    scored = logits.double().cpu().numpy()
    raw = (logits - offset if offset is not None else logits).double().cpu().numpy()
    for k, mask in enumerate(halves["masks"]):
        value = _val_metrics(y[mask], scored[mask])[0]
        if halves["logits"][k] is None or value > halves["best"][k]:  # NaN never replaces a kept epoch
            halves["best"][k], halves["logits"][k] = value, raw


def _optimizer_kwargs(config: TrainConfig) -> dict:
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.momentum is not None:
        if "momentum" not in OPTIMIZERS.valid_keys(config.optimizer):
            raise ConfigError(f"optimizer {config.optimizer!r} takes no momentum; set "
                              "momentum=None or use optimizer 'sgd' / 'sgd_momentum'")
        kwargs["momentum"] = config.momentum
    return kwargs


def _scheduler_kwargs(config: TrainConfig, steps_per_epoch: int) -> dict:
    offered = {"warmup_steps": config.warmup_epochs * steps_per_epoch,
               "total_steps": config.epochs * steps_per_epoch,
               "min_lr_ratio": config.min_lr_ratio}
    accepted = SCHEDULERS.valid_keys(config.scheduler)
    return {k: v for k, v in offered.items() if k in accepted}


def _save(path: Path, model, optimizer, scheduler, stopper, shuffle, config, epoch, rows,
          finished, stopped_early) -> None:
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    save_checkpoint(path, model,
                    optimizer_state=optimizer.state_dict(),
                    scheduler_state=scheduler.state_dict(),
                    early_stopping=stopper.state_dict() if stopper is not None else None,
                    rng={"torch": torch.get_rng_state(), "cuda": cuda_rng,
                         "shuffle": shuffle.get_state()},
                    train_config=json.dumps(config.to_dict()),
                    history=json.dumps(rows),
                    epoch=epoch, finished=finished, stopped_early=stopped_early)


def _check_resume(ckpt: dict, config: TrainConfig, model: nn.Module, path) -> None:
    if "optimizer_state" not in ckpt or "train_config" not in ckpt:
        raise DataError(path, "checkpoint holds a model only, not a training state",
                        "resume from the last.pt written by fit(checkpoint_dir=...)")
    saved = json.loads(ckpt["train_config"])
    now = json.loads(json.dumps(config.to_dict()))  # same JSON normal form as the saved one
    diff = sorted(k for k in set(saved) | set(now)
                  if k not in RESUME_FREE_KEYS and saved.get(k) != now.get(k))
    if diff:
        raise ValueError(f"cannot resume from {path}: TrainConfig differs in {diff} "
                         f"(saved {[saved.get(k) for k in diff]}, now {[now.get(k) for k in diff]}); "
                         "resume with the saved config or start a new run")
    if ckpt["model_config"] != json.loads(json.dumps(model.config)):
        raise ValueError(f"cannot resume from {path}: it was trained with model config "
                         f"{ckpt['model_config']}, not {model.config}")


# -- all-pairs scoring ----------------------------------------------------------------------
@torch.no_grad()
def score_all_pairs(model: nn.Module, tf_idx: Sequence[int], gene_idx: Sequence[int],
                    features=None, top_k: int | None = None, chunk: int = 2048,
                    exclude_self: bool = True, batch_size: int = 8192):
    """Score every (TF, gene) pair of ``tf_idx x gene_idx`` in gene chunks.

    Two-tower models encode each TF once (``[n_tf, d]``) and each gene chunk once, then score a
    ``[n_tf, chunk]`` block with ``score_embeddings``; other models run ``forward`` on each
    block's pairs. With ``top_k`` only a running top-k (torch.topk over the kept k and the new
    block) is held, so memory stays ``O(n_tf * chunk + k)`` whatever the number of genes.

    Args:
        tf_idx: TF gene ids [n_tf]; gene_idx: candidate target gene ids [n_gene].
        features: [n_genes, d] when the model reads expression.
        top_k: None returns the full matrix; an int returns the k best pairs.
        exclude_self: give TF == gene pairs a score of -inf (self-loops are not edges).

    Returns:
        top_k None: float32 array [n_tf, n_gene] of logits (rows follow ``tf_idx``, columns
        ``gene_idx``). Otherwise a DataFrame with columns tf, target, score (logit), best first.
    """
    device = _model_device(model)
    tfs = torch.as_tensor(np.asarray(tf_idx, dtype=np.int64), device=device)
    genes = torch.as_tensor(np.asarray(gene_idx, dtype=np.int64), device=device)
    feats = _features_tensor(features, device)
    _check_ids(model, feats, tfs.cpu().numpy(), genes.cpu().numpy())
    was_training = model.training
    model.eval()
    two_tower = model.is_two_tower
    if two_tower:
        tf_emb = torch.cat([model.encode_tf(tfs[i:i + batch_size], feats)
                            for i in range(0, len(tfs), batch_size)])
    blocks, best_scores, best_flat = [], None, None
    try:
        for start in range(0, len(genes), chunk):
            g = genes[start:start + chunk]
            if two_tower:
                block = model.score_embeddings(tf_emb, model.encode_gene(g, feats)).float()
            else:
                pair_tf = tfs.repeat_interleave(len(g))
                pair_g = g.repeat(len(tfs))
                block = _logits(model, pair_tf, pair_g, feats, batch_size).view(len(tfs), len(g))
            if exclude_self:
                block = block.masked_fill(tfs[:, None] == g[None, :], float("-inf"))
            if top_k is None:
                blocks.append(block.cpu())
                continue
            # flat id of (row i, global column j) = i * n_gene + j
            cols = torch.arange(start, start + len(g), device=device)
            flat = (torch.arange(len(tfs), device=device)[:, None] * len(genes) + cols[None, :]).reshape(-1)
            scores = block.reshape(-1)
            if best_scores is not None:
                scores, flat = torch.cat([best_scores, scores]), torch.cat([best_flat, flat])
            keep = torch.topk(scores, min(top_k, len(scores))).indices
            best_scores, best_flat = scores[keep], flat[keep]
    finally:
        model.train(was_training)
    if top_k is None:
        return torch.cat(blocks, dim=1).numpy() if blocks else np.zeros((len(tfs), 0), np.float32)
    if best_scores is None:  # no genes to score
        return pd.DataFrame({"tf": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                             "score": np.zeros(0, np.float32)})
    order = torch.argsort(best_scores, descending=True)
    best_scores, best_flat = best_scores[order].cpu(), best_flat[order].cpu()
    rows, cols = best_flat // len(genes), best_flat % len(genes)
    return pd.DataFrame({"tf": tfs.cpu()[rows].numpy(), "target": genes.cpu()[cols].numpy(),
                         "score": best_scores.numpy()})
