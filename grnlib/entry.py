"""How every command-line entry point runs: :func:`run_main`.

The ``grnlib`` command and the ``python -m grnlib.<module>`` tools (report, sweep, headline, the download
manifest, ...) report alike: bad input (a :class:`~grnlib.errors.DataError`) is one line
``<program>: error: <file>: <problem>. Fix: <fix>`` and exit 1; a read or write stopped by a full disk,
a quota, a file size limit or missing permissions likewise (after the temporary files were removed);
output piped into ``head`` stops quietly (0); Ctrl-C and SIGTERM print one line and exit 130 and 143;
every warning prints once as one line (:func:`one_line_warnings`). Light on purpose: importing it loads
no pandas, numpy or torch, so ``--help`` stays fast.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings
from typing import Callable

EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 130, 143  # 128 + SIGINT, 128 + SIGTERM, as shells say
NOTHING_WRITTEN = "nothing was written"


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (see :func:`run_main`), so that every ``finally`` and the
    atomic writers' cleanup run as they do for Ctrl-C. A BaseException, like KeyboardInterrupt, so that
    no ``except Exception`` swallows it. A command may set ``outcome`` (what it kept) before re-raising."""


def run_main(program: str, run: Callable[[], int | None], *, kept: str = NOTHING_WRITTEN) -> int:
    """Call ``run()`` (the entry point's work; None means success) and return its exit code, turning
    the failures a user can act on into one line on stderr prefixed ``program`` (``grnlib train``,
    ``python -m grnlib.report``). ``kept`` says what an interrupted run leaves behind, unless the
    interrupt carries its own ``outcome``. Any other exception propagates (a traceback: a bug)."""
    from grnlib.errors import DataError

    previous = _raise_on_sigterm()
    try:
        with one_line_warnings(program):
            code = run()
    except DataError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # disk full, quota, `ulimit -f`, permissions: one line, not a traceback
        from grnlib.io import write_failure

        failure = write_failure(exc)
        if failure is None:
            raise
        print(f"{program}: error: {failure}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated) as exc:
        # The writers have removed their temporary files on the way out; a command may say what it kept.
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
        print(f"{program}: {what}; {getattr(exc, 'outcome', kept)}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_TERMINATED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0 if code is None else int(code)


def _raise_on_sigterm():
    """Make SIGTERM raise :class:`Terminated` in the main thread (Python's default is to die at once,
    skipping cleanup); returns the previous handler, or None when not installed."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup short
        raise Terminated()

    return signal.signal(signal.SIGTERM, handler)


_showing_warnings = False  # one_line_warnings is active: a nested call changes nothing


@contextlib.contextmanager
def one_line_warnings(program: str):
    """Inside, every warning (a DataWarning or a library's) prints once as one line,
    ``<program>: warning: <first line of the message>``: no ``file:line: UserWarning`` and
    no echoed code line, and the same message is not repeated."""
    global _showing_warnings
    from grnlib.errors import DataWarning

    if _showing_warnings:
        yield
        return
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).strip()
        text = text.splitlines()[0] if text else category.__name__
        if text not in seen:
            seen.add(text)
            print(f"{program}: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = show
        _showing_warnings = True
        try:
            yield
        finally:
            _showing_warnings = False
