"""Expression matrices: reading (CSV/TSV/.h5ad), validation, and alignment to a gene universe."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlib.data.errors import DataError, DataWarning
from grnlib.data.symbols import match_symbols
from grnlib.data.validate import float32_matrix, plain_suffix, read_table, unique_symbols

GENES_AS = ("auto", "rows", "columns")
MISSING_GENES = ("zeros", "raise")


def read_expression(path: str | Path, genes_as: str = "auto", layer: str | None = None,
                    raw_counts: bool = False):
    """Read an expression matrix as AnnData, cells x genes, float32.

    Args:
        path: ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``) with names in the first column and
            the first row, or ``.h5ad``.
        genes_as: where the genes are in the file. ``"rows"``: one gene per row (the BEELINE and
            Stone & Roy layout, genes x cells); ``"columns"``: one gene per column (the AnnData
            layout, cells x genes). ``"auto"`` means ``"rows"`` for text files and ``"columns"``
            for ``.h5ad``: a matrix cannot reveal its orientation reliably, so the default follows
            each format's convention — pass the orientation explicitly when yours differs.
        layer: for ``.h5ad``, read this layer instead of ``X``.
        raw_counts: declare the values raw counts. They must then be non-negative (a DataError
            otherwise; non-integers only warn, since estimated counts are fractional). The counts
            are kept in ``layers["counts"]`` and ``X`` becomes ``log1p(counts per 10,000)``, the
            scale of the log-expression the benchmarks ship.

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
    if plain_suffix(path) == ".h5ad":
        adata = _read_h5ad(path, genes_as, layer)
    else:
        if layer is not None:
            raise DataError(path, f"layer={layer!r} only applies to .h5ad files", "drop the layer argument")
        adata = _read_text(path, genes_as)
    return _checked(adata, path, raw_counts)


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


def _checked(adata, path, raw_counts: bool):
    _check_values(adata, path, raw_counts)
    if raw_counts:
        adata.layers["counts"] = adata.X.copy()
        adata.X = _log_cp10k(adata.X)
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


def _read_h5ad(path: Path, genes_as: str, layer: str | None):
    import anndata as ad

    try:
        adata = ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for a damaged file
        raise DataError(path, f"not a readable .h5ad file ({type(exc).__name__}: {exc})",
                        "re-save it with anndata.write_h5ad") from exc
    return _from_anndata(adata, path, genes_as, layer)


def _from_anndata(adata, path, genes_as: str, layer: str | None):
    import anndata as ad

    if layer is not None:
        if layer not in adata.layers:
            raise DataError(path, f"layer {layer!r} not found; layers are {list(adata.layers)}",
                            "pass one of those layers, or layer=None for X")
        x = adata.layers[layer]
    else:
        x = adata.X
    if x is None:
        raise DataError(path, "the .h5ad file has no X matrix", "store the expression in X or a layer")
    obs, var = adata.obs.copy(), adata.var.copy()
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


def _check_values(adata, path: Path, raw_counts: bool) -> None:
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise DataError(path, f"expression matrix has {adata.n_obs} cells and {adata.n_vars} genes",
                        "export a non-empty matrix")
    x = adata.X
    values = x.data if sp.issparse(x) else x
    finite = np.isfinite(values)
    if not finite.all():
        n_nan, n_inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        cell, gene = _first_position(x, ~finite)
        raise DataError(path, f"expression matrix has {n_nan} NaN and {n_inf} infinite value(s), "
                        f"first at cell {adata.obs_names[cell]!r}, gene {adata.var_names[gene]!r}",
                        "impute or drop those entries (missing values are not zeros)")
    if raw_counts:
        negative = values < 0
        if negative.any():
            cell, gene = _first_position(x, negative)
            raise DataError(path, f"raw_counts=True but the matrix has {int(negative.sum())} negative "
                            f"value(s), first at cell {adata.obs_names[cell]!r}, gene "
                            f"{adata.var_names[gene]!r}", "pass raw_counts=False for log or scaled data")
        if not np.all(values == np.round(values)):
            warnings.warn(f"{path}: raw_counts=True but some values are not whole numbers "
                          "(estimated counts?); normalising them anyway", DataWarning, stacklevel=3)
    lo = np.asarray(x.min(axis=0).todense() if sp.issparse(x) else x.min(axis=0)).ravel()
    hi = np.asarray(x.max(axis=0).todense() if sp.issparse(x) else x.max(axis=0)).ravel()
    constant = lo == hi
    if constant.any():
        zero = constant & (hi == 0)
        names = list(adata.var_names[constant][:5])
        warnings.warn(f"{path}: {int(constant.sum())} gene(s) have zero variance across cells "
                      f"({int(zero.sum())} are zero in every cell), e.g. {names}; they carry no "
                      "expression signal", DataWarning, stacklevel=3)


def _first_position(x, mask) -> tuple[int, int]:
    """(cell, gene) of the first True in ``mask`` (aligned with ``x`` or its sparse data)."""
    if sp.issparse(x):
        coo = x.tocoo()
        k = int(np.flatnonzero(mask)[0])
        return int(coo.row[k]), int(coo.col[k])
    cell, gene = np.argwhere(mask)[0]
    return int(cell), int(gene)


def _log_cp10k(x):
    totals = np.asarray(x.sum(axis=1)).ravel()
    scale = np.divide(1e4, totals, out=np.zeros_like(totals, dtype=np.float64), where=totals > 0)
    if sp.issparse(x):
        out = sp.csr_matrix(sp.diags(scale) @ x)
        out.data = np.log1p(out.data)
        return out.astype(np.float32)
    return np.log1p(x * scale[:, None]).astype(np.float32)


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
