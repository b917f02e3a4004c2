"""Writing results without ever leaving half a file behind: atomic files and folders, JSON, tables
(separator and ``.gz`` compression chosen by the file name), and append-only JSON lines.

Every writer works on a hidden temporary path beside the destination (``.NAME.<pid>.<random>.tmp``)
and renames it into place only when the work succeeded. A run killed hard (SIGKILL, power loss)
leaves its temporary path behind; the next write to the same destination removes temporary paths
whose process is gone.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from grnlib.errors import DataError

#: A folder written by ``grnlib train`` holds this file; ``--overwrite`` replaces only such folders.
#: Its first line says so; the lines after it list every file grnlib wrote into the folder, so an
#: overwrite can tell the user's own files (notes, plots) from grnlib's and refuse to delete them.
MODEL_MARKER = ".grnlib-model"
MARKER_HEADER = "written by grnlib; `--overwrite` may replace this folder"
#: What a model folder held before the marker listed its files (grnlib <= 0.x wrote only these).
LEGACY_MODEL_FILES = ("model.pt", "params.yaml", "metrics.tsv", "history.tsv", "pairs.tsv")
# An OSError that stops a write, as the user should read it (errno -> reason).
WRITE_FAILURES = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                  errno.EFBIG: "the file size limit is reached (see `ulimit -f`)",
                  errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
                  errno.EPERM: "operation not permitted"}


def json_default(value):
    """``json.dumps(default=...)`` for numpy scalars and arrays, paths and read-only mappings (a run
    spec: its ``to_dict()``)."""
    if isinstance(value, Mapping):
        return value.to_dict() if callable(getattr(value, "to_dict", None)) else dict(value)
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


def write_failure(exc: OSError) -> DataError | None:
    """The one-line DataError for an OSError that stopped reading or writing for a reason the user
    can fix (disk full, quota, file size limit, permissions), or None for any other OSError.

    The atomic writers tag such an error with the destination they were writing
    (``exc.destination``), so the message names the user's ``--out``, not a temporary file; by then
    the temporary file or folder is already deleted."""
    reason = WRITE_FAILURES.get(getattr(exc, "errno", None))
    if reason is None:
        return None
    destination = getattr(exc, "destination", None)
    if destination is not None:
        fix = {errno.ENOSPC: "free disk space (or choose an --out on another disk) and run again",
               errno.EDQUOT: "free disk space (or choose an --out on another disk) and run again",
               errno.EFBIG: "raise the file size limit (`ulimit -f unlimited`) and run again"}.get(
                   exc.errno, "choose a writable --out location")
        return DataError(destination, f"could not be written: {reason}; nothing was written", fix)
    where = exc.filename if exc.filename is not None else None
    return DataError(where, f"cannot be read or written: {reason}",
                     "check the file's permissions and the free disk space")


def _tag_destination(exc: BaseException, destination: Path) -> None:
    """Remember on an OSError which destination was being written (see :func:`write_failure`). Writers
    nest (a checkpoint file inside a model folder): the outermost, the user's ``--out``, tags last."""
    if isinstance(exc, OSError):
        try:
            exc.destination = destination
        except AttributeError:  # an exception type with __slots__: the message names exc.filename
            pass


@contextlib.contextmanager
def output_lock(path):
    """Hold ``.NAME.lock`` beside ``path`` while a command writes it: a second grnlib process that
    wants to write the same ``path`` stops at once with a DataError instead of racing the first (two
    ``train`` runs tearing one ``.partial`` folder; two ``predict`` runs where the later rename
    silently replaces the earlier result).

    The lock is an advisory ``flock`` the kernel releases when its process dies, so a killed run
    never blocks the next one; the lock file is deleted on exit (a SIGKILLed run's is reused). Where
    the file system cannot lock (some network mounts) the command runs unlocked, as before.
    """
    import fcntl

    path = Path(path).absolute()
    lock = path.with_name(f".{path.name}.lock")
    if not path.name or not path.parent.is_dir():
        yield  # nothing can be written there: the command's own checks say so
        return
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        except OSError:
            yield  # an unwritable folder: the writers report it, naming --out
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f"another grnlib process (pid {holder})" if holder.isdigit() else "another grnlib process"
            raise DataError(path, f"{who} is writing this output right now",
                            "wait for it to finish, or choose another --out") from None
        except OSError:
            os.close(fd)
            yield  # no locking on this file system
            return
        try:  # the previous holder may have deleted the file between our open and flock: lock the new one
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


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


def model_folder_above(path) -> Path | None:
    """The grnlib model folder that ``path`` lies in (at any depth), or None."""
    for folder in Path(path).absolute().parents:
        if is_model_folder(folder):
            return folder
    return None


