"""Reading delimited files defensively: every problem becomes a :class:`DataError` that names
the file, says what is wrong and how to fix it (empty file, header only, wrong delimiter,
missing columns, missing values, non-integer ids, ids outside the gene universe, duplicates,
empty columns, values beyond float32).
"""
from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.errors import DataError

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".tab": "\t"}


def plain_suffix(path: str | Path) -> str:
    """Suffix ignoring a trailing ``.gz``: ``a.csv.gz`` -> ``.csv``."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def delimiter_for(path: str | Path) -> str:
    """Delimiter implied by the file name: ``,`` for ``.csv``, tab for ``.tsv``/``.txt``/``.tab``."""
    suffix = plain_suffix(path)
    if suffix not in _TEXT_SUFFIXES:
        raise DataError(path, f"unsupported file type {suffix or '(no suffix)'!r}",
                        "use .csv, .tsv or .txt (optionally .gz-compressed)")
    return _TEXT_SUFFIXES[suffix]


def first_line(path: str | Path) -> str | None:
    """First non-blank line of a (possibly gzipped) text file, or None when there is none."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    return line.rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise DataError(path, f"cannot be read ({exc})", "re-download or re-export the file") from exc
    return None


def read_table(path: str | Path, *, required: Sequence[str] = (), sep: str | None = None,
               header: int | None | str = "infer", names: Sequence[str] | None = None,
               index_col: int | None = None, min_columns: int = 1,
               what: str = "table", column_names: str = "column", literal: bool = False) -> pd.DataFrame:
    """Read a delimited text file with the checks every loader needs.

    Args:
        path: .csv/.tsv/.txt, optionally gzipped.
        required: column names that must be present (checked after reading).
        sep: delimiter; by default implied by the file name (see :func:`delimiter_for`).
        header, names, index_col: passed to :func:`pandas.read_csv`.
        min_columns: fewer parsed columns than this means the delimiter is wrong.
        what: how the file is described in error messages ("label file", ...).
        column_names: what the header names are ("cell", "gene"), for the message about
            duplicated names.
        literal: read every value as written: only an empty field is missing, so a symbol list
            keeps a gene called ``NA`` (pandas would read it as missing).

    A leading unnamed row-number column (``,TF,Target`` as GENELink writes it) is dropped.
    Duplicated header names are an error (pandas would rename the second ``A10`` to ``A10.1``
    silently); a column without a name and without any value (a trailing delimiter on every
    line) is an error too. Row names of ``index_col`` that pandas would read as missing (a gene
    called ``NA`` or ``null``) are kept as the names they are.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} not found", "check the path (and the data root)")
    sep = sep or delimiter_for(path)
    line = first_line(path)
    if line is None:
        raise DataError(path, f"{what} is empty", "re-export the file with a header and data rows")
    if min_columns >= 2 and sep not in line:  # before parsing: pandas' own complaint would mislead
        for other in (d for d in _DELIMITER_NAMES if d != sep and len(line.split(d)) >= 2):
            raise _wrong_delimiter(path, what, other, sep)
    try:
        na = {"keep_default_na": False, "na_values": [""]} if literal else {}
        df = pd.read_csv(path, sep=sep, header=header, names=names, index_col=index_col, **na)
    except pd.errors.EmptyDataError as exc:
        raise DataError(path, f"{what} is empty", "re-export the file with a header and data rows") from exc
    except pd.errors.ParserError as exc:
        raise DataError(path, f"{what} could not be parsed as {_DELIMITER_NAMES.get(sep, repr(sep))}-separated "
                        f"text ({str(exc).strip()})", "give every row the same number of fields") from exc
    except UnicodeDecodeError as exc:
        raise DataError(path, f"{what} is not UTF-8 text", "save it as UTF-8 text") from exc
    except (OSError, EOFError) as exc:  # corrupt or truncated gzip stream
        raise DataError(path, f"{what} cannot be read ({exc})", "re-download or re-export the file") from exc
    if header is not None and names is None:
        _check_header_names(path, line, sep, what, column_names)
    if header is not None:
        df.columns = [str(c).strip() for c in df.columns]
        if len(df.columns) and df.columns[0].startswith("Unnamed: 0"):
            df = df.drop(columns=df.columns[0])
        _check_empty_columns(df, path, what, offset=1 if index_col is not None else 0)
    if index_col is not None and df.index.hasnans and not literal:
        df.index = _literal_index(path, sep, header, df.index)
    # Count fields in the first line itself: with ``names`` pandas pads short rows with NaN.
    n_cols = len(line.split(sep))
    too_few = n_cols < max(min_columns, 2 if len(required) > 1 else 1)
    other = [d for d in _DELIMITER_NAMES if d != sep and d in line and sep not in line]
    if other and (too_few or any(c not in df.columns for c in required)):
        raise _wrong_delimiter(path, what, other[0], sep)
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = [str(c) for c in df.columns]
        raise DataError(path, f"{what} is missing column(s) {missing}; found {found}",
                        f"rename the columns to {list(required)}")
    if n_cols < min_columns:
        raise DataError(path, f"{what} has {n_cols} column(s), at least {min_columns} expected",
                        "check the delimiter and the file contents")
    if len(df) == 0:
        raise DataError(path, f"{what} has a header but no data rows", "export the data rows too")
    return df


def _check_header_names(path: Path, line: str, sep: str, what: str, kind: str) -> None:
    """DataError on a header naming a column twice (read from the file: pandas renames repeats)."""
    try:
        fields = next(csv.reader([line], delimiter=sep))
    except csv.Error:
        return  # pandas parsed it; an odd quote is not worth a second opinion
    header = pd.Index([f.strip() for f in fields if f.strip()])
    dup = header[header.duplicated()].unique()
    if len(dup):
        raise DataError(path, f"{what} has {len(dup)} duplicated {kind} name(s), e.g. {list(dup[:5])}",
                        f"make {kind} names unique")


def _check_empty_columns(df: pd.DataFrame, path: Path, what: str, offset: int) -> None:
    """DataError on a column with neither a name nor a value: a delimiter at the end of every line
    gives one, and its NaNs would otherwise be reported as missing data."""
    for position, column in enumerate(df.columns):
        if column.startswith("Unnamed: ") and df[column].isna().all():
            number = position + 1 + offset
            raise DataError(path, f"{what} column {number} is empty (no name and no values: a delimiter at the "
                            "end of every line?)", "delete the empty column(s), e.g. the trailing delimiters")


def _literal_index(path: Path, sep: str, header, index: pd.Index) -> pd.Index:
    """Row names as written: pandas reads ``NA``, ``null``, ``NaN``... as missing, but they may be names
    (``NA`` is a gene). Only genuinely empty names stay missing."""
    literal = pd.read_csv(path, sep=sep, header=header, usecols=[0], dtype=str, keep_default_na=False).iloc[:, 0]
    literal = literal.str.strip().replace("", np.nan).to_numpy(dtype=object)
    if len(literal) != len(index):  # blank lines counted differently: keep what pandas read
        return index
    return pd.Index(np.where(index.isna(), literal, index.to_numpy(dtype=object)), name=index.name)


def _wrong_delimiter(path: Path, what: str, found: str, sep: str) -> DataError:
    """The file's header is ``found``-separated where ``sep`` was expected. A semicolon file whose
    numbers use decimal commas is what a spreadsheet in many European locales exports as "CSV"."""
    import re

    second = _lines(path, 2)[1:]
    if found == ";" and sep == "," and second and re.search(r"\d,\d", second[0]):
        return DataError(path, f"{what} looks semicolon-separated with decimal commas (a spreadsheet's CSV export "
                         "in a European locale), but comma-separated text with decimal points was expected",
                         "re-export it with commas between fields and points in numbers, e.g. with pandas: "
                         "pd.read_csv(path, sep=';', decimal=',').to_csv('fixed.csv')")
    return DataError(path, f"{what} looks {_DELIMITER_NAMES[found]}-separated but "
                     f"{_DELIMITER_NAMES.get(sep, repr(sep))}-separated text was expected", _delimiter_fix(sep))


def _lines(path: Path, n: int) -> list[str]:
    """The first ``n`` non-blank lines of a (possibly gzipped) text file."""
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    lines = []
    with (gzip.open if gzipped else open)(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                lines.append(line.rstrip("\r\n"))
                if len(lines) == n:
                    break
    return lines


def _delimiter_fix(sep: str) -> str:
    if sep == ",":
        return "save it comma-separated, or give it a .tsv name if it is tab-separated"
    return "save it tab-separated, or give it a .csv name if it is comma-separated"


def shown(value) -> str:
    """repr of a data value without numpy's type decoration (``2``, not ``np.int64(2)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def require_no_missing(df: pd.DataFrame, columns: Iterable[str], path, what: str = "table") -> None:
    """DataError when any of ``columns`` has a missing (empty/NaN) value, naming the first row."""
    for col in columns:
        bad = df[col].isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(path, f"{what} has {int(bad.sum())} missing value(s) in column {col!r} "
                            f"(first at data row {row + 1})", "fill in or delete those rows")


