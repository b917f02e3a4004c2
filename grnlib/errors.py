"""One error type for bad input: it always says which file, what is wrong and how to fix it; and the
one check of a seed (:func:`check_seed`) that every entry (command line, API, protocols) makes."""
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


SEED_LIMIT = 2**32  # numpy's and torch's seeds are unsigned 32-bit


def check_seed(seed, option: str = "seed", source: str | Path | None = None) -> int | None:
    """``seed`` as an int when it is a whole number with 0 <= seed < 2**32, else a DataError naming
    ``option`` (``--seed`` on the command line) and ``source`` (the params file a seed came from). The one
    seed check of the command line, the API and the protocols; None passes through (the default applies)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, float, str)) or not str(seed).strip().lstrip("-").isdigit():
        raise DataError(source, f"{option} {seed!r} is not a whole number", f"pass a seed from 0 to {SEED_LIMIT - 1}")
    if not 0 <= int(seed) < SEED_LIMIT:
        raise DataError(source, f"{option} {seed} is out of range: seeds are 0 to {SEED_LIMIT - 1}",
                        f"pass a seed from 0 to {SEED_LIMIT - 1}, e.g. {option} 0")
    return int(seed)
