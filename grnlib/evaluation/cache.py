"""A content-addressed run cache: a trained run (or a baseline's scores) is computed once per

    run spec (its science: RunSpec.key) + dataset content + split content + seed + the code that trains,

and reused by every later call with the same key: chapters that train the same run share it, and a
rebuild with unchanged code retrains nothing. An entry holds the model checkpoint (config + weights),
the fitted feature recipe, the training history and the raw validation/test scores.

Entries live outside the repository, in ``$GRNLIB_RUN_CACHE`` or ``<user cache>/grnlib/runs``, and are
read with ``torch.load(weights_only=True)``. Each entry's first line is its SHA-256: a damaged entry is
detected, dropped and recomputed. The folder is kept under a size limit (``$GRNLIB_RUN_CACHE_MB``,
default 2048; ``inf`` for no limit; anything else that is not a non-negative number of megabytes is
an error before any run starts) by deleting the least recently used entries. ``GRNLIB_NO_CACHE=1``
(``--no-cache``) turns it off.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from grnlib.errors import DataWarning

ENV_DIR, ENV_LIMIT, ENV_OFF = "GRNLIB_RUN_CACHE", "GRNLIB_RUN_CACHE_MB", "GRNLIB_NO_CACHE"
DEFAULT_LIMIT_MB = 2048
FORMAT = "grnlib-run-cache-v1"
SUFFIXES = (".pt", ".ipynb")  # run entries; executed chapters (grnlib.report)
# The code whose change must invalidate cached runs: everything that turns data and a spec into scores.
TRAINING_CODE = ("data", "models", "training", "evaluation", "features.py", "registry.py", "errors.py", "io.py")


def enabled() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("1", "true", "yes")


@contextmanager
def disabled(active: bool = True):
    """Within the block (when ``active``) the cache is off for this process and the processes it starts;
    the setting before it is restored after, so a ``--no-cache`` command called in-process leaks nothing."""
    if not active:
        yield
        return
    before = os.environ.get(ENV_OFF)
    os.environ[ENV_OFF] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_OFF, None)
        else:
            os.environ[ENV_OFF] = before


def cache_root() -> Path:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    from grnlib.data.download import cache_dir

    return cache_dir() / "runs"


def limit_bytes() -> float:
    """``$GRNLIB_RUN_CACHE_MB`` in bytes (``inf``: no limit). A DataError for anything else that is
    not a non-negative number; the cache checks it before a run starts (:func:`load_bytes`), so a
    typo never costs a finished training."""
    from grnlib.errors import DataError

    text = os.environ.get(ENV_LIMIT, "").strip()
    if not text:
        return DEFAULT_LIMIT_MB * 2**20
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = float("nan")
    if not megabytes >= 0:  # NaN, negative or not a number
        raise DataError(None, f"${ENV_LIMIT}={text!r} is not a cache size in megabytes",
                        f"set it to a number such as {DEFAULT_LIMIT_MB} (inf for no limit), or unset it")
    return megabytes * 2**20


def _hasher():
    return hashlib.blake2b(digest_size=20)


def _update_array(h, values) -> None:
    array = np.ascontiguousarray(values)
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the package source that trains and scores (see ``TRAINING_CODE``)."""
    package = Path(__file__).resolve().parents[1]
    h = _hasher()
    for name in TRAINING_CODE:
        path = package / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            h.update(str(file.relative_to(package)).encode())
            h.update(file.read_bytes())
    return h.hexdigest()


def dataset_fingerprint(ds) -> str:
    """Hash of a dataset's content: genes, TFs, edges and expression (values and cell names).
    Stored in ``ds.meta`` so a dataset is hashed once."""
    cached = ds.meta.get("content_fingerprint")
    if cached:
        return cached
    h = _hasher()
    h.update("\n".join(map(str, ds.genes)).encode())
    _update_array(h, np.asarray(ds.tf_ids, dtype=np.int64))
    _update_array(h, ds.edges[["tf", "target"]].to_numpy(dtype=np.int64))
    if getattr(ds.expression, "out_of_core", False):  # a file read in chunks: what it is, not its values
        h.update(ds.expression.fingerprint().encode())
    elif ds.expression is not None:
        x = ds.expression.X
        if hasattr(x, "indptr"):
            for part in (x.data, x.indices, x.indptr):
                _update_array(h, part)
            h.update(f"{x.format}{x.shape}".encode())
        else:
            _update_array(h, np.asarray(x))
        h.update("\n".join(map(str, ds.expression.obs_names)).encode())
    ds.meta["content_fingerprint"] = h.hexdigest()
    return ds.meta["content_fingerprint"]


def split_fingerprint(split: dict) -> str:
    h = _hasher()
    for name in sorted(split):
        table = split[name]
        h.update(name.encode())
        for column in ("tf", "target", "label"):
            if column in table:
                _update_array(h, table[column].to_numpy())
    return h.hexdigest()


def run_key(spec, ds, split: dict, seed: int) -> str:
    """The cache key of one :class:`~grnlib.evaluation.spec.RunSpec` (a model or baseline) on one split: its
    science (:meth:`~grnlib.evaluation.spec.RunSpec.key`; run settings are never in a spec), the data, the
    split, the seed and the code that trains."""
    h = _hasher()
    for part in (spec.key(), dataset_fingerprint(ds), split_fingerprint(split), str(int(seed)), code_fingerprint()):
        h.update(part.encode())
    return h.hexdigest()


