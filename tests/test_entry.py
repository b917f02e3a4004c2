"""One way for every command-line entry point to run and fail (grnlib.entry.run_main), one seed check,
one DataError import path."""
import errno
import re
import warnings
from pathlib import Path

import pytest

from grnlib.entry import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, run_main
from grnlib.errors import SEED_LIMIT, DataError, DataWarning, check_seed

PACKAGE = Path(__file__).resolve().parents[1] / "grnlib"


def raising(exc):
    def run():
        raise exc
    return run


def test_bad_input_is_one_line_and_exit_1(capsys):
    code = run_main("python -m tool", raising(DataError("in.csv", "is empty", "give it rows")))
    assert code == 1
    assert capsys.readouterr().err == "python -m tool: error: in.csv: is empty. Fix: give it rows\n"


def test_a_full_disk_is_one_line_naming_the_destination(capsys):
    exc = OSError(errno.ENOSPC, "No space left on device")
    exc.destination = "out.tsv"
    assert run_main("grnlib predict", raising(exc)) == 1
    err = capsys.readouterr().err
    assert err.startswith("grnlib predict: error: out.tsv: could not be written") and err.count("\n") == 1


def test_other_errors_propagate():
    with pytest.raises(OSError):
        run_main("tool", raising(OSError(errno.ECONNRESET, "reset")))
    with pytest.raises(ZeroDivisionError):
        run_main("tool", lambda: 1 / 0)


def test_interrupts_say_what_was_kept(capsys):
    assert run_main("tool", raising(KeyboardInterrupt())) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "tool: interrupted; nothing was written\n"
    assert run_main("tool", raising(Terminated()), kept="the finished cells are kept") == EXIT_TERMINATED
    assert capsys.readouterr().err == "tool: terminated; the finished cells are kept\n"
    told = KeyboardInterrupt()
    told.outcome = "its state is kept in m.partial"
    run_main("tool", raising(told))
    assert capsys.readouterr().err == "tool: interrupted; its state is kept in m.partial\n"


def test_exit_code_and_warnings(capsys):
    def run():
        for _ in range(2):
            warnings.warn("x.csv: dropped 2 rows", DataWarning)
        return 3
    assert run_main("tool", run) == 3 and run_main("tool", lambda: None) == 0
    assert capsys.readouterr().err == "tool: warning: x.csv: dropped 2 rows\n"


def test_every_module_entry_point_runs_through_run_main():
    """Each ``if __name__ == "__main__":`` block of the package hands its work to run_main (the
    ``grnlib`` command itself calls it in grnlib.cli.main)."""
    blocks = {}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if 'if __name__ == "__main__":' in text:
            blocks[path.relative_to(PACKAGE).as_posix()] = text.split('if __name__ == "__main__":', 1)[1]
    assert len(blocks) >= 6
    for name, block in blocks.items():
        assert "run_main(" in block or name in ("cli/__init__.py", "cli/__main__.py"), name
    assert "run_main(" in (PACKAGE / "cli" / "__init__.py").read_text()


@pytest.mark.parametrize("seed, expected", [(0, 0), ("7", 7), (SEED_LIMIT - 1, SEED_LIMIT - 1), (None, None)])
def test_check_seed_accepts(seed, expected):
    assert check_seed(seed) == expected


@pytest.mark.parametrize("seed, message", [(-1, "seed -1 is out of range: seeds are 0 to 4294967295"),
                                           (SEED_LIMIT, "seed 4294967296 is out of range"),
                                           (True, "seed True is not a whole number"),
                                           (1.5, "seed 1.5 is not a whole number")])
def test_check_seed_refuses(seed, message):
    with pytest.raises(DataError, match=re.escape(message)):
        check_seed(seed)


def test_one_seed_check_and_one_dataerror_path():
    """No module re-validates seeds against its own constant, and DataError/DataWarning are imported
    from grnlib.errors only."""
    sources = {p: p.read_text() for p in PACKAGE.rglob("*.py")}
    for path, text in sources.items():
        assert not re.search(r"from grnlib\.data(\.errors)? import [^\n]*\bData(Error|Warning)\b", text), path
        if path.name != "errors.py":
            assert not re.search(r"\bif [^\n]*seed[^\n]*<\s*(2\s*\*\*\s*32|SEED_LIMIT|MAX_SEED)\b", text), path
    assert not (PACKAGE / "data" / "errors.py").exists()
    import grnlib.data

    assert not hasattr(grnlib.data, "DataError")
