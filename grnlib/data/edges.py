"""User edge lists (priors, ground truths) by gene symbol, and datasets built from them."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset
from grnlib.data.errors import DataError, DataWarning
from grnlib.data.symbols import match_symbols
from grnlib.data.validate import read_table, require_no_missing, shown

# Accepted header spellings (matched case-insensitively) for each column.
ALIASES = {
    "source": ("source", "tf", "regulator", "from", "gene1"),
    "target": ("target", "gene", "to", "gene2"),
    "sign": ("sign", "mode", "mor", "effect"),
    "weight": ("weight", "score", "confidence_score"),
}
SIGN_WORDS = {"activation": 1, "activator": 1, "+": 1, "repression": -1, "repressor": -1, "-": -1,
              "unknown": 0, "": 0}


def read_edges(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a prior/ground-truth edge list (CSV/TSV, optionally gzipped) by gene symbol.

    Columns (header required, names matched case-insensitively; aliases in ``ALIASES``):
    ``source`` and ``target`` (required), ``sign`` (optional: -1/0/1 or
    activation/repression/unknown) and ``weight`` (optional, finite numbers).

    Symbols are stripped of whitespace (case is kept: mouse symbols are mixed case).
    Self-loops and duplicated ``(source, target)`` pairs are dropped with a
    :class:`DataWarning` giving the counts (the first occurrence of a duplicate is kept);
    ``attrs["report"]`` records them too.

    Returns:
        DataFrame with ``source``, ``target`` (str) and, when present, ``sign`` (int8) and
        ``weight`` (float64).
    """
    path = Path(path)
    what = "edge file"
    raw = read_table(path, sep=sep, min_columns=2, what=what)
    lower = {c.lower(): c for c in raw.columns}
    picked = {}
    for column, names in ALIASES.items():
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is not None:
            picked[column] = hit
    missing = [c for c in ("source", "target") if c not in picked]
    if missing:
        raise DataError(path, f"{what} is missing column(s) {missing}; found {list(raw.columns)}",
                        "name the columns source,target (optionally sign, weight)")
    edges = raw[list(picked.values())].rename(columns={v: k for k, v in picked.items()})
    require_no_missing(edges, ["source", "target"], path, what)
    edges["source"] = edges["source"].astype(str).str.strip()
    edges["target"] = edges["target"].astype(str).str.strip()
    if "sign" in edges:
        edges["sign"] = _parse_signs(edges["sign"], path)
    if "weight" in edges:
        weight = pd.to_numeric(edges["weight"], errors="coerce")
        bad = ~np.isfinite(weight.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(path, f"column 'weight' must hold finite numbers; data row {row + 1} has "
                            f"{shown(edges['weight'].iloc[row])}", "fix or drop the weight column")
        edges["weight"] = weight.astype(np.float64)
    report = {"rows": len(edges)}
    loops = edges["source"] == edges["target"]
    dups = edges.duplicated(["source", "target"]) & ~loops
    report.update(self_loops=int(loops.sum()), duplicates=int(dups.sum()))
    if loops.any() or dups.any():
        warnings.warn(f"{path}: dropped {report['self_loops']} self-loop(s) and {report['duplicates']} "
                      "duplicated edge(s)", DataWarning, stacklevel=2)
    edges = edges[~loops & ~dups].reset_index(drop=True)
    if len(edges) == 0:
        raise DataError(path, "no edges left after dropping self-loops and duplicates",
                        "supply edges between two different genes")
    edges.attrs["report"] = report
    return edges


def _parse_signs(values: pd.Series, path: Path) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    words = values.astype(str).str.strip().str.lower().map(SIGN_WORDS)
    signs = numeric.where(numeric.notna(), words)
    bad = signs.isna() | ~signs.isin([-1, 0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(path, f"column 'sign' must be -1, 0, 1 or activation/repression/unknown; "
                        f"data row {row + 1} has {shown(values.iloc[row])}", "fix the sign values")
    return signs.astype(np.int8)


def dataset_from_edges(edges: pd.DataFrame, *, id: str = "custom", expression=None,
                       source: str | Path | None = None) -> GRNDataset:
    """A :class:`GRNDataset` from a symbol edge table (``source``, ``target`` columns).

    Without expression the gene universe is every symbol in the table (sorted) and the TFs
    are the sources. With expression (AnnData, cells x genes) the universe is the expression's
    genes in their order, edges are matched to them (exactly, else ignoring case) and edges
    naming unmeasured genes are dropped with a :class:`DataWarning`; ``meta`` has the counts.
    """
    for column in ("source", "target"):
        if column not in edges:
            raise DataError(source, f"edge table has no {column!r} column", "pass columns source and target")
    if len(edges) == 0:
        raise DataError(source, "edge table is empty", "pass at least one edge")
    if expression is None:
        genes = pd.Index(sorted(set(edges["source"]) | set(edges["target"])), name="gene")
    else:
        genes = pd.Index(expression.var_names, name="gene")
    src, dst = match_symbols(edges["source"], genes), match_symbols(edges["target"], genes)
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    n_outside = int(((src < 0) | (dst < 0)).sum())
    if n_outside:
        warnings.warn(f"{source or id}: dropped {n_outside} of {len(edges)} edge(s) naming genes without "
                      "expression", DataWarning, stacklevel=2)
    table = pd.DataFrame({"tf": src[keep], "target": dst[keep]}, dtype="int64").drop_duplicates()
    if len(table) == 0:
        raise DataError(source, "no edge connects two genes of the expression matrix",
                        "check both use the same gene naming (symbols, species)")
    table = table.sort_values(["tf", "target"], ignore_index=True)
    tf_ids = np.unique(table["tf"].to_numpy()).astype(np.int64)
    meta = {"n_edges_in": len(edges), "n_outside_expression": n_outside}
    return GRNDataset(id=id, genes=genes, tf_ids=tf_ids, edges=table, expression=expression,
                      source=None if source is None else Path(source), meta=meta)