def _files_below(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def foreign_files(folder, marker: str = MODEL_MARKER) -> list[str]:
    """Files in a grnlib-written ``folder`` that grnlib did not write there (the user's notes, a
    ranking saved into it...): everything not listed in its marker file."""
    folder = Path(folder)
    listed = [line.strip() for line in (folder / marker).read_text(errors="replace").splitlines()[1:]]
    written = set(filter(None, listed)) or set(LEGACY_MODEL_FILES)
    return [name for name in _files_below(folder) if name != marker and name not in written]


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
    if occupied:
        foreign = foreign_files(folder, marker)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise DataError(folder, f"holds {len(foreign)} file(s) grnlib did not write ({shown}); --overwrite "
                            "would delete them", "move them out of the folder, or choose a new --out folder")
    tmp = _temporary(folder, folder=True)
    try:
        yield tmp
        (tmp / marker).write_text("\n".join([MARKER_HEADER, *_files_below(tmp)]) + "\n")
        old = None
        if folder.is_dir():
            old = _temporary(folder.with_name(folder.name + ".old"), folder=True)
            os.replace(folder, old / "previous")
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _tag_destination(exc, folder)
        raise


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary file path beside ``path``; on success it is renamed to ``path``, on any
    error it is deleted. Made on entry (with the missing folders above it), so an unwritable
    destination fails before any work."""
    path = Path(path).absolute()
    if path.is_dir():
        raise DataError(path, "is a folder", "pass a file name such as ranked.tsv")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path, folder=False)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _tag_destination(exc, path)
        raise


def write_json(path, payload) -> Path:
    """Write JSON atomically (numpy values converted); readers never see half a file."""
    return write_text(path, json.dumps(payload, indent=2, default=json_default))


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
    options = dict(sep=sep or separator_for(path), index=False, float_format=float_format)
    with atomic_file(path) as tmp:
        if compression_for(path):
            with open(tmp, "wb") as raw, _gzip_writer(raw, path) as packed, \
                    io.TextIOWrapper(packed, encoding="utf-8", newline="") as text:
                frame.to_csv(text, **options)
        else:
            frame.to_csv(tmp, **options)
    return path


def _gzip_writer(raw, path: Path) -> gzip.GzipFile:
    """A gzip stream into ``raw`` whose header names the final file (not the temporary one) and has no
    timestamp, so the same content always gives the same bytes."""
    return gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=raw, mtime=0)


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


def check_output_file(path, overwrite: bool = False, inputs=(), make_parents: bool = False) -> Path:
    """Refuse an output file that would destroy something: one of the ``inputs`` (always), an
    existing file (unless ``overwrite``), a file inside a grnlib model folder (always: ``train
    --overwrite`` owns those), a folder, or a location that cannot be written. Checked before any
    work, so a long run never ends in a refusal. ``make_parents``: missing folders above ``path``
    will be created by the writer (checked on the nearest existing one)."""
    path = Path(path).absolute()
    for source in inputs:
        if source is not None and Path(source).exists() and path.exists() and path.samefile(source):
            raise DataError(path, "is one of the input files of this run and would be overwritten",
                            "choose another --out file name")
        if source is not None and Path(source).is_dir() and Path(source).absolute() in path.parents:
            raise DataError(path, "lies inside an input folder of this run", "choose an --out file outside it")
    if path.is_dir():
        raise DataError(path, "is a folder", "pass a file name such as ranked.tsv")
    model = model_folder_above(path)
    if model is not None:
        raise DataError(path, f"lies inside the grnlib model folder {model}, which only grnlib train writes "
                        "(a file added there would be mixed with the model's own)",
                        f"choose an --out outside it, e.g. {model.parent / (model.name + '_' + path.name)}")
    if path.exists() and not overwrite:
        raise DataError(path, "output file exists", "choose a new --out file or pass --overwrite to replace it")
    parent = path.parent
    while make_parents and not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise DataError(path, f"cannot be written (Not a directory): {parent} is a file",
                        "choose a writable --out location")
    if not parent.is_dir():
        raise DataError(path, f"folder {parent} does not exist", "create it first or choose another --out")
    if not os.access(parent, os.W_OK):
        raise DataError(path, f"folder {parent} is not writable", "choose a writable --out location")
    return path


def write_text(path, text: str) -> Path:
    """Write text atomically (UTF-8), creating missing folders above ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path, data) -> Path:
    """Write bytes atomically, creating missing folders above ``path``. Written by Python, so a full
    disk or ``ulimit -f`` raises an OSError with its errno (see :func:`write_failure`)."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_yaml(path, payload, **options) -> Path:
    """Write ``payload`` as YAML atomically (``yaml.safe_dump`` with ``options``; keys in their order)."""
    import yaml

    return write_text(path, yaml.safe_dump(payload, **{"sort_keys": False, **options}))


def write_figure(fig, path, dpi: int = 110, **options) -> Path:
    """Save a matplotlib figure atomically, in the format of the name's suffix (``.png``, ``.svg``...)."""
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=dpi, **{"bbox_inches": "tight", **options})
    return path


def torch_bytes(payload) -> bytes:
    """``torch.save`` into memory (for a checksum, or :func:`write_bytes`)."""
    import torch

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def write_torch(path, payload) -> Path:
    """``torch.save`` atomically. Serialised in memory and written by Python: torch's own file writer
    reports a full disk as a bare "iostream error" and can leave half a file."""
    return write_bytes(path, torch_bytes(payload))


def write_npy(path, array: np.ndarray) -> Path:
    """``np.save`` atomically (no pickled objects)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return write_bytes(path, buffer.getbuffer())


def write_stream(path, source, chunk: int = 1 << 20) -> Path:
    """Copy a readable binary stream to ``path`` atomically, gzipped when the name ends in ``.gz``
    (no timestamp in the header: the same content gives the same bytes)."""
    path = Path(path)
    with atomic_file(path) as tmp, open(tmp, "wb") as raw:
        if compression_for(path):
            with _gzip_writer(raw, path) as packed:
                shutil.copyfileobj(source, packed, chunk)
        else:
            shutil.copyfileobj(source, raw, chunk)
    return path


def move_into_place(source, path) -> Path:
    """Rename a finished file (on the same file system) to ``path`` in one step: readers see the old
    file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, path)
    return path


def write_h5ad(path, adata) -> Path:
    """Write an AnnData as ``.h5ad`` atomically."""
    path = Path(path)
    with atomic_file(path) as tmp:
        adata.write_h5ad(tmp)
    return path


def write_notebook(nb, path) -> Path:
    """Write an ``nbformat`` notebook atomically."""
    import nbformat

    text = nbformat.writes(nb)
    return write_text(path, text if text.endswith("\n") else text + "\n")  # as nbformat.write ends it
