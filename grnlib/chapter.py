"""A chapter's results folder and its one writer, so a notebook never writes a file itself.

>>> from grnlib import Chapter
>>> out = Chapter("01_baseline")            # results/01_baseline/ (``base=`` for another results folder)
>>> out.save(params={"seed": 0}, metrics=evaluation.metrics, figures={"roc_pr": fig},
...          tables={"history.csv": history})
>>> fitted.save(out / "model")              # a path inside it, for the writers that take one

Every file goes through :mod:`grnlib.io`: written atomically, so a chapter stopped while saving keeps
the previous file or the new one, never half of one. ``out`` is path-like (``os.fspath(out)`` is its
folder), so it goes wherever a folder is expected.
"""
from __future__ import annotations

import os
from pathlib import Path

from grnlib.io import write_figure, write_json, write_table
from grnlib.paths import results_dir

__all__ = ["Chapter"]


class Chapter(os.PathLike):
    """The results folder ``<project>/<base>/<name>`` of one notebook (made on creation)."""

    def __init__(self, name: str, base: str | Path = "results"):
        self.name = name
        self.folder = results_dir(name, base)

    def __fspath__(self) -> str:
        return os.fspath(self.folder)

    def __truediv__(self, other) -> Path:
        return self.folder / other

    def __repr__(self) -> str:
        return f"Chapter({self.name!r}, folder={os.fspath(self.folder)!r})"

    def save(self, params: dict | None = None, metrics=None, figures: dict | None = None,
             tables: dict | None = None, json: dict | None = None) -> list[Path]:
        """Write what is given and return the paths written:

        - ``params`` -> ``params.json`` (the chapter's parameters and resolved runs);
        - ``metrics`` (a DataFrame, one record per row, or any JSON value) -> ``metrics.json``;
        - ``figures`` ``{name: figure}`` -> ``<name>.png`` (or the suffix given);
        - ``tables`` ``{file name: DataFrame}`` -> CSV (or TSV, ``.gz``: by the name; ``.csv`` when it has no
          suffix), full precision; a meaningful index (named, or not ``0..n-1``) becomes columns;
        - ``json`` ``{file name: value}`` -> more JSON files.
        """
        written = []
        if params is not None:
            written.append(write_json(self / "params.json", params))
        if metrics is not None:
            records = metrics.to_dict(orient="records") if hasattr(metrics, "to_dict") else metrics
            written.append(write_json(self / "metrics.json", records))
        for name, payload in (json or {}).items():
            written.append(write_json(self / _named(name, ".json"), payload))
        for name, fig in (figures or {}).items():
            written.append(write_figure(fig, self / _named(name, ".png")))
        for name, table in (tables or {}).items():
            written.append(write_table(_index_as_columns(table), self / _named(name, ".csv"), float_format=None))
        return written


def _named(name: str, suffix: str) -> str:
    return name if Path(name).suffix else name + suffix


def _index_as_columns(table):
    import pandas as pd

    plain = table.index.nlevels == 1 and table.index.name is None and table.index.equals(pd.RangeIndex(len(table)))
    return table if plain else table.reset_index()
