"""One evaluation *cell*: a (dataset, protocol, seed, fold) split and the scorers run on it, one
record per scorer. ``grnlib evaluate`` runs cells in a loop; the Dask sweep
(:mod:`grnlib.benchmark.sweep`) runs many in parallel. Both go through
:func:`grnlib.evaluation.experiment.evaluate_split`.
"""
from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Cell:
    """One split and the scorer names (baselines, presets, models) to run on it: plain data, as a sweep
    records and resumes it; the names are resolved once, when the cell runs."""

    dataset: str
    protocol: str
    seed: int
    fold: int = 0
    models: tuple = ()
    epochs: int | None = None
    n_folds: int = 5

    @property
    def key(self) -> str:
        """Identity of the split (not of the scorers): what resuming matches on."""
        return f"{self.dataset}|{self.protocol}|{self.seed}|{self.fold}"


@functools.lru_cache(maxsize=4)
def cached_dataset(dataset: str, root: str | None):
    from grnlib.data import load_dataset

    return load_dataset(dataset, root)


def evaluate_cell(cell: Cell, root=None, device: str | None = None, single_thread: bool = True,
                  dataset=None, specs=None) -> list[dict]:
    """Make the cell's split, score every scorer on it; one record per scorer.

    Each record: dataset, protocol, seed, fold, split ("test"), model, kind, every metric of
    :func:`grnlib.evaluation.metrics.evaluate_scores` (auroc, auprc, pos_rate, n, ...), ``n_test``,
    ``n_train``, threshold, seconds. ``dataset`` (a loaded GRNDataset) skips loading by id; ``specs``
    (the cell's scorers already resolved by the caller, e.g. ``grnlib evaluate``) skips resolving them.

    ``single_thread`` pins torch to one thread: the sweep runs one cell per core.
    """
    from grnlib.evaluation.experiment import evaluate_split
    from grnlib.evaluation.protocols import make_split
    from grnlib.evaluation.spec import Runtime, check_expression, resolve_specs

    runtime = Runtime(seed=cell.seed, device=device or "auto", threads=1 if single_thread else None)
    runtime.apply_threads()
    ds = dataset if dataset is not None else cached_dataset(cell.dataset, None if root is None else str(root))
    specs = resolve_specs(cell.models, epochs=cell.epochs) if specs is None else specs
    check_expression(ds, specs)
    split = make_split(ds, cell.protocol, seed=cell.seed, fold=cell.fold, n_folds=cell.n_folds)
    evaluation = evaluate_split(ds, split, specs, runtime, baselines=())
    records = []
    for row in evaluation.metrics.to_dict(orient="records"):
        name = row.pop("name")
        records.append({"dataset": cell.dataset, "protocol": cell.protocol, "seed": cell.seed, "fold": cell.fold,
                        "split": "test", "model": name, **row,
                        "accuracy_at_val_max": accuracy_at_val_max(split, evaluation, name),
                        "n_test": len(split["test"]), "n_train": len(split["train"])})
    return [{k: plain(v) for k, v in r.items()} for r in records]


def accuracy_at_val_max(split: dict, evaluation, name: str) -> float:
    """Test accuracy of scorer ``name`` at the threshold that maximises *validation accuracy* (the
    ``accuracy`` column is taken at the F1-maximising threshold); NaN without its scores."""
    from grnlib.evaluation.metrics import binary_metrics, choose_threshold

    if name not in evaluation.val_scores or name not in evaluation.test_scores:
        return float("nan")
    threshold = choose_threshold(split["val"]["label"].to_numpy(), evaluation.val_scores[name], "accuracy")
    return float(binary_metrics(split["test"]["label"].to_numpy(), evaluation.test_scores[name], threshold)["accuracy"])


def plain(value):
    """numpy scalars -> Python, NaN -> None (strict JSON)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def environment_info() -> dict:
    """Git commit, host and library versions, stored beside every result."""
    package_file = Path(__file__).resolve().parent.parent / "__init__.py"  # the package's own checkout

    commit = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(package_file).parent, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=Path(package_file).parent,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    import torch

    return {"git_commit": commit, "host": socket.gethostname(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__}