def integer_ids(df: pd.DataFrame, columns: Iterable[str], path, what: str = "table") -> None:
    """Convert ``columns`` to int64 in place; DataError when a value is not a whole number."""
    require_no_missing(df, columns, path, what)
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        whole = values.notna() & (values == np.round(values))
        if not whole.all():
            row = int(np.flatnonzero(~whole.to_numpy())[0])
            raise DataError(path, f"{what} column {col!r} must hold integer gene ids; data row {row + 1} "
                            f"has {shown(df[col].iloc[row])}", "use the integer ids of Target.csv")
        df[col] = values.astype("int64")


def ids_in_range(df: pd.DataFrame, columns: Iterable[str], n_genes: int, path, what: str = "table") -> None:
    """DataError when an integer id falls outside ``0..n_genes-1`` (an edge outside the universe)."""
    for col in columns:
        values = df[col].to_numpy()
        bad = (values < 0) | (values >= n_genes)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(path, f"{what} names gene ids outside the gene universe 0..{n_genes - 1}: "
                            f"{int(bad.sum())} row(s), first {col}={values[row]} at data row {row + 1}",
                            "use ids from the matching Target.csv (same dataset folder)")


def unique_symbols(values: pd.Series | pd.Index, path, what: str) -> pd.Index:
    """Stripped gene symbols as an Index; DataError on missing or duplicated names."""
    series = pd.Series(values)
    if series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise DataError(path, f"{what} has an empty gene name at data row {row + 1}",
                        "give every gene a name or delete the row")
    index = pd.Index(series.astype(str).str.strip())
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise DataError(path, f"{what} has {len(dup)} duplicated gene name(s), e.g. {list(dup[:5])}",
                        "make gene names unique (merge or drop the duplicated rows)")
    return index


