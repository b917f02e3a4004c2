"""Progress for long steps: a timed line on stderr when a step ends, a ``tqdm`` bar for chunked loops.

Every step that can take more than a few seconds on a real single-cell matrix (reading, filtering,
normalising, gene features, scoring, writing) runs inside :func:`step`; a chunked loop wraps its
iterable in :func:`bar`. Both are silent when progress is off:

- the command line's ``--quiet`` calls :func:`set_quiet` (a process-wide switch, because the
  steps sit deep in library code that has no ``progress`` argument to pass it through);
- under CI (environment variable ``CI`` set), the rule of
  :func:`grnlib.training.loop.progress_enabled`, so logs stay readable.

Short steps print nothing (``MIN_SECONDS``), so toy data and the test suite stay quiet, and a
bar appears only once its loop has run for ``BAR_DELAY`` seconds.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

#: A finished step prints its line only when it took at least this long (seconds).
MIN_SECONDS = 1.0
#: Seconds a chunked loop runs before its bar is drawn.
BAR_DELAY = 2.0

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn progress lines and bars off (``True``) or back on, for the whole process."""
    global _quiet
    _quiet = bool(quiet)


def enabled() -> bool:
    """Progress shows unless :func:`set_quiet` turned it off or the env var ``CI`` is set."""
    return not _quiet and not os.environ.get("CI")


class Step:
    """What :func:`step` yields: add facts learned during the step to its line with :meth:`note`."""

    def __init__(self, label: str):
        self.label = label
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def line(self, seconds: float) -> str:
        detail = f" ({', '.join(self.notes)})" if self.notes else ""
        rss = peak_rss_mb()
        memory = f", peak memory {rss / 1024:.1f} GB" if rss else ""
        return f"grnlib: {self.label}{detail}: {seconds:.1f} s{memory}"


@contextlib.contextmanager
def step(label: str, min_seconds: float | None = None):
    """Time the body; when it ends (not on error) print ``grnlib: <label>: 12.3 s`` to stderr.

    Args:
        label: what the step does, e.g. ``"gene features (PCA, 64 components)"``.
        min_seconds: print only when the step took at least this long (default ``MIN_SECONDS``).
    """
    record = Step(label)
    started = time.perf_counter()
    yield record
    seconds = time.perf_counter() - started
    if enabled() and seconds >= (MIN_SECONDS if min_seconds is None else min_seconds):
        print(record.line(seconds), file=sys.stderr, flush=True)


def bar(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it"):
    """A ``tqdm`` bar over a chunked loop (stderr, drawn after ``BAR_DELAY`` s, removed when done)."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled(), delay=BAR_DELAY,
                leave=False, file=sys.stderr)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where the OS does not report it)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB on Linux
