"""Gene symbol normalisation and matching between files that spell symbols differently."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd


def normalise_symbols(values) -> pd.Series:
    """Strip whitespace and upper-case (human-style symbols: ``" Tp53 "`` -> ``"TP53"``)."""
    return pd.Series(values, dtype="object").astype(str).str.strip().str.upper()


def match_symbols(query, reference) -> np.ndarray:
    """Position of each ``query`` symbol in ``reference``, or -1 when absent.

    Exact matches win; the rest are matched ignoring case and surrounding whitespace when
    that is unambiguous (one reference symbol per upper-cased spelling), because the same
    gene is written ``Pou5f1`` in one mouse file and ``POU5F1`` in another.

    Returns:
        int64 array, shape ``[len(query)]``.
    """
    reference = pd.Index(pd.Series(reference, dtype="object").astype(str))
    query = pd.Series(query, dtype="object").astype(str)
    positions = reference.get_indexer(query)
    todo = positions < 0
    if todo.any():
        upper_ref = pd.Series(reference).str.strip().str.upper()
        unique_upper = upper_ref[~upper_ref.duplicated(keep=False)]
        lookup = pd.Series(unique_upper.index.to_numpy(), index=unique_upper.to_numpy())
        upper_query = query[todo].str.strip().str.upper()
        positions[todo] = lookup.reindex(upper_query.to_numpy()).fillna(-1).to_numpy()
    return positions.astype(np.int64)


_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
# What spreadsheet programs make of gene symbols: MARCH1 -> 1-Mar, SEPT2 -> 2-Sep (or Sep-02), DEC1 ->
# 1-Dec, a date typed in full -> 2023-03-01 or 3/1/2023, a RIKEN id 2310009E13 -> 2.31E+13.
_EXCEL_DAMAGE = re.compile(
    rf"^(\d{{1,2}}-({_MONTHS})(-\d{{2,4}})?|({_MONTHS})-\d{{1,4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d(\.\d+)?E\+\d+)$", re.IGNORECASE)


def excel_damaged(names) -> list[str]:
    """Names that look like a spreadsheet turned a gene symbol into a date or a number."""
    return [str(n) for n in names if _EXCEL_DAMAGE.match(str(n).strip())]


def case_only_duplicates(names) -> list[list[str]]:
    """Groups of names that differ only by case (``ARID2``/``Arid2``), in order of appearance."""
    series = pd.Series(pd.unique(pd.Series(names, dtype="object").astype(str)), dtype="object")
    upper = series.str.strip().str.upper()
    clashing = upper.duplicated(keep=False)
    groups: dict[str, list[str]] = {}
    for name, key in zip(series[clashing], upper[clashing]):
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def gene_name_warnings(names, path, what: str = "expression matrix") -> list[str]:
    """Messages about suspicious gene names (for a :class:`DataWarning` each), naming a few."""
    messages = []
    damaged = excel_damaged(names)
    if damaged:
        messages.append(f"{path}: {what} has {len(damaged)} gene name(s) that look like dates or numbers a "
                        f"spreadsheet made of gene symbols, e.g. {damaged[:5]} (MARCH1 becomes 1-Mar, SEPT2 "
                        "2-Sep); they match no gene of other files: re-export the file without a spreadsheet")
    clashes = case_only_duplicates(names)
    if clashes:
        shown = ["/".join(group) for group in clashes[:5]]
        messages.append(f"{path}: {what} has {len(clashes)} gene name(s) that differ only by case, e.g. {shown}: "
                        "they are kept as different genes, and other files must spell them exactly (mixed "
                        "species or a duplicated gene?)")
    return messages
