"""Where the reference data lives, and a checksummed download when it is not on disk.

Resolution order of the data root (:func:`data_root`):

1. an explicit ``root`` argument;
2. ``$GRNLIB_DATA_DIR``;
3. a ``shared/data`` folder (recognised by its ``MANIFEST.sha256``) in an ancestor of the
   package directory or of the working directory — i.e. ``../shared/data`` next to the
   repository, as on CI and development machines;
4. the per-user download cache (``$GRNLIB_CACHE_DIR``, else ``pooch.os_cache("grnlib")``).

Only the cache is ever written to: a local folder the user pointed at is read as it is, and a
file missing there is an error rather than a silent download. In the cache, :func:`fetch`
downloads a missing file from its public origin (or from ``$GRNLIB_DATA_URL``, a mirror with
the shared-folder layout), checks the SHA-256 of its *decompressed* content against the
shipped download manifest (:mod:`grnlib.data.manifest`), and only then moves it into place, so the cache never holds a partial or
unverified file. A cached file is checked again on its first use in each process (then remembered
by modification time and size): one edited or truncated since is downloaded again, with a
:class:`DataWarning` saying so.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import warnings
import zlib
from pathlib import Path
from urllib.parse import quote

from grnlib.errors import DataError, DataWarning
from grnlib.io import move_into_place, write_stream
from grnlib.data.manifest import load_manifest

ENV_DATA_DIR = "GRNLIB_DATA_DIR"
ENV_CACHE_DIR = "GRNLIB_CACHE_DIR"
ENV_DATA_URL = "GRNLIB_DATA_URL"
_MARKER = "MANIFEST.sha256"  # tells the mirror apart from any other folder called shared/data
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The download cache: ``$GRNLIB_CACHE_DIR`` or the OS user cache (``~/.cache/grnlib`` on Linux)."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    import pooch

    return Path(pooch.os_cache("grnlib")).resolve()


def find_shared_data(starts: list[Path] | None = None) -> Path | None:
    """The first ``<ancestor>/shared/data`` holding a manifest, searching upward from each start.

    Starts default to the package directory (finds ``../shared/data`` next to a source
    checkout) and the working directory (finds it for notebooks run from anywhere below).
    """
    if starts is None:
        starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in [start, *start.parents]:
            candidate = folder / "shared" / "data"
            if (candidate / _MARKER).is_file():
                return candidate
    return None


def _resolve(root: str | Path | None) -> tuple[Path, bool]:
    """(root folder, whether missing files may be downloaded into it)."""
    cache = cache_dir()
    if root is None and os.environ.get(ENV_DATA_DIR):
        root, origin = os.environ[ENV_DATA_DIR], f"${ENV_DATA_DIR}"
    elif root is not None:
        origin = "the root argument"
    else:
        shared = find_shared_data()
        if shared is not None:
            return shared, False
        return cache, True
    path = Path(root).expanduser().resolve()
    if path == cache:
        return path, True
    if not path.is_dir():
        raise DataError(path, f"data root from {origin} is not a folder",
                        f"point {origin} at the reference data folder (the one holding beeline/), "
                        f"or unset it to use ../shared/data or the download cache")
    return path, False


def data_root(root: str | Path | None = None) -> Path:
    """The folder data paths are relative to (see the module docstring for the order)."""
    return _resolve(root)[0]


def fetch(relpath: str, root: str | Path | None = None) -> Path:
    """Local path of a data file, e.g. ``fetch("beeline/Specific/hHEP/TFs+500/Label.csv.gz")``.

    In a local data folder the file must exist. In the download cache a missing file is
    downloaded, verified against the download manifest and stored under the same relative path
    (gzipped when ``relpath`` ends in ``.gz``, whatever the origin served).
    """
    relpath = relpath.strip("/")
    folder, downloadable = _resolve(root)
    path = folder / relpath
    if path.is_file() and (not downloadable or _cached_file_ok(path, relpath)):
        return path
    if not downloadable:
        raise DataError(path, "file not found in the data folder",
                        f"check the data root ({folder}); files the registry knows can be "
                        f"downloaded by pointing {ENV_DATA_DIR} (or root) at the cache {cache_dir()}")
    entry = load_manifest().get(relpath)
    if entry is None:
        raise DataError(path, f"{relpath!r} is not a known reference data file",
                        "use a path listed in grnlib/data/manifest.txt (see list_datasets())")
    mirror = os.environ.get(ENV_DATA_URL)
    urls = [f"{mirror.rstrip('/')}/{quote(relpath)}"] if mirror else list(entry.urls)
    if not urls:
        raise DataError(path, "this file has no static public origin",
                        f"set {ENV_DATA_URL} to a mirror of the reference data, or {ENV_DATA_DIR} "
                        "to a folder that holds it")
    _download_verified(urls, entry.sha256, path)
    _remember_verified(path)
    return path


def data_file(path, root: str | Path | None = None) -> Path:
    """A user's file argument as a path on disk: the path itself when it exists; else, for a relative
    path such as ``beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz`` (an id as the
    notebooks and ``grnlib datasets --paths`` give them), that file under the data root (downloaded
    and verified when the root is the cache); else the path unchanged, for the reader to report."""
    given = Path(path).expanduser()
    text = str(path)
    if given.exists() or given.is_absolute() or text.startswith(("./", "../", ".\\", "..\\")):
        return given
    relpath = given.as_posix()
    try:
        folder, downloadable = _resolve(root)
    except DataError:
        return given  # no usable data root: the path is reported as given
    if (folder / relpath).exists():
        return folder / relpath
    if downloadable and load_manifest().get(relpath) is not None:
        return fetch(relpath, root)
    return given


# Cached files checked against the download manifest in this process, by path: (mtime_ns, size) when checked.
# Hashing once per process keeps repeated loads fast; a file changed since is checked again.
_VERIFIED: dict[Path, tuple[int, int]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def _remember_verified(path: Path) -> None:
    _VERIFIED[path] = _stamp(path)


def _cached_file_ok(path: Path, relpath: str) -> bool:
    """Whether a file of the download cache still holds what the download manifest says (checked on first use
    in a process). An edited, truncated or damaged one gives a DataWarning and False: fetch it again."""
    if _VERIFIED.get(path) == _stamp(path):
        return True
    entry = load_manifest().get(relpath)
    if entry is None:
        return True  # nothing to check it against (not a file of the download manifest)
    try:
        got = content_sha256(path)
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip stream
        problem = f"cannot be read ({type(exc).__name__}: {exc}; truncated?)"
    else:
        if got == entry.sha256:
            _remember_verified(path)
            return True
        problem = f"does not match its registry checksum (content sha256 {got[:12]}..., expected {entry.sha256[:12]}...)"
    warnings.warn(f"{path}: cached file {problem}; downloading it again", DataWarning, stacklevel=3)
    return False


def content_sha256(path: str | Path) -> str:
    """SHA-256 of a file's content, decompressed first when it is gzipped."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download_verified(urls: list[str], sha256: str, target: Path) -> None:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    # Temporary files live next to the target so moving the download into place is atomic.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        for url in urls:
            download = Path(tmp) / "download"
            try:
                pooch.HTTPDownloader(progressbar=False, timeout=60)(url, str(download), None)
            except Exception as exc:  # network errors come in many types; report and try the next origin
                problems.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            try:
                got = content_sha256(download)
            except (OSError, EOFError) as exc:  # truncated or corrupt gzip stream
                problems.append(f"{url}: unreadable download ({exc})")
                continue
            if got != sha256:
                problems.append(f"{url}: content sha256 {got} does not match the registry's {sha256}")
                continue
            _store(download, target)
            return
    raise DataError(target, "download failed or did not match its checksum, so nothing was stored ("
                    + "; ".join(problems) + ")",
                    "check the network and retry; if the origin changed, download the file yourself "
                    f"and point {ENV_DATA_DIR} at a folder holding it")


def _store(download: Path, target: Path) -> None:
    """Move a verified download into place, (de)compressing to match the target's name."""
    with open(download, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
    if gzipped == target.name.endswith(".gz"):
        move_into_place(download, target)
        return
    with gzip.open(download, "rb") if gzipped else open(download, "rb") as source:
        write_stream(target, source, _CHUNK)  # gzipped when the target's name ends in .gz
