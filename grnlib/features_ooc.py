"""Gene features out of core: :class:`~grnlib.features.FeatureRecipe`'s PCA on a
:class:`~grnlib.data.streaming.StreamedExpression`, in a fixed number of passes over the file.

The in-memory recipe (:mod:`grnlib.features`) computes, on the genes x cells operator
``A = diag(w) (X^T - c 1^T) - 1 m^T`` (z-scored genes, each cell centred by its mean ``m``), a seeded
randomized SVD: ``Q = orth(A Omega)``, then ``N_POWER_ITERATIONS`` times ``Q = orth(A orth(A^T Q))``,
then the SVD of ``Q^T A``. Here every product with ``A`` is a sum over row chunks of cells
(``A V = sum_c A_c V_c``), and each pass computes both products of one power iteration while its
chunk is in memory: ``Z_c = A_c^T Q`` (row-local) and ``A_c Z_c``. ``orth(A orth(Z))`` and
``orth(A Z)`` span the same subspace, and the result depends on the subspace only, so the features
equal the in-memory ones within float32 rounding (``tests/test_out_of_core.py``). Passes:

1. checks and gene statistics (when the file is opened, :func:`grnlib.data.streaming.open_streamed`);
2. the cell centres ``m`` and ``Y = A Omega`` (``Omega`` drawn chunk by chunk from the same seeded
   stream as the in-memory ``rng.standard_normal((n_cells, l))``);
3. to 6. one per power iteration;
7. ``B^T = A^T Q`` (kept: cells x l, the size of the recipe's own per-cell axes) and ``A B^T``: the
   right singular vectors come from the eigenvectors of ``B B^T`` (l x l), and the gene features
   ``A V`` from ``A B^T``, without another pass.

Memory: one chunk, genes x l accumulators, and per-cell vectors of the recipe (centres, axes: what
the checkpoint stores anyway), so ~300 bytes per cell and nothing per stored value. Predict on the
training cells is one more pass (gene statistics and ``X^T V`` together).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from grnlib.data.streaming import checked_chunk, chunk_stats, iter_pass, merge_scan, merge_stats, new_scan
from grnlib.errors import DataError, DataWarning
from grnlib.features import (CONSTANT_RTOL, FEATURE_KINDS, KINDS, N_OVERSAMPLES, N_POWER_ITERATIONS, _orthonormal,
                             _small_lapack, pca_components)
from grnlib.progress import step

FIT_PASSES = 2 + N_POWER_ITERATIONS + 1  # opening (checks, statistics), range, power iterations, last


def streamed_gene_stats(expression) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and std of a streamed matrix (from its first pass), with the constant-gene rule of
    :func:`grnlib.features.gene_stats`."""
    mean, std = expression.mean, expression.std.copy()
    std[std <= CONSTANT_RTOL * np.abs(mean)] = 0.0
    return mean, std


def _scaling(mean, std, standardize: bool):
    """(w, c) of the operator, float32, as :func:`grnlib.features._operator` builds them."""
    if not standardize:
        return np.ones_like(mean, dtype=np.float32), np.zeros_like(mean, dtype=np.float32)
    w = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    return w.astype(np.float32), mean.astype(np.float32)


# -- chunk kernels (module level: Dask ships them to workers by name) ----------------------------
def _rmat(x, w, c, m, u):
    """``A_c^T u`` (cells of the chunk x b float32), row by row as ``_Centred._rmatmat`` computes it."""
    wu = np.ascontiguousarray(u, dtype=np.float32) * w[:, None]
    out = np.asarray(x @ wu, dtype=np.float32)
    out -= (c @ wu)[None, :]
    if m is not None:
        out -= np.outer(m, np.asarray(u, dtype=np.float32).sum(axis=0))
    return out


def _mat_parts(x, v, m):
    """The parts of ``A_c v`` that sum over chunks: ``X_c^T v`` (float64), ``1^T v`` and ``m_c^T v``."""
    v = np.ascontiguousarray(v, dtype=np.float32)
    xtv = np.asarray(x.T @ v, dtype=np.float32).astype(np.float64)
    return xtv, v.sum(axis=0, dtype=np.float64), m.astype(np.float64) @ v.astype(np.float64)


