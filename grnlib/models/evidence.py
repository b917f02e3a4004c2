"""Pair evidence from expression alone (no labels), one TF x gene matrix per kind, computed once
per expression matrix and cached in memory and on disk.

Kinds (:data:`EXPRESSION_EVIDENCE`):

``trees``
    GENIE3/GRNBoost2-style: every gene's standardised expression is regressed on all TFs but
    itself with extremely randomised trees; a TF's impurity importance (summing to 1 per target)
    is its score for that gene, stored as ``log1p(importance * n_tfs)`` (0 = no use, log 2 = an
    average share).
``partial_correlation``
    From the Ledoit-Wolf shrunk correlation matrix of all genes (n_cells may be below n_genes),
    ``-P_ij / sqrt(P_ii P_jj)`` of its inverse: association with every other gene held fixed.
``mutual_information``
    Between rank-binned expression (``bins`` equal-count bins per gene, ties kept in one bin),
    in nats, from the joint histogram of every TF x gene pair (one matrix product per TF chunk).

:func:`expression_evidence` returns ``(tf_ids, matrix [n_tfs, n_genes] float32)``. Results are
keyed by a hash of the expression values, gene count, TF ids, kind, options and
:data:`VERSION`; the disk cache lives in ``$GRNLIB_EVIDENCE_CACHE`` or ``<user cache>/evidence``
(``GRNLIB_NO_CACHE=1`` turns it off). A damaged cache file is recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

EXPRESSION_EVIDENCE = ("trees", "partial_correlation", "mutual_information")
VERSION = "1"
ENV_DIR, ENV_OFF = "GRNLIB_EVIDENCE_CACHE", "GRNLIB_NO_CACHE"
DEFAULTS = {"trees": {"n_estimators": 20, "min_samples_leaf": 10, "seed": 0},
            "partial_correlation": {}, "mutual_information": {"bins": 8}}
_MEMORY: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_MEMORY_LIMIT = 24
TIMINGS: dict[str, float] = {}  # seconds of the last fresh computation per kind (for reports)


def cache_folder() -> Path | None:
    """Where evidence matrices are stored, or None when disk caching is off."""
    if os.environ.get(ENV_OFF, "").strip().lower() in ("1", "true", "yes"):
        return None
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    from grnlib.data.download import cache_dir

    return cache_dir() / "evidence"


def standardised(x: np.ndarray) -> np.ndarray:
    """Rows centred to mean 0 and scaled to variance 1 (constant rows -> 0), float64."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, keepdims=True)
    return np.divide(centred, sd, out=np.zeros_like(centred), where=sd > 0)


def tree_importance(x: np.ndarray, tf_ids: np.ndarray, n_estimators: int = 20, min_samples_leaf: int = 10,
                    seed: int = 0) -> np.ndarray:
    """[n_tfs, n_genes] ``log1p(importance * n_tfs)``: extra-trees importance of each TF for each
    gene's standardised expression (x: genes x cells). Each gene's ensemble is seeded by (seed, gene)."""
    from sklearn.ensemble import ExtraTreesRegressor

    z = standardised(x)
    features = z[tf_ids].T.astype(np.float32)  # [cells, n_tfs]
    out = np.zeros((tf_ids.size, z.shape[0]), dtype=np.float32)
    for gene in range(z.shape[0]):
        if not np.any(z[gene]):
            continue  # a constant gene has nothing to explain
        keep = tf_ids != gene
        model = ExtraTreesRegressor(n_estimators=n_estimators, max_features="sqrt", min_samples_leaf=min_samples_leaf,
                                    n_jobs=1, random_state=int(np.random.SeedSequence([seed, gene]).generate_state(1)[0]))
        model.fit(features[:, keep], z[gene])
        out[keep, gene] = model.feature_importances_
    return np.log1p(out * tf_ids.size).astype(np.float32)


def partial_correlation(x: np.ndarray, tf_ids: np.ndarray) -> np.ndarray:
    """[n_tfs, n_genes] partial correlations from the Ledoit-Wolf shrunk correlation matrix."""
    from sklearn.covariance import ledoit_wolf

    z = standardised(x)
    covariance, _ = ledoit_wolf(z.T, assume_centered=True)
    precision = np.linalg.pinv(covariance, hermitian=True)
    scale = np.sqrt(np.clip(np.diag(precision), 1e-12, None))
    pcor = -precision[tf_ids] / scale[tf_ids, None] / scale[None, :]
    pcor[np.arange(tf_ids.size), tf_ids] = 1.0
    return pcor.astype(np.float32)


