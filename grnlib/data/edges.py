"""User edge lists (priors, ground truths) by gene symbol, and datasets built from them.

Besides a plain ``source,target`` table, the edge tables of the tools people already use are read
as they are written (:data:`grnlib.formats.FORMATS`): grnlib's own ranked table, BEELINE's
``rankedEdges.csv``, arboreto/pySCENIC adjacencies and decoupler networks (its CollecTRI and DoRothEA
tables included).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset
from grnlib.errors import DataError, DataWarning
from grnlib.formats import detect_format, edge_format, format_names
from grnlib.data.symbols import match_symbols
from grnlib.data.validate import delimiter_for, first_line, read_table, require_no_missing, shown

# Accepted header spellings (matched case-insensitively) for each column.
ALIASES = {
    "source": ("source", "tf", "regulator", "from", "gene1"),
    "target": ("target", "gene", "to", "gene2"),
    "sign": ("sign", "mode", "mor", "effect"),
    "weight": ("weight", "score", "confidence_score", "edgeweight", "importance"),
}
SIGN_WORDS = {"activation": 1, "activator": 1, "+": 1, "repression": -1, "repressor": -1, "-": -1,
              "unknown": 0, "": 0}



def check_edge_format(format: str | None, path=None) -> str | None:
    """``format`` when it names an edge table format of :data:`grnlib.formats.FORMATS` (or is None)."""
    if format is not None and format not in format_names(table=True):
        raise DataError(path, f"unknown edge table format {format!r}", f"use one of {format_names(table=True)}")
    return format


def edge_separator(path: str | Path) -> str:
    """The separator of an edge file: the one its suffix implies, except for a known header written
    with the other one (BEELINE writes ``rankedEdges.csv`` tab-separated)."""
    sep = delimiter_for(path)
    line = first_line(path)
    if line is None or sep in line:
        return sep
    for other in ("\t", ","):
        if other != sep and other in line and detect_format(line.split(other)) is not None:
            return other
    return sep


def read_edges(path: str | Path, sep: str | None = None, format: str | None = None) -> pd.DataFrame:
    """Read a prior/ground-truth edge list (CSV/TSV, optionally gzipped) by gene symbol.

    Columns (header required, names matched case-insensitively; aliases in ``ALIASES``):
    ``source`` and ``target`` (required), ``sign`` (optional: -1/0/1 or
    activation/repression/unknown) and ``weight`` (optional, finite numbers). The tables of
    :data:`grnlib.formats.FORMATS` are recognised by their header (``tf,target,score``,
    ``Gene1,Gene2,EdgeWeight``, ``TF,target,importance``, ``source,target,weight``);
    ``format`` forces one of them, and then its exact column names are required. A decoupler
    network's signed weights (CollecTRI, DoRothEA) give ``sign`` when no sign column does.

    Symbols are stripped of whitespace (case is kept: mouse symbols are mixed case).
    Self-loops and duplicated ``(source, target)`` pairs are dropped with a
    :class:`DataWarning` giving the counts (the first occurrence of a duplicate is kept);
    ``attrs["report"]`` records them too, and ``attrs["format"]`` the detected format.

    Returns:
        DataFrame with ``source``, ``target`` (str) and, when present, ``sign`` (int8) and
        ``weight`` (float64).
    """
    path = Path(path)
    check_edge_format(format, path)
    if sep is None and path.is_file():  # a missing file is reported by read_table
        sep = edge_separator(path)  # by header and suffix, also when a format is forced (BEELINE writes both)
    raw = read_table(path, sep=sep, min_columns=2, what="edge file")
    return edges_from_table(raw, path=path, format=format)


def edges_from_table(raw: pd.DataFrame, path=None, format: str | None = None,
                     what: str = "edge file") -> pd.DataFrame:
    """The standard edge table (see :func:`read_edges`) from a DataFrame in any of the accepted
    layouts (``path`` is only named in messages)."""
    check_edge_format(format, path)
    detected = detect_format(raw.columns)
    lower = {str(c).lower(): c for c in raw.columns}
    if format is not None:
        forced = edge_format(format)
        names = [n.lower() for n in forced.columns[:3]]
        if not all(n in lower for n in names[:2]):
            raise DataError(path, f"{what} has columns {[str(c) for c in raw.columns]}, not the {format} header "
                            f"{', '.join(forced.columns[:3])}",
                            f"drop the format setting to detect the layout, or write the {format} header")
        picked = {"source": lower[names[0]], "target": lower[names[1]]}
        if names[2] in lower:
            picked["weight"] = lower[names[2]]
        if forced.sign_column is not None and forced.sign_column in lower:  # decoupler 1.x: mor is the sign
            picked["sign"] = lower[forced.sign_column]
    else:
        picked = {}
        for column, names in ALIASES.items():
            hit = next((lower[n] for n in names if n in lower), None)
            if hit is not None:
                picked[column] = hit
    missing = [c for c in ("source", "target") if c not in picked]
    if missing:
        raise DataError(path, f"{what} is missing column(s) {missing}; found {[str(c) for c in raw.columns]}",
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
        # A signed format (decoupler) reads the weight's sign as the mode of regulation (CollecTRI's +-1,
        # DoRothEA's fractional +-weights, grnlib's signed ranking): + activates, - represses. All-positive
        # magnitudes other than 1 say nothing about the mode, so they give no sign.
        weights = edges["weight"]
        if (format or detected) is not None and edge_format(format or detected).signed and "sign" not in edges and (
                (weights < 0).any() or weights.isin([-1, 1]).all()):
            edges["sign"] = np.sign(weights).astype(np.int8)
    edges = drop_loops_and_duplicates(edges, path, stacklevel=3)
    edges.attrs["format"] = format or detected
    return edges


def drop_loops_and_duplicates(edges: pd.DataFrame, path, stacklevel: int = 2) -> pd.DataFrame:
    """``edges`` without self-loops and repeated ``(source, target)`` pairs, with a :class:`DataWarning`
    giving both counts (``attrs["report"]`` keeps them); a DataError naming ``path`` when none is left."""
    loops = edges["source"] == edges["target"]
    dups = edges.duplicated(["source", "target"]) & ~loops
    report = {"rows": len(edges), "self_loops": int(loops.sum()), "duplicates": int(dups.sum())}
    if loops.any() or dups.any():
        warnings.warn(f"{path}: dropped {report['self_loops']} self-loop(s) and {report['duplicates']} "
                      "duplicated edge(s)", DataWarning, stacklevel=stacklevel + 1)
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
    are the sources. A ``sign`` column (-1/0/1, see :func:`read_edges`) is kept in ``edges``. With expression (AnnData, cells x genes) the universe is the expression's
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
    outside = (src < 0) | (dst < 0)
    n_outside = int(outside.sum())
    if n_outside:
        warnings.warn(f"{source or id}: dropped {n_outside} of {len(edges)} edge(s) naming genes without "
                      "expression", DataWarning, stacklevel=2)
    # Names are matched ignoring case, so ARID2,arid2 joins a gene to itself and Arid2,TP53 may
    # repeat ARID2,TP53: count both, as the file's own self-loops and duplicates are counted.
    same = ~outside & (src == dst)
    keep = ~outside & ~same
    repeated = keep & pd.DataFrame({"s": src, "d": dst}).duplicated().to_numpy()
    for mask, what in ((same, "join a gene to itself"), (repeated, "repeat another edge")):
        if mask.any():
            pairs = zip(edges["source"].to_numpy()[mask][:3], edges["target"].to_numpy()[mask][:3])
            warnings.warn(f"{source or id}: dropped {int(mask.sum())} of {len(edges)} edge(s) that {what} once "
                          f"names are matched to the genes (case ignored), e.g. {[f'{a},{b}' for a, b in pairs]}",
                          DataWarning, stacklevel=2)
    keep &= ~repeated
    table = pd.DataFrame({"tf": src[keep], "target": dst[keep]}, dtype="int64")
    if "sign" in edges:  # the mode of regulation travels with its edge
        table["sign"] = edges["sign"].to_numpy()[keep].astype(np.int8)
    table = table.drop_duplicates(["tf", "target"])
    if len(table) == 0:
        raise DataError(source, "no edge connects two genes of the expression matrix",
                        "check both use the same gene naming (symbols, species)")
    table = table.sort_values(["tf", "target"], ignore_index=True)
    tf_ids = np.unique(table["tf"].to_numpy()).astype(np.int64)
    meta = {"n_edges_in": len(edges), "n_outside_expression": n_outside, "n_self_loops_by_case": int(same.sum()),
            "n_duplicates_by_case": int(repeated.sum())}
    return GRNDataset(id=id, genes=genes, tf_ids=tf_ids, edges=table, expression=expression,
                      source=None if source is None else Path(source), meta=meta)