def _range_chunk(source, start, stop, w, c, omega):
    """Pass 2: the chunk's cell centres and its share of ``A Omega``."""
    x = source.read(start, stop)
    ones = np.ones((source.n_genes, 1), dtype=np.float32)
    centre = _rmat(x, w, c, None, ones)[:, 0] / source.n_genes  # mean over genes, per cell
    return (centre, *_mat_parts(x, omega, centre))


def _power_chunk(source, start, stop, w, c, q, centre, keep=False):
    """One power iteration's share: ``Z_c = A_c^T q`` and the parts of ``A_c Z_c`` (and ``Z_c`` with keep)."""
    x = source.read(start, stop)
    z = _rmat(x, w, c, centre, q)
    parts = _mat_parts(x, z, centre)
    return (*parts, z) if keep else parts


def _transform_chunk(source, start, stop, rows, axes, centre, check=False, cells=None, genes=None, path=None):
    """Predict: gene statistics of the chunk's training cells and the parts of ``A_c V`` (and, with
    ``check``, the chunk's checks: the file's only pass then)."""
    scan, x = checked_chunk(source, start, stop, cells, genes, path) if check else (None, source.read(start, stop))
    if rows is not None:
        x = x[rows]
    return (chunk_stats(x), *_mat_parts(x, axes, centre), scan)


def _combine(parts, w, c):
    """``A v`` from the summed parts: ``diag(w) (X^T v - c 1^T v) - 1 m^T v`` (float32, as ``_Centred``)."""
    xtv, vsum, mv = parts
    out = xtv.astype(np.float32)
    out -= np.outer(c, vsum).astype(np.float32)
    out *= w[:, None]
    out -= mv.astype(np.float32)[None, :]
    return out


def _fold(results, first: int = 0, collect: int | None = None):
    """``(sums, collected)``: elementwise sums of the three ``_mat_parts`` at ``result[first:first + 3]``
    of every chunk, in chunk order, and the list of ``result[collect]`` (per-cell pieces)."""
    total, collected = None, []
    for result in results:
        parts = result[first:first + 3]
        total = [np.array(p, dtype=np.float64) for p in parts] if total is None else \
            [t + p for t, p in zip(total, parts)]
        if collect is not None:
            collected.append(result[collect])
    return total, collected