def mutual_information(x: np.ndarray, tf_ids: np.ndarray, bins: int = 8, chunk: int = 64) -> np.ndarray:
    """[n_tfs, n_genes] mutual information (nats) of rank-binned expression."""
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=np.float64)
    n_genes, n_cells = x.shape
    ranks = rankdata(x, axis=1, method="average")  # tied values (zeros) share a bin
    codes = np.minimum(((ranks - 0.5) / n_cells * bins).astype(np.int64), bins - 1)  # [genes, cells]
    onehot = np.zeros((n_cells, n_genes * bins), dtype=np.float32)
    onehot[np.repeat(np.arange(n_cells), n_genes), (np.arange(n_genes)[None, :] * bins + codes.T).ravel()] = 1.0
    marginal = onehot.mean(axis=0).reshape(n_genes, bins)  # [genes, bins]
    out = np.zeros((tf_ids.size, n_genes), dtype=np.float32)
    for start in range(0, tf_ids.size, chunk):
        tfs = tf_ids[start:start + chunk]
        columns = (tfs[:, None] * bins + np.arange(bins)[None, :]).ravel()
        joint = (onehot[:, columns].T @ onehot / n_cells).reshape(tfs.size, bins, n_genes, bins)
        expected = marginal[tfs][:, :, None, None] * marginal[None, None, :, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(joint > 0, joint * np.log(joint / np.where(expected > 0, expected, 1.0)), 0.0)
        out[start:start + tfs.size] = terms.sum(axis=(1, 3))
    return out


_COMPUTE = {"trees": tree_importance, "partial_correlation": partial_correlation,
            "mutual_information": mutual_information}


def _key(x: np.ndarray, tf_ids: np.ndarray, kind: str, options: dict) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"kind": kind, "options": options, "version": VERSION}, sort_keys=True).encode())
    h.update(f"{x.shape}".encode())
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(tf_ids, dtype=np.int64).tobytes())
    return h.hexdigest()


def expression_evidence(ds, kind: str, **options) -> tuple[np.ndarray, np.ndarray]:
    """``(tf_ids int64 [m], matrix float32 [m, n_genes])`` of evidence ``kind`` for ``ds``.

    Args:
        ds: a :class:`grnlib.data.GRNDataset` with expression; rows are its TFs (``ds.tf_ids``).
        kind: one of :data:`EXPRESSION_EVIDENCE`.
        **options: overrides of :data:`DEFAULTS` for that kind.
    """
    if kind not in _COMPUTE:
        raise ValueError(f"unknown expression evidence {kind!r}; valid: {', '.join(EXPRESSION_EVIDENCE)}")
    if ds is None or not getattr(ds, "has_expression", False):
        raise ValueError(f"evidence {kind!r} is computed from expression; the dataset has none")
    options = {**DEFAULTS[kind], **options}
    x = ds.expression_matrix()  # genes x cells, float32
    tf_ids = np.asarray(ds.tf_ids, dtype=np.int64)
    key = _key(x, tf_ids, kind, options)
    if key in _MEMORY:
        return _MEMORY[key]
    folder = cache_folder()
    path = folder / f"{kind}-{key}.npy" if folder is not None else None
    matrix = None
    if path is not None and path.is_file():
        try:
            matrix = np.load(path, allow_pickle=False)
            if matrix.shape != (tf_ids.size, x.shape[0]) or not np.isfinite(matrix).all():
                matrix = None
        except (OSError, ValueError):
            matrix = None
    if matrix is None:
        started = time.perf_counter()
        matrix = _COMPUTE[kind](x, tf_ids, **options).astype(np.float32)
        TIMINGS[kind] = time.perf_counter() - started
        if path is not None:
            _store(path, matrix)
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = (tf_ids, matrix)
    return tf_ids, matrix


def _store(path: Path, matrix: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written never fails a run."""
    from grnlib.io import write_npy

    try:
        write_npy(path, matrix)
    except OSError:
        pass
