"""Writing results without ever leaving half a file behind: atomic files and folders, JSON, tables
(separator and ``.gz`` compression chosen by the file name), and append-only JSON lines.

Every writer works on a hidden temporary path beside the destination (``.NAME.<pid>.<random>.tmp``)
and renames it into place only when the work succeeded. A run killed hard (SIGKILL, power loss)
leaves its temporary path behind; the next write to the same destination removes temporary paths
whose process is gone.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from grnlib.errors import DataError

#: A folder written by ``grnlib train`` holds this file; ``--overwrite`` replaces only such folders.
MODEL_MARKER = ".grnlib-model"


def json_default(value):
    """``json.dumps(default=...)`` for numpy scalars and arrays and paths."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in JSON")


def _unwritable(path: Path, exc: OSError) -> DataError:
    if isinstance(exc, FileNotFoundError):
        return DataError(path, f"folder {path.parent} does not exist", "create it first or choose another --out")
    return DataError(path, f"cannot be written ({exc.strerror or exc})", "choose a writable --out location")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete ``.NAME.<pid>.*.tmp`` leftovers beside ``path`` whose writing process is gone."""
    removed = []
    if not path.parent.is_dir():
        return removed
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        pid = leftover.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def _temporary(path: Path, folder: bool) -> Path:
    remove_stale_temporaries(path)
    prefix, suffix = f".{path.name}.{os.getpid()}.", ".tmp"
    try:
        if folder:
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix, suffix=suffix))
        else:
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
            os.close(fd)
            tmp = Path(name)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    # mkdtemp/mkstemp make 0700/0600; the result should look like any new file or folder.
    tmp.chmod((0o777 if folder else 0o666) & ~_umask())
    return tmp


def _destination(path) -> Path:
    """An absolute destination; the current folder (or one above it) is never replaced."""
    path = Path(path).absolute()
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or not resolved.name:
        raise DataError(path, "is the current folder or one above it and cannot be replaced",
                        "choose a new folder name for --out, such as my_model")
    return resolved


def is_model_folder(folder: Path) -> bool:
    return (Path(folder) / MODEL_MARKER).is_file()


@contextlib.contextmanager
def atomic_folder(folder, overwrite: bool = False, marker: str = MODEL_MARKER):
    """Yield a temporary folder beside ``folder``; on success it replaces ``folder``, on any error
    (or Ctrl-C / SIGTERM) it is deleted, so ``folder`` is either complete or untouched.

    The written folder gets the ``marker`` file. An existing non-empty ``folder`` is refused unless
    ``overwrite`` is given *and* it holds the marker: a folder of anything else (input files,
    notes) is never deleted. The temporary folder is made on entry, so an unwritable destination
    fails before any work.
    """
    folder = _destination(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(folder, "exists and is not a folder", "choose another --out folder")
    occupied = folder.is_dir() and any(folder.iterdir())
    if occupied and not overwrite:
        raise DataError(folder, "output folder exists and is not empty",
                        "choose a new --out folder or pass --overwrite to replace an earlier grnlib model")
    if occupied and not (folder / marker).is_file():
        raise DataError(folder, f"is not a folder written by grnlib (no {marker} file); --overwrite replaces "
                        "only an earlier grnlib model, never other files",
                        "choose a new --out folder, or empty this one yourself")
    tmp = _temporary(folder, folder=True)
    try:
        yield tmp
        (tmp / marker).write_text("written by grnlib; `--overwrite` may replace this folder\n")
        old = None
        if folder.is_dir():
            old = _temporary(folder.with_name(folder.name + ".old"), folder=True)
            os.replace(folder, old / "previous")
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary file path beside ``path``; on success it is renamed to ``path``, on any
    error it is deleted. Made on entry, so an unwritable destination fails before any work."""
    path = Path(path).absolute()
    if path.is_dir():
        raise DataError(path, "is a folder", "pass a file name such as ranked.tsv")
    tmp = _temporary(path, folder=False)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path, payload) -> Path:
    """Write JSON atomically (numpy values converted); readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=json_default))
    return path


def compression_for(path) -> str | None:
    """``"gzip"`` for a name ending in ``.gz``, else None (plain text)."""
    return "gzip" if str(path).lower().endswith(".gz") else None


def separator_for(path) -> str:
    """``,`` for ``.csv``/``.csv.gz``, else a tab."""
    name = str(path).lower().removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def write_table(frame, path, sep: str | None = None, float_format: str | None = "%.6g") -> Path:
    """Write a DataFrame atomically; separator from the name unless given, gzip for ``.gz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = dict(sep=sep or separator_for(path), index=False, float_format=float_format)
    with atomic_file(path) as tmp:
        if compression_for(path):
            # The gzip header names the final file (not the temporary one) and has no timestamp,
            # so the same table always gives the same bytes.
            with open(tmp, "wb") as raw, gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw,
                                                       mtime=0) as packed, \
                    io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
                frame.to_csv(text, **options)
        else:
            frame.to_csv(tmp, **options)
    return path


def append_jsonl(path, record: dict) -> None:
    """Append one JSON line and force it to disk, so a crash leaves whole lines only."""
    line = json.dumps(record, default=json_default, allow_nan=False) + "\n"
    with open(path, "a+b") as fh:
        # A killed writer may have left a torn line without its newline: end it first, so this
        # record starts a line of its own (readers skip the torn one).
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(line.encode())
        fh.flush()
        os.fsync(fh.fileno())


def check_output_file(path, overwrite: bool = False, inputs=()) -> Path:
    """Refuse an output file that would destroy something: one of the ``inputs`` (always), an
    existing file (unless ``overwrite``), a folder, or a location that cannot be written. Checked
    before any work, so a long run never ends in a refusal."""
    path = Path(path).absolute()
    for source in inputs:
        if source is not None and Path(source).exists() and path.exists() and path.samefile(source):
            raise DataError(path, "is one of the input files of this run and would be overwritten",
                            "choose another --out file name")
        if source is not None and Path(source).is_dir() and Path(source).absolute() in path.parents:
            raise DataError(path, "lies inside an input folder of this run", "choose an --out file outside it")
    if path.is_dir():
        raise DataError(path, "is a folder", "pass a file name such as ranked.tsv")
    if path.exists() and not overwrite:
        raise DataError(path, "output file exists", "choose a new --out file or pass --overwrite to replace it")
    if path.parent.exists() and not path.parent.is_dir():
        raise DataError(path, f"cannot be written (Not a directory): {path.parent} is a file",
                        "choose a writable --out location")
    if not path.parent.is_dir():
        raise DataError(path, f"folder {path.parent} does not exist", "create it first or choose another --out")
    if not os.access(path.parent, os.W_OK):
        raise DataError(path, f"folder {path.parent} is not writable", "choose a writable --out location")
    return path