# -- fit and transform --------------------------------------------------------------------------
def fit_streamed(cls, expression, kind: str = "pca", n_components: int = 64, seed: int = 0,
                 standardize: bool = True, path=None):
    """``FeatureRecipe.fit`` on a streamed matrix (kind ``pca`` only: the others need every cell's
    profile at once)."""
    path = path or expression.source.path
    if not FEATURE_KINDS[kind].streams:
        streamed = ", ".join(repr(name) for name in KINDS if FEATURE_KINDS[name].streams)
        raise DataError(path, f"feature kind {kind!r} cannot be computed out of core (only {streamed})",
                        "use features kind pca, or read the matrix in memory (--in-memory, out_of_core=False)")
    n_cells, n_genes = expression.shape
    limit = min(n_genes, n_cells)
    n_components = pca_components(n_components, n_genes, n_cells)
    recipe = cls(kind=kind, cells=[str(cell) for cell in expression.obs_names], seed=int(seed),
                 standardize=bool(standardize), n_components=int(n_components))
    k = recipe.n_components
    mean, std = streamed_gene_stats(expression)
    w, c = _scaling(mean, std, standardize)
    source, chunks, client = expression.source, expression.chunks(), expression.client
    size = min(k + N_OVERSAMPLES, limit)
    where = " on the Dask cluster" if client is not None else ""
    with step(f"gene features: fit PCA out of core, {k} components") as record:
        record.note(f"{n_genes:,} genes x {n_cells:,} cells, {expression.nnz:,} stored values, "
                    f"{len(chunks)} chunks x {FIT_PASSES} passes{where}")
        rng = np.random.default_rng(int(seed))
        # the in-memory rng.standard_normal((n_cells, size)), drawn chunk by chunk from the same stream
        omegas = (rng.standard_normal((stop - start, size), dtype=np.float32) for start, stop in chunks)
        sums, centres = _fold(iter_pass(source, _range_chunk, chunks, client=client, w=w, c=c,
                                        per_chunk=lambda i: {"omega": next(omegas)},
                                        desc="gene features: pass 2 (range)"), first=1, collect=0)
        centre = np.concatenate(centres).astype(np.float32)
        q = _orthonormal(_combine(sums, w, c))
        offsets = np.cumsum([0] + [stop - start for start, stop in chunks])

        def centre_of(i):
            return {"centre": centre[offsets[i]:offsets[i + 1]]}
        for iteration in range(N_POWER_ITERATIONS):
            sums, _ = _fold(iter_pass(source, _power_chunk, chunks, client=client, w=w, c=c, q=q,
                                      per_chunk=centre_of,
                                      desc=f"gene features: pass {3 + iteration} (power iteration {iteration + 1})"))
            q = _orthonormal(_combine(sums, w, c))
        sums, pieces = _fold(iter_pass(source, _power_chunk, chunks, client=client, w=w, c=c, q=q, keep=True,
                                       per_chunk=centre_of, desc=f"gene features: pass {FIT_PASSES} (axes)"),
                             collect=3)
        a_z = _combine(sums, w, c).astype(np.float64)  # A B^T, genes x size
        z = np.concatenate(pieces)  # B^T = A^T Q, cells x size (float32)
        del pieces
        gram = np.zeros((size, size))
        for start in range(0, n_cells, 1 << 16):  # B B^T in float64 without a float64 copy of B
            block = z[start:start + (1 << 16)].astype(np.float64)
            gram += block.T @ block
        with _small_lapack():
            values, vectors = np.linalg.eigh(gram)
        order = np.argsort(values)[::-1][:k]
        singular = np.sqrt(np.clip(values[order], 0.0, None))
        inverse = np.divide(1.0, singular, out=np.zeros_like(singular), where=singular > 0)
        rotate = vectors[:, order] * inverse[None, :]  # V = B^T U_b S^-1
        axes = np.empty((k, n_cells), dtype=np.float32)
        for start in range(0, n_cells, 1 << 16):
            axes[:, start:start + (1 << 16)] = (z[start:start + (1 << 16)].astype(np.float64) @ rotate).T
        del z
        signs = np.sign(axes[np.arange(k), np.argmax(np.abs(axes), axis=1)]).astype(np.float64)
        signs[signs == 0] = 1.0
        axes *= signs[:, None].astype(np.float32)
        features = (a_z @ rotate * signs[None, :]).astype(np.float32)  # A V = A B^T U_b S^-1
        first_std = float(np.std(features[:, 0], dtype=np.float64))
        recipe.scale = first_std if standardize and first_std > 0 else 1.0
        recipe.mean, recipe.components = centre, axes
        recipe.reference = features / np.float32(recipe.scale)
    recipe.genes = [str(g) for g in expression.var_names]
    recipe._streamed_from = expression.fingerprint()  # transform on this very matrix returns reference
    return recipe


