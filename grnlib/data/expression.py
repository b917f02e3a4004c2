"""Expression matrices: reading (CSV/TSV/.h5ad), validation, and alignment to a gene universe."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlib.errors import DataError, DataWarning
from grnlib.data.symbols import match_symbols
from grnlib.data.validate import float32_block, float32_matrix, plain_suffix, read_table, unique_symbols
from grnlib.progress import bar, step

GENES_AS = ("auto", "rows", "columns")
MISSING_GENES = ("zeros", "raise")
#: Stored values read, checked and normalised per chunk of cells (bounds the temporaries).
READ_CHUNK_VALUES = 1 << 23
#: ``layer=RAW_LAYER`` reads ``adata.raw.X`` (scanpy keeps the counts there), unless a layer has that name.
RAW_LAYER = "raw"
#: Non-integer values no larger than this, declared raw counts, are log-scale data (log1p CP10k stays below
#: ~12, log2 of counts below 30); larger fractional values are estimated counts (salmon, kallisto).
LOG_SCALE_MAX = 30.0


def read_expression(path: str | Path, genes_as: str = "auto", layer: str | None = None,
                    raw_counts: bool = False, keep_counts: bool = True):
    """Read an expression matrix as AnnData, cells x genes, float32.

    Args:
        path: ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``) with names in the first column and
            the first row, or ``.h5ad``.
        genes_as: where the genes are in the file. ``"rows"``: one gene per row (the BEELINE and
            Stone & Roy layout, genes x cells); ``"columns"``: one gene per column (the AnnData
            layout, cells x genes). ``"auto"`` means ``"rows"`` for text files and ``"columns"``
            for ``.h5ad``: a matrix cannot reveal its orientation reliably, so the default follows
            each format's convention — pass the orientation explicitly when yours differs.
        layer: for ``.h5ad``, read this layer instead of ``X``; ``"raw"`` reads ``adata.raw.X`` (with
            ``adata.raw.var_names``) when no layer has that name.
        raw_counts: declare the values raw counts. They must then be non-negative (a DataError
            otherwise; non-integers only warn, since estimated counts are fractional). The counts
            are kept in ``layers["counts"]`` and ``X`` becomes ``log1p(counts per 10,000)``, the
            scale of the log-expression the benchmarks ship.
        keep_counts: with ``raw_counts``, keep the raw values in ``layers["counts"]``. ``grnlib
            train``/``predict`` never read them and pass False: they would double the memory.

    Returns:
        AnnData with ``obs_names`` = cells, ``var_names`` = genes (both unique, stripped).

    Genes that are zero (or constant) in every cell trigger a :class:`DataWarning`, not an error:
    they are legitimate but carry no signal for correlation-based scores.
    """
    path = Path(path)
    if genes_as not in GENES_AS:
        raise DataError(path, f"genes_as={genes_as!r} is not one of {GENES_AS}", "pass 'rows' or 'columns'")
    if not path.is_file():
        raise DataError(path, "expression file not found", "check the path")
    with step(f"read {path.name}") as record:
        if plain_suffix(path) == ".h5ad":
            adata = _read_h5ad(path, genes_as, layer, raw_counts, keep_counts)
        else:
            if layer is not None:
                raise DataError(path, f"layer={layer!r} only applies to .h5ad files", "drop the layer argument")
            adata = _checked(_read_text(path, genes_as), path, raw_counts, keep_counts)
        stored = f", {adata.X.nnz:,} stored values" if sp.issparse(adata.X) else ""
        record.note(f"{adata.n_obs:,} cells x {adata.n_vars:,} genes{stored}")
        if raw_counts:
            record.note("normalised to log1p(counts per 10,000)")
    return adata


def expression_from_anndata(adata, layer: str | None = None, raw_counts: bool = False, path="AnnData"):
    """:func:`read_expression`'s checks and normalisation for an AnnData already in memory (cells x
    genes): a new AnnData with ``X`` (or ``layer``) as float32, unique stripped names, finite values
    (raw counts non-negative and normalised as there). ``adata`` itself is not changed; ``path``
    names it in messages."""
    import anndata as ad

    if not isinstance(adata, ad.AnnData):
        raise DataError(path, f"expected an AnnData (cells x genes), got {type(adata).__name__}",
                        "pass an AnnData, or the path of an expression file")
    return _checked(_from_anndata(adata, path, "columns", layer), path, raw_counts)


def _checked(adata, path, raw_counts: bool, keep_counts: bool = True, stacklevel: int = 3):
    """Check (and with ``raw_counts`` normalise) an in-memory AnnData whose X is CSR or dense float32,
    chunk by chunk: a sparse X stays sparse, and without ``raw_counts`` it is not copied."""
    x = adata.X
    normalised, counts, notes = _load(x, adata.obs_names, adata.var_names, path, raw_counts,
                                      nnz=x.nnz if sp.issparse(x) else None, keep=raw_counts,
                                      keep_counts=keep_counts)
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=stacklevel)
    if raw_counts:
        if keep_counts:
            adata.layers["counts"] = counts
        adata.X = normalised
        adata.uns["normalisation"] = "log1p(counts per 10,000)"
    return adata


def _read_text(path: Path, genes_as: str):
    import anndata as ad

    df = read_table(path, index_col=0, min_columns=2, what="expression matrix",
                    column_names="gene" if genes_as == "columns" else "cell")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        col = non_numeric[0]
        coerced = pd.to_numeric(df[col], errors="coerce")
        row = int(np.flatnonzero(coerced.isna().to_numpy() & df[col].notna().to_numpy())[0])
        raise DataError(path, f"expression matrix has non-numeric value {df[col].iloc[row]!r} in column "
                        f"{col!r}, row {df.index[row]!r}", "keep only numbers below the header and "
                        "after the first (name) column")
    rows_are_genes = genes_as in ("auto", "rows")
    gene_names = df.index if rows_are_genes else pd.Index(df.columns)
    cell_names = pd.Index(df.columns) if rows_are_genes else df.index
    genes = unique_symbols(gene_names, path, "expression matrix")
    cells = _unique_cells(cell_names, path)
    x = df.to_numpy(dtype=np.float64)
    x = x.T if rows_are_genes else x
    return ad.AnnData(X=float32_matrix(x, path, cells, genes), obs=pd.DataFrame(index=cells.rename("cell")),
                      var=pd.DataFrame(index=genes.rename("gene")))


def _read_h5ad(path: Path, genes_as: str, layer: str | None, raw_counts: bool, keep_counts: bool):
    """Read a .h5ad file in row chunks: the matrix (X or ``layer``) is sliced from the file a few
    million stored values at a time, checked, normalised and copied into the final CSR (or dense)
    float32 matrix, so peak memory stays near that matrix. Other elements (layers, obsm, uns) are
    never loaded. Layouts that cannot be sliced by cell (CSC storage, ``genes_as="rows"``) and
    files anndata must convert (old versions) are read whole, without densifying."""
    import anndata as ad
    import h5py
    from anndata.io import read_elem, sparse_dataset

    unreadable = "re-save it with anndata.write_h5ad"
    try:
        file = h5py.File(path, "r")
    except Exception as exc:  # not HDF5, truncated, locked...
        raise DataError(path, f"not a readable .h5ad file ({type(exc).__name__}: {exc})", unreadable) from exc
    with file:
        layers = list(file["layers"]) if "layers" in file else []
        from_raw = layer == RAW_LAYER and layer not in layers and "raw" in file and "X" in file["raw"]
        if layer is not None and layer not in layers and not from_raw:
            raw = "" if layer != RAW_LAYER else " and the file has no .raw"
            raise DataError(path, f"layer {layer!r} not found; layers are {layers}{raw}",
                            "pass one of those layers, or layer=None for X")
        if layer is None and "X" not in file:
            raise DataError(path, "the .h5ad file has no X matrix", "store the expression in X or a layer")
        elem = file["raw"]["X"] if from_raw else file["layers"][layer] if layer is not None else file["X"]
        encoding = elem.attrs.get("encoding-type", "array" if isinstance(elem, h5py.Dataset) else None)
        try:
            obs, var = read_elem(file["obs"]), read_elem(file["raw"]["var"] if from_raw else file["var"])
            if isinstance(elem, h5py.Dataset):  # dense: slicing rows reads only those rows
                by_cell = genes_as != "rows" and elem.ndim == 2
            else:  # sparse: only CSR stores a cell's values together
                by_cell = genes_as != "rows" and encoding == "csr_matrix"
            if not by_cell:
                x = read_elem(elem)
        except Exception:  # an old layout anndata converts on read: read it whole below
            obs = None
        if obs is not None and by_cell:
            obs.index = _unique_cells(obs.index, path).rename("cell")
            var.index = unique_symbols(var.index, path, "expression matrix").rename("gene")
            try:
                if isinstance(elem, h5py.Dataset):
                    x, counts, notes = _load(elem, obs.index, var.index, path, raw_counts,
                                             keep_counts=keep_counts)
                else:
                    x, counts, notes = _load(sparse_dataset(elem), obs.index, var.index, path, raw_counts,
                                             nnz=int(elem["indptr"][-1]), keep_counts=keep_counts)
            except DataError:
                raise
            except Exception as exc:  # damaged data inside a readable file
                raise DataError(path, f"not a readable .h5ad file ({type(exc).__name__}: {exc})",
                                unreadable) from exc
            for note in notes:
                warnings.warn(note, DataWarning, stacklevel=3)
            adata = ad.AnnData(X=x, obs=obs, var=var)
            if raw_counts:
                if keep_counts:
                    adata.layers["counts"] = counts
                adata.uns["normalisation"] = "log1p(counts per 10,000)"
            return adata
    if obs is None:
        try:
            whole = ad.read_h5ad(path)
        except Exception as exc:  # h5py/anndata raise many types for a damaged file
            raise DataError(path, f"not a readable .h5ad file ({type(exc).__name__}: {exc})", unreadable) from exc
        return _checked(_from_anndata(whole, path, genes_as, layer), path, raw_counts, keep_counts, stacklevel=4)
    return _checked(_from_anndata(ad.AnnData(X=x, obs=obs, var=var), path, genes_as, None), path, raw_counts,
                    keep_counts, stacklevel=4)


def _from_anndata(adata, path, genes_as: str, layer: str | None):
    import anndata as ad

    var = adata.var
    if layer == RAW_LAYER and layer not in adata.layers and adata.raw is not None:
        x, var = adata.raw.X, adata.raw.var
    elif layer is not None:
        if layer not in adata.layers:
            raw = " and the AnnData has no .raw" if layer == RAW_LAYER else ""
            raise DataError(path, f"layer {layer!r} not found; layers are {list(adata.layers)}{raw}",
                            "pass one of those layers, or layer=None for X")
        x = adata.layers[layer]
    else:
        x = adata.X
    if x is None:
        raise DataError(path, "the .h5ad file has no X matrix", "store the expression in X or a layer")
    obs, var = adata.obs.copy(), var.copy()
    if genes_as == "rows":  # stored genes x cells
        x, obs, var = x.T, var, obs
    x = x.astype(np.float32) if sp.issparse(x) else np.asarray(x, dtype=np.float32)
    obs.index = _unique_cells(obs.index, path).rename("cell")
    var.index = unique_symbols(var.index, path, "expression matrix").rename("gene")
    return ad.AnnData(X=sp.csr_matrix(x) if sp.issparse(x) else x, obs=obs, var=var)


def _unique_cells(names, path) -> pd.Index:
    index = pd.Index(pd.Series(names).astype(str).str.strip())
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise DataError(path, f"expression matrix has {len(dup)} duplicated cell name(s), e.g. {list(dup[:5])}",
                        "make cell names unique")
    return index


class _Scan:
    """What the checks need, gathered chunk by chunk over cell rows: NaN/inf and negative counts
    (with the first position of each), whether counts are whole numbers, per-gene min and max."""

    def __init__(self, n_cells: int, n_genes: int, raw_counts: bool):
        self.n_cells, self.raw_counts = n_cells, raw_counts
        self.lo, self.hi = np.full(n_genes, np.inf, np.float32), np.full(n_genes, -np.inf, np.float32)
        self.stored = np.zeros(n_genes, np.int64)
        self.n_nan = self.n_inf = self.n_negative = 0
        self.first_bad = self.first_negative = None
        self.fractional = False

    def sparse(self, block, start: int) -> None:
        """``block``: CSR float32 rows ``start..`` of the matrix."""
        def where(k):
            return start + int(np.searchsorted(block.indptr, k, side="right")) - 1, int(block.indices[k])
        self._values(block.data, where)
        with np.errstate(invalid="ignore"):  # NaN is counted above and reported by finish()
            np.minimum.at(self.lo, block.indices, block.data)
            np.maximum.at(self.hi, block.indices, block.data)
        self.stored += np.bincount(block.indices, minlength=len(self.stored))

    def dense(self, block, start: int) -> None:
        n_genes = block.shape[1]
        self._values(block.ravel(), lambda k: (start + k // n_genes, k % n_genes))
        if len(block):
            with np.errstate(invalid="ignore"):
                self.lo, self.hi = np.minimum(self.lo, block.min(axis=0)), np.maximum(self.hi, block.max(axis=0))
            self.stored += len(block)

    def _values(self, values, where) -> None:
        finite = np.isfinite(values)
        if not finite.all():
            self.n_nan += int(np.isnan(values).sum())
            self.n_inf += int(np.isinf(values).sum())
            self.first_bad = self.first_bad or where(int(np.argmin(finite)))
        if self.raw_counts:
            negative = values < 0
            if negative.any():
                self.n_negative += int(negative.sum())
                self.first_negative = self.first_negative or where(int(np.argmax(negative)))
        # whole numbers with and without raw_counts: log data passed as counts, counts passed as log data
        self.fractional = self.fractional or not np.all(values == np.round(values))

    def finish(self, cells, genes, path) -> list[str]:
        """Raise the first problem as a DataError; return the warnings to give."""
        if self.first_bad:
            cell, gene = self.first_bad
            raise DataError(path, f"expression matrix has {self.n_nan} NaN and {self.n_inf} infinite value(s), "
                            f"first at cell {cells[cell]!r}, gene {genes[gene]!r}",
                            "impute or drop those entries (missing values are not zeros)")
        if self.first_negative:
            cell, gene = self.first_negative
            raise DataError(path, f"raw_counts=True but the matrix has {self.n_negative} negative "
                            f"value(s), first at cell {cells[cell]!r}, gene {genes[gene]!r}",
                            "pass raw_counts=False for log or scaled data")
        notes = []
        implicit_zero = self.stored < self.n_cells  # a sparse gene not stored in some cell is 0 there
        lo, hi = np.where(implicit_zero, np.minimum(self.lo, 0), self.lo), np.where(implicit_zero,
                                                                                     np.maximum(self.hi, 0), self.hi)
        largest = float(np.nanmax(hi)) if len(hi) else 0.0
        if self.raw_counts and self.fractional and largest <= LOG_SCALE_MAX:
            raise DataError(path, f"raw_counts=True but the values look log-transformed (not whole numbers, the "
                            f"largest {largest:.3g})", "pass raw_counts=False for log or scaled data, or read the "
                            "counts instead: layer='raw' reads adata.raw, or name the layer holding them")
        if self.raw_counts and self.fractional:
            notes.append(f"{path}: raw_counts=True but some values are not whole numbers "
                         "(estimated counts?); normalising them anyway")
        if not self.raw_counts and not self.fractional and largest > 1 and float(np.nanmin(lo)) >= 0:
            notes.append(f"{path}: the values are all whole numbers (the largest {largest:.6g}): raw counts? "
                         "pass raw_counts=True to normalise them to log1p(counts per 10,000); they are used "
                         "as they are")
        constant = lo == hi
        if constant.any():
            zero = constant & (hi == 0)
            notes.append(f"{path}: {int(constant.sum())} gene(s) have zero variance across cells "
                         f"({int(zero.sum())} are zero in every cell), e.g. {list(genes[constant][:5])}; they "
                         "carry no expression signal")
        return notes


def _load(source, cells, genes, path, raw_counts: bool, nnz: int | None = None, keep: bool = True,
          keep_counts: bool = True):
    """Check ``source`` (cells x genes, sliceable by rows: a CSR matrix or backed CSR dataset when
    ``nnz`` is given, else a dense array or h5py dataset) a chunk of rows at a time.

    Returns ``(x, counts, warnings)``: with ``keep``, ``x`` is the float32 matrix (CSR when sparse;
    log1p(CP10k) with ``raw_counts``, then ``counts`` holds the raw values), assembled into arrays
    allocated once; without it both are None (the caller keeps its own matrix). ``counts`` is None
    too without ``keep_counts``.
    """
    n_cells, n_genes = len(cells), len(genes)
    if n_cells == 0 or n_genes == 0:
        raise DataError(path, f"expression matrix has {n_cells} cells and {n_genes} genes",
                        "export a non-empty matrix")
    scan = _Scan(n_cells, n_genes, raw_counts)
    keep_counts = keep and raw_counts and keep_counts
    sparse = nnz is not None
    rows = max(1, (READ_CHUNK_VALUES * n_cells // max(nnz, 1)) if sparse else READ_CHUNK_VALUES // n_genes)
    x = counts = None
    if keep and sparse:
        index = np.int32 if max(nnz, n_genes) < 2 ** 31 else np.int64
        data, indices, indptr = np.empty(nnz, np.float32), np.empty(nnz, index), np.zeros(n_cells + 1, index)
        raw = np.empty(nnz, np.float32) if keep_counts else None
    elif keep:
        x = np.empty((n_cells, n_genes), np.float32)
        counts = np.empty((n_cells, n_genes), np.float32) if keep_counts else None
    filled = 0
    for start in bar(range(0, n_cells, rows), desc=f"read {Path(str(path)).name}", unit="chunk"):
        stop = min(start + rows, n_cells)
        block = source[start:stop]
        if sparse:
            block = float32_block(sp.csr_matrix(block), path, cells[start:stop], genes)
            scan.sparse(block, start)
            if keep:
                end = filled + block.nnz
                if end > nnz:
                    raise ValueError(f"matrix stores more than the {nnz} values its header declares")
                if keep_counts:
                    raw[filled:end] = block.data
                data[filled:end] = _log_cp10k_sparse(block) if raw_counts else block.data
                indices[filled:end] = block.indices
                indptr[start + 1:stop + 1] = block.indptr[1:] + filled
                filled = end
        else:
            block = float32_block(np.asarray(block), path, cells[start:stop], genes)
            scan.dense(block, start)
            if keep:
                x[start:stop] = _log_cp10k_dense(block) if raw_counts else block
                if keep_counts:
                    counts[start:stop] = block
    notes = scan.finish(cells, genes, path)
    if keep and sparse:
        shape = (n_cells, n_genes)
        x = sp.csr_matrix((data[:filled], indices[:filled], indptr), shape=shape)
        if keep_counts:  # own index arrays: an in-place edit of one matrix must not corrupt the other
            counts = sp.csr_matrix((raw[:filled], indices[:filled].copy(), indptr.copy()), shape=shape)
    return x, counts, notes


def _log_cp10k_sparse(block) -> np.ndarray:
    """log1p(counts per 10,000) of a CSR block's stored values (each row is one cell's library)."""
    rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    totals = np.bincount(rows, weights=block.data, minlength=block.shape[0])
    scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
    with np.errstate(invalid="ignore", divide="ignore"):  # negative counts are reported after the scan
        return np.log1p(block.data * scale[rows]).astype(np.float32)


def _log_cp10k_dense(block) -> np.ndarray:
    totals = block.sum(axis=1, dtype=np.float64)
    scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log1p(block * scale[:, None]).astype(np.float32)


def align_expression(adata, genes: pd.Index, missing_genes: str = "zeros", path=None):
    """Reorder (and subset) expression columns to ``genes`` so ``var_names == genes``.

    Symbols are matched exactly, then ignoring case (see :func:`match_symbols`). Expression
    genes outside ``genes`` are dropped. Genes of the universe that the matrix lacks:

    - ``missing_genes="zeros"``: get an all-zero column (log-expression 0 = not detected),
      flagged ``var["measured"] = False``, with a :class:`DataWarning` giving the count;
    - ``missing_genes="raise"``: DataError.

    Returns:
        AnnData (cells x len(genes)); ``uns["alignment"]`` records the counts.
    """
    import anndata as ad

    if missing_genes not in MISSING_GENES:
        raise DataError(path, f"missing_genes={missing_genes!r} is not one of {MISSING_GENES}",
                        "pass 'zeros' or 'raise'")
    genes = pd.Index(genes)
    source = match_symbols(genes, adata.var_names)
    measured = source >= 0
    n_missing = int((~measured).sum())
    n_dropped = adata.n_vars - len(np.unique(source[measured]))
    if n_missing and missing_genes == "raise":
        raise DataError(path, f"expression lacks {n_missing} of {len(genes)} genes of the dataset, "
                        f"e.g. {list(genes[~measured][:5])}",
                        "use expression covering every gene, or pass missing_genes='zeros'")
    if n_missing:
        warnings.warn(f"{path}: expression lacks {n_missing} of {len(genes)} genes, e.g. "
                      f"{list(genes[~measured][:5])}; they get all-zero profiles "
                      "(var['measured'] is False)", DataWarning, stacklevel=3)
    x = adata.X
    if n_missing == 0 and np.array_equal(source, np.arange(adata.n_vars)):
        aligned = x
    elif sp.issparse(x):
        # A 0/1 selection matrix places expression column source[j] at column j.
        select = sp.csr_matrix((np.ones(int(measured.sum()), dtype=np.float32),
                                (source[measured], np.flatnonzero(measured))),
                               shape=(adata.n_vars, len(genes)))
        aligned = sp.csr_matrix(x @ select)
    else:
        aligned = np.zeros((adata.n_obs, len(genes)), dtype=np.float32)
        aligned[:, measured] = np.asarray(x)[:, source[measured]]
    var = pd.DataFrame({"measured": measured}, index=genes.rename("gene"))
    out = ad.AnnData(X=aligned, obs=adata.obs.copy(), var=var)
    out.uns["alignment"] = {"n_missing_genes": n_missing, "n_dropped_genes": int(n_dropped)}
    return out
