"""Data root resolution, the shipped download manifest, and the checksummed download against a local server."""
import functools
import os
import gzip
import http.server
import shutil
import threading
from pathlib import Path

import pytest

import grnlib.data.download as download_module
from grnlib.data import cache_dir, content_sha256, data_root, fetch, find_shared_data, load_dataset
from grnlib.errors import DataError, DataWarning
from grnlib.data.manifest import MANIFEST_PATH, ManifestEntry, build_manifest, load_manifest, origin_refs

LABEL = "beeline/Specific/hHEP/TFs+500/Label.csv.gz"
SETTING_FILES = [f"beeline/Specific/hHEP/TFs+500/{name}.csv.gz"
                 for name in ("Target", "TF", "Label", "BL--network", "BL--ExpressionData")]
SPLIT = "beeline-splits/Specific/hHEP/TFs+500/sample1/Test_set.csv.gz"


# --- data root -------------------------------------------------------------------------

def test_explicit_root_beats_env(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setenv("GRNLIB_DATA_DIR", str(tmp_path / "b"))
    assert data_root(tmp_path / "a") == (tmp_path / "a").resolve()
    assert data_root() == (tmp_path / "b").resolve()


def test_env_root_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("GRNLIB_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataError, match=r"GRNLIB_DATA_DIR is not a folder.*Fix:"):
        data_root()


def test_shared_data_found_upward_only_with_manifest(tmp_path):
    deep = tmp_path / "repo" / "pkg" / "sub"
    deep.mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert find_shared_data([deep]) is None  # a folder without MANIFEST.sha256 is not the mirror
    (tmp_path / "shared" / "data" / "MANIFEST.sha256").write_text("")
    assert find_shared_data([deep]) == tmp_path / "shared" / "data"


def test_default_root_is_shared_data_then_cache(shared_root, tmp_path, monkeypatch):
    assert data_root() == shared_root
    monkeypatch.setattr(download_module, "find_shared_data", lambda: None)
    monkeypatch.setenv("GRNLIB_CACHE_DIR", str(tmp_path / "cache"))
    assert data_root() == (tmp_path / "cache").resolve() == cache_dir()


def test_local_root_never_downloads(tmp_path):
    with pytest.raises(DataError, match="file not found in the data folder"):
        fetch(LABEL, tmp_path)


# --- download manifest --------------------------------------------------------------------------

def test_shipped_manifest_matches_the_mirror_manifests(shared_root):
    # The committed manifest.txt must be regenerated whenever the mirror changes.
    assert MANIFEST_PATH.read_text() == build_manifest(shared_root)
    manifest = load_manifest()
    assert len(manifest) == 615  # 610 + the 5 knowledge tables
    assert all((shared_root / rel).is_file() for rel in manifest)


@pytest.mark.parametrize("relpath", [LABEL, "dream4/insilico_size100_2/goldstandard.tsv"])
def test_manifest_hash_is_of_decompressed_content(shared_root, relpath):
    assert content_sha256(shared_root / relpath) == load_manifest()[relpath].sha256


def test_origin_urls_follow_the_readme():
    urls = load_manifest()[LABEL].urls
    assert urls[0] == ("https://raw.githubusercontent.com/zpliulab/GENELink/main/Dataset/Benchmark%20Dataset/"
                       "Specific%20Dataset/hHEP/TFs%2B500/Label.csv")
    assert urls[1].endswith("/data/benchmark_datasets/Specific%20Dataset/hHEP/TFs%2B500/Label.csv.gz")
    assert load_manifest()[SPLIT].urls[0].endswith("/data/splits/Specific/hHEP%20500/sample1/Test_set.csv.gz")
    assert origin_refs("beeline/Lofgof/mESC/TFs+500/TF.csv.gz") == ["genelink:Lofgof%20Dataset/mESC/TFs%2B500/TF.csv"]
    assert origin_refs("priors/human/dorothea.csv.gz") == []  # OmniPath query result: mirror only


# --- download --------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``; yields (folder, base url)."""
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("GRNLIB_CACHE_DIR", str(tmp_path / "cache"))
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _copy(shared_root, www, relpath, dest=None, decompress=False):
    target = www / (dest or relpath)
    target.parent.mkdir(parents=True, exist_ok=True)
    if decompress:
        with gzip.open(shared_root / relpath, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        shutil.copy(shared_root / relpath, target)
    return target


def _cache_files(cache):
    return sorted(p.relative_to(cache).as_posix() for p in Path(cache).rglob("*") if p.is_file())


def test_download_from_mirror_is_verified_and_cached(shared_root, server, monkeypatch):
    www, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    for rel in SETTING_FILES:
        _copy(shared_root, www, rel)
    cache = cache_dir()
    path = fetch(LABEL, cache)
    assert path == cache / LABEL
    assert content_sha256(path) == load_manifest()[LABEL].sha256
    shutil.rmtree(www / "beeline")  # a cached file is served from disk, not downloaded again
    assert fetch(LABEL, cache) == path
    for rel in SETTING_FILES:
        _copy(shared_root, www, rel)
    ds = load_dataset("beeline/Specific/hHEP/500", root=cache)  # the full loader on downloaded files
    assert (ds.n_genes, ds.n_tfs, ds.n_edges) == (948, 448, 9939)
    assert ds.expression.shape == (425, 948)
    assert _cache_files(cache) == sorted(SETTING_FILES)


def test_corrupted_download_is_refused_and_nothing_is_stored(shared_root, server, monkeypatch):
    www, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    target = www / LABEL
    target.parent.mkdir(parents=True)
    with gzip.open(shared_root / LABEL, "rb") as handle:
        content = handle.read()
    with gzip.open(target, "wb") as handle:  # still valid gzip, one digit of one edge changed
        handle.write(content.replace(b"0,439,457", b"0,439,458", 1))
    with pytest.raises(DataError, match=r"nothing was stored.*does not match the registry"):
        fetch(LABEL, cache_dir())
    assert _cache_files(cache_dir()) == []  # no partial, temporary or unverified file left


def test_truncated_gzip_download_is_refused(shared_root, server, monkeypatch):
    www, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    target = www / LABEL
    target.parent.mkdir(parents=True)
    target.write_bytes((shared_root / LABEL).read_bytes()[:2000])
    with pytest.raises(DataError, match="unreadable download"):
        fetch(LABEL, cache_dir())
    assert _cache_files(cache_dir()) == []


def test_missing_file_on_server_reports_http_error(server, monkeypatch):
    _, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    with pytest.raises(DataError, match="404"):
        fetch(LABEL, cache_dir())
    assert _cache_files(cache_dir()) == []


def test_public_origin_layout_plain_and_gzipped(shared_root, server, monkeypatch):
    """GENELink serves plain CSV, bridge-grn gzip; both verify and are stored gzipped."""
    www, url = server
    real = load_manifest()
    rewritten = {rel: ManifestEntry(rel, e.sha256, tuple(u.replace("https://raw.githubusercontent.com", url)
                                                         for u in e.urls)) for rel, e in real.items()}
    monkeypatch.setattr(download_module, "load_manifest", lambda: rewritten)
    genelink = "zpliulab/GENELink/main/Dataset/Benchmark Dataset/Specific Dataset/hHEP/TFs+500"
    bridge = "haohaostats/bridge-grn/167c6edc1f97647f2bc44f6ba6a70b729ebadd4d/data"
    _copy(shared_root, www, LABEL, f"{genelink}/Label.csv", decompress=True)
    # TF.csv is missing at GENELink here: the downloader falls back to bridge-grn's .gz copy.
    tf = "beeline/Specific/hHEP/TFs+500/TF.csv.gz"
    _copy(shared_root, www, tf, f"{bridge}/benchmark_datasets/Specific Dataset/hHEP/TFs+500/TF.csv.gz")
    _copy(shared_root, www, SPLIT, f"{bridge}/splits/Specific/hHEP 500/sample1/Test_set.csv.gz")
    cache = cache_dir()
    for rel in (LABEL, tf, SPLIT):
        path = fetch(rel, cache)
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # stored gzipped like the mirror
        assert content_sha256(path) == real[rel].sha256
    assert _cache_files(cache) == sorted([LABEL, tf, SPLIT])


def test_file_without_public_origin_needs_a_mirror(server):
    with pytest.raises(DataError, match=r"no static public origin.*GRNLIB_DATA_URL"):
        fetch("priors/human/dorothea.csv.gz", cache_dir())


def test_unknown_file_is_refused(server):
    with pytest.raises(DataError, match="not a known reference data file"):
        fetch("beeline/Specific/hHEP/TFs+500/secret.csv", cache_dir())


# --- the cache is checked, not trusted (issue 14, defect 10) ------------------------------

def _download_once(shared_root, server, monkeypatch):
    www, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    _copy(shared_root, www, LABEL)
    monkeypatch.setattr(download_module, "_VERIFIED", {})  # a fresh process: nothing verified yet
    path = fetch(LABEL, cache_dir())
    return path, load_manifest()[LABEL].sha256


def _next_process(monkeypatch):
    monkeypatch.setattr(download_module, "_VERIFIED", {})


def test_edited_cached_file_is_fetched_again_with_a_warning(shared_root, server, monkeypatch):
    path, expected = _download_once(shared_root, server, monkeypatch)
    with gzip.open(path, "rb") as handle:
        content = handle.read()
    with gzip.open(path, "wb") as handle:  # a user "fixed" one edge in the cached copy
        handle.write(content.replace(b"0,439,457", b"0,439,458", 1))
    _next_process(monkeypatch)
    with pytest.warns(DataWarning, match=r"Label\.csv\.gz: cached file does not match its registry checksum.*"
                                         r"downloading it again"):
        assert fetch(LABEL, cache_dir()) == path
    assert content_sha256(path) == expected
    assert _cache_files(cache_dir()) == [LABEL]  # replaced in place, no temporary left


def test_truncated_cached_file_is_fetched_again(shared_root, server, monkeypatch):
    path, expected = _download_once(shared_root, server, monkeypatch)
    path.write_bytes(path.read_bytes()[:1500])
    _next_process(monkeypatch)
    with pytest.warns(DataWarning, match=r"cached file cannot be read .*truncated\?\); downloading it again"):
        fetch(LABEL, cache_dir())
    assert content_sha256(path) == expected


def test_cached_file_is_hashed_once_per_process_and_again_when_it_changes(shared_root, server, monkeypatch):
    path, _ = _download_once(shared_root, server, monkeypatch)
    calls = []
    real = download_module.content_sha256
    monkeypatch.setattr(download_module, "content_sha256", lambda p: calls.append(p) or real(p))
    _next_process(monkeypatch)
    for _ in range(3):
        fetch(LABEL, cache_dir())
    assert calls == [path]  # first use in this process only
    data = path.read_bytes()
    path.write_bytes(data)  # rewritten (new mtime): checked again
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    fetch(LABEL, cache_dir())
    assert calls == [path, path]


def test_damaged_cached_file_with_origin_gone_is_an_error_not_a_silent_use(shared_root, server, monkeypatch):
    path, _ = _download_once(shared_root, server, monkeypatch)
    path.write_bytes(path.read_bytes()[:1500])
    shutil.rmtree(server[0] / "beeline")  # the origin no longer serves it
    _next_process(monkeypatch)
    with pytest.warns(DataWarning, match="downloading it again"), \
            pytest.raises(DataError, match=r"download failed or did not match its checksum.*404"):
        fetch(LABEL, cache_dir())


def test_local_data_folders_are_not_hashed(tmp_path, monkeypatch):
    """Only the download cache is checked: a folder the user points at is read as it is."""
    (tmp_path / "beeline/Specific/hHEP/TFs+500").mkdir(parents=True)
    (tmp_path / LABEL).write_bytes(b"edited")
    monkeypatch.setattr(download_module, "content_sha256", lambda p: pytest.fail("hashed a local file"))
    assert fetch(LABEL, tmp_path) == tmp_path / LABEL
