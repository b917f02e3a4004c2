"""One error type for bad input: it always says which file, what is wrong and how to fix it."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad or missing input data.

    The message has three parts so a user can act on it without reading code:
    ``<file>: <problem>. Fix: <what to do>``.
    """

    def __init__(self, path: str | Path | None, problem: str, fix: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}. Fix: {fix}")


class DataWarning(UserWarning):
    """Input that is usable but worth knowing about (all-zero genes, dropped self-loops, ...).

    Filter it like any warning: ``warnings.simplefilter("ignore", DataWarning)``.
    """