def float32_block(block, path, cells, genes, what: str = "expression matrix"):
    """A dense or sparse block of cells (``cells`` names its rows) as float32, with the overflow
    check of :func:`float32_matrix` (for a sparse block, on its stored values)."""
    import scipy.sparse as sp

    if not sp.issparse(block):
        return float32_matrix(np.asarray(block), path, cells, genes, what)
    block = sp.csr_matrix(block)
    if not _may_overflow(block.dtype):
        return block.astype(np.float32, copy=False)
    with np.errstate(invalid="ignore"):
        too_big = np.isfinite(block.data) & (np.abs(block.data) > np.finfo(np.float32).max)
    if too_big.any():
        k = int(np.flatnonzero(too_big)[0])
        row = int(np.searchsorted(block.indptr, k, side="right") - 1)
        raise _overflow(path, what, int(too_big.sum()), block.data[k], cells[row], genes[block.indices[k]])
    return block.astype(np.float32)


def _overflow(path, what: str, count: int, value, cell, gene) -> DataError:
    return DataError(path, f"{what} has {count} value(s) that overflow float32 (largest magnitude "
                     f"{np.finfo(np.float32).max:.3g}), first {value:g} at cell {str(cell)!r}, gene {str(gene)!r}",
                     "rescale the values (e.g. log-transform them) so they fit in float32")


def float32_matrix(x: np.ndarray, path, cells, genes, what: str = "expression matrix") -> np.ndarray:
    """``x`` (cells x genes, any float) as float32; DataError for a finite value that float32 cannot
    hold (|v| > 3.4e38 would silently become infinite, then be reported as an infinity)."""
    x = np.asarray(x)
    if not _may_overflow(x.dtype):
        return x.astype(np.float32, copy=False)
    with np.errstate(invalid="ignore"):
        too_big = np.isfinite(x) & (np.abs(x) > np.finfo(np.float32).max)
    if too_big.any():
        cell, gene = np.argwhere(too_big)[0]
        raise _overflow(path, what, int(too_big.sum()), x[cell, gene], cells[cell], genes[gene])
    return x.astype(np.float32)


def _may_overflow(dtype) -> bool:
    """Only floats wider than float32 hold values float32 cannot (integers stay below 1e20)."""
    return np.dtype(dtype).kind in "fc" and np.dtype(dtype).itemsize > 4