def transform_streamed(recipe, expression, refit: bool = False, path=None, genes=None) -> np.ndarray:
    """``FeatureRecipe.transform`` on a streamed matrix holding the training cells (one pass)."""
    path = path or expression.source.path
    if not recipe.how.streams or refit:
        what = "refitting features" if refit else f"feature kind {recipe.kind!r}"
        raise DataError(path, f"{what} cannot be computed out of core",
                        "read the matrix in memory (--in-memory, out_of_core=False)")
    rows = None if genes is None else np.asarray(genes)
    if getattr(recipe, "_streamed_from", None) == expression.fingerprint():
        out = recipe.reference if rows is None else recipe.reference[rows]
        return np.ascontiguousarray(out, dtype=np.float32)
    position = pd.Index([str(cell) for cell in expression.obs_names]).get_indexer(recipe.cells)
    missing = int((position < 0).sum())
    if missing:
        raise DataError(path, f"lacks {missing} of the {len(recipe.cells)} training cells; features of other cells "
                        "(travel) are computed in memory only",
                        "predict on the training matrix, or read this one in memory (--in-memory, out_of_core=False)")
    training_index = np.full(expression.n_obs, -1, dtype=np.int64)
    training_index[position] = np.arange(len(position))
    axes_by_cell = np.ascontiguousarray(recipe.components.T, dtype=np.float32)  # training cells x k
    chunks = expression.chunks()

    def chunk_inputs(i):
        start, stop = chunks[i]
        index = training_index[start:stop]
        kept = index >= 0
        picked = index[kept]
        return {"rows": None if kept.all() else np.flatnonzero(kept), "axes": axes_by_cell[picked],
                "centre": np.asarray(recipe.mean, dtype=np.float32)[picked]}
    with step(f"gene features: pca for {expression.n_vars:,} genes out of core") as record:
        check = expression.stats is None  # not read before: this pass makes the file's checks too
        record.note(f"{expression.n_obs:,} cells, {len(chunks)} chunks, 1 pass"
                    + (" with the file's checks" if check else "")
                    + (" on the Dask cluster" if expression.client is not None else ""))
        stats, scan = [], new_scan(expression.source)

        def folding(results):  # fold the statistics and checks of each chunk on the way
            for result in results:
                stats[:] = [result[0] if not stats else merge_stats(stats[0], result[0])]
                if check:
                    merge_scan(scan, result[4])
                yield result
        names = {} if expression.client is not None else {"cells": expression.obs_names, "genes": expression.var_names,
                                                          "path": str(path)}
        sums, _ = _fold(folding(iter_pass(expression.source, _transform_chunk, chunks, client=expression.client,
                                          desc="gene features: pass (training axes)", per_chunk=chunk_inputs,
                                          check=check, **(names if check else {}))), first=1)
        if check:
            for note in scan.finish(expression.obs_names, expression.var_names, path):
                warnings.warn(note, DataWarning, stacklevel=3)
        count, mean, m2 = stats[0]
        std = np.sqrt(np.maximum(m2 / count, 0.0))
        std[std <= CONSTANT_RTOL * np.abs(mean)] = 0.0
        w, c = _scaling(mean, std, recipe.standardize)
        out = _combine(sums, w, c) / np.float32(recipe.scale)
    if rows is not None:
        out = out[rows]
    return np.ascontiguousarray(out, dtype=np.float32)


# -- the check a reader can rerun ----------------------------------------------------------------
#: float32 rounding of sums over ~10^3 cells, relative to the largest feature: how far the out-of-core
#: features may be from the in-memory ones (as ``tests/test_out_of_core.py`` checks).
FLOAT32_RTOL = 2e-5


def agreement(adata=None, n_components: int = 16, seed: int = 0, chunk_values: int = 50_000) -> dict:
    """Gene features of ``adata`` (an AnnData, cells x genes; default: the toy expression of
    :mod:`grnlib.data.toy` with 2,000 cells) fitted in memory and out of core, from the same ``.h5ad`` (a
    temporary file) read in several row chunks: the largest absolute difference relative to the largest
    in-memory feature, against :data:`FLOAT32_RTOL`."""
    import tempfile
    from pathlib import Path

    from grnlib.data import read_expression
    from grnlib.data.streaming import open_streamed
    from grnlib.data.toy import toy_user_data
    from grnlib.features import FeatureRecipe
    from grnlib.io import write_h5ad

    if adata is None:
        adata = toy_user_data(n_cells=2000)[0]
    with tempfile.TemporaryDirectory() as folder:
        path = write_h5ad(Path(folder) / "agreement.h5ad", adata)
        memory = FeatureRecipe.fit(read_expression(path), n_components=n_components, seed=seed)
        streamed = open_streamed(path, out_of_core=True, chunk_values=chunk_values)
        chunks = len(streamed.chunks())
        out_of_core = FeatureRecipe.fit(streamed, n_components=n_components, seed=seed)
        del streamed  # its reader holds the file open
    largest = float(np.abs(memory.reference).max())
    difference = float(np.abs(out_of_core.reference - memory.reference).max())
    relative = difference / largest if largest > 0 else difference
    return {"cells": int(adata.n_obs), "genes": int(adata.n_vars), "components": memory.n_components,
            "chunks": chunks, "max_abs_difference": difference, "largest_feature": largest, "relative": relative,
            "tolerance": FLOAT32_RTOL, "equal": relative <= FLOAT32_RTOL}