def _path(key: str, suffix: str = ".pt") -> Path:
    # One file per entry: the SHA-256 of the payload on the first line, then the payload, replaced in
    # one rename, so concurrent writers of the same key (two chapters at once) never tear a pair.
    return cache_root() / key[:2] / f"{key}{suffix}"


def load_bytes(key: str, suffix: str, check=None):
    """The payload stored under ``key`` (``check(payload)`` turns it into the value, raising on a bad
    one), or None when absent, disabled or damaged (a damaged entry is removed)."""
    if not enabled():
        return None
    limit_bytes()  # a bad size limit stops here, before the run, not after it
    path = _path(key, suffix)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        checksum, payload = data[:64].decode("ascii"), data[65:]
        if hashlib.sha256(payload).hexdigest() != checksum:
            raise ValueError("checksum mismatch")
        value = check(payload) if check is not None else payload
    except Exception as exc:  # any damage: drop the entry and recompute
        warnings.warn(f"run cache entry {path} is damaged or foreign ({_first_line(exc)}); recomputing it",
                      DataWarning, stacklevel=3)
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # least-recently-used eviction reads the modification time
    except OSError:
        pass
    return value


def store_bytes(key: str, suffix: str, payload: bytes) -> None:
    """Write ``payload`` under ``key`` with its checksum; cache errors never fail a run."""
    if not enabled():
        return
    from grnlib.io import write_bytes

    path = _path(key, suffix)
    try:
        write_bytes(path, hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n" + payload)
        evict(limit_bytes())
    except OSError as exc:
        warnings.warn(f"run cache not written ({exc.strerror or exc}); results are unaffected", DataWarning,
                      stacklevel=3)


def _first_line(exc: BaseException) -> str:
    """What a damaged entry's error says, in one line. A weights-only load that refuses a pickled
    object advises ``weights_only=False``: wrong for a cache entry, which is recomputed, never trusted."""
    import pickle

    if isinstance(exc, pickle.UnpicklingError):
        return "it holds objects a weights-only load refuses"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:120]}" if text else type(exc).__name__


def _run_entry(payload: bytes) -> dict:
    import io

    import torch

    entry = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        raise ValueError("not a run-cache entry")
    return entry


def load(key: str) -> dict | None:
    """The run entry for ``key``, or None when absent, disabled or damaged (a damaged one is removed)."""
    return load_bytes(key, ".pt", _run_entry)


def store(key: str, entry: dict) -> None:
    """Write ``entry`` (tensors and plain values) under ``key``; cache errors never fail a run."""
    if not enabled():
        return
    from grnlib.io import torch_bytes

    store_bytes(key, ".pt", torch_bytes({"format": FORMAT, **entry}))


# -- the entry format: a run as tensors and JSON strings (read back with weights_only=True) ----------
def scores_entry(val, test, seconds: float, val_chosen=None) -> dict:
    """A scorer's raw validation and test scores (float64) and the seconds they took; a trained model's
    nested-validation logits (:mod:`grnlib.evaluation.nested`) as ``val_chosen`` [2, n_val] where it has them."""
    import torch

    entry = {"val": torch.from_numpy(np.asarray(val, dtype=np.float64)),
             "test": torch.from_numpy(np.asarray(test, dtype=np.float64)), "seconds": float(seconds)}
    if val_chosen is not None:
        entry["val_chosen"] = torch.from_numpy(np.stack(val_chosen).astype(np.float64))
    return entry


def trained_entry(model, result, recipe=None, features=None) -> dict:
    """A trained model (config and weights), its :class:`~grnlib.training.loop.FitResult` (history and
    best epoch) and fitted feature recipe with its features, as tensors and JSON strings."""
    import torch

    entry = {"model_config": json.dumps(model.config), "model_state": model.state_dict(),
             "history": result.history.to_json(orient="split"),
             "fit": json.dumps({"best_epoch": result.best_epoch, "best_value": result.best_value,
                                "stopped_early": bool(result.stopped_early), "device": str(result.device),
                                "config": result.config.to_dict()}, default=str)}
    if recipe is not None:
        meta, tensors = recipe.state()
        entry.update(recipe_meta=json.dumps(meta), features=torch.from_numpy(features), **tensors)
    return entry


def trained_parts(entry: dict) -> dict:
    """``{model, result, recipe, features}`` rebuilt from a :func:`trained_entry` (model in eval mode)."""
    import io

    import pandas as pd

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
    return {"model": model, "result": result, "recipe": recipe, "features": features}


def evict(limit_bytes: int) -> int:
    """Delete least recently used entries until the cache holds at most ``limit_bytes``; returns
    the number of entries deleted. Entries another process removes meanwhile are skipped."""
    sizes = {}
    root = cache_root()
    entries = [p for suffix in SUFFIXES for p in root.glob(f"*/*{suffix}")] if root.is_dir() else []
    for path in entries:
        try:
            stat = path.stat()
        except OSError:
            continue
        sizes[path] = (stat.st_mtime, stat.st_size)
    total = sum(size for _, size in sizes.values())
    removed = 0
    for path, (_, size) in sorted(sizes.items(), key=lambda item: item[1][0]):
        if total <= limit_bytes:
            break
        total -= size
        path.unlink(missing_ok=True)
        removed += 1
    return removed
