"""grnlib.io: atomic files and folders, the model-folder marker, tables by suffix, stale temporaries."""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from grnlib.errors import DataError
from grnlib.io import (MODEL_MARKER, append_jsonl, atomic_file, atomic_folder, check_output_file,
                       remove_stale_temporaries, write_json, write_table)


def test_atomic_file_leaves_nothing_on_error_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_folder_marks_its_output_and_overwrites_only_marked_folders(tmp_path):
    out = tmp_path / "model"
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (out / MODEL_MARKER).is_file()
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [MODEL_MARKER, "b.txt"]
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not a folder written by grnlib"):
        with atomic_folder(notes, overwrite=True):
            pass
    assert (notes / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes"]


def test_the_current_folder_is_never_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (".", "./", str(tmp_path), ".."):
        with pytest.raises(DataError, match="current folder"):
            with atomic_folder(name, overwrite=True):
                pass


def test_tables_take_separator_and_compression_from_the_name(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})
    for name, sep in (("t.tsv", "\t"), ("t.csv", ","), ("t.tsv.gz", "\t"), ("t.csv.gz", ",")):
        path = write_table(frame, tmp_path / name)
        raw = gzip.open(path, "rt").read() if name.endswith(".gz") else path.read_text()
        assert raw.splitlines()[0] == f"a{sep}b"
        pd.testing.assert_frame_equal(pd.read_csv(path, sep=sep), frame)
    first = write_table(frame, tmp_path / "x.csv.gz").read_bytes()
    assert write_table(frame, tmp_path / "x.csv.gz").read_bytes() == first  # no timestamp in the header
    assert b"x.csv" in first[:30] and b".tmp" not in first[:60]  # it names the file, not the temporary


def test_json_takes_numpy_values(tmp_path):
    path = write_json(tmp_path / "sub" / "x.json", {"i": np.int64(3), "f": np.float32(0.5), "a": np.arange(2)})
    assert json.loads(path.read_text()) == {"i": 3, "f": 0.5, "a": [0, 1]}


def test_output_file_checks(tmp_path):
    source = tmp_path / "expr.csv"
    source.write_text("x")
    with pytest.raises(DataError, match="input files"):
        check_output_file(source, overwrite=True, inputs=[source])
    with pytest.raises(DataError, match="exists"):
        check_output_file(source)
    assert check_output_file(source, overwrite=True) == source
    with pytest.raises(DataError, match="does not exist"):
        check_output_file(tmp_path / "missing" / "r.tsv")


def test_stale_temporaries_of_a_dead_process_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".model.{pid}.abc.tmp"
    stale.mkdir()
    live = tmp_path / f".model.{os.getpid()}.def.tmp"
    live.mkdir()
    assert remove_stale_temporaries(tmp_path / "model") == [stale]
    assert not stale.exists() and live.exists()


def test_jsonl_appends_whole_lines_after_a_torn_one(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text('{"a": 1}\n{"torn": ')
    append_jsonl(path, {"b": np.int64(2)})
    assert path.read_text().splitlines()[-1] == '{"b": 2}'
    with pytest.raises(ValueError):
        append_jsonl(path, {"c": float("nan")})


# -- issue 20: the user's files in model folders, one writer per output, write failures ------------
def test_an_old_model_folder_without_a_file_list_keeps_the_users_files(tmp_path):
    from grnlib.io import foreign_files

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / MODEL_MARKER).write_text("written by grnlib; `--overwrite` may replace this folder\n")
    for name in ("model.pt", "params.yaml", "NOTES.txt"):
        (folder / name).write_text("x")
    assert foreign_files(folder) == ["NOTES.txt"]
    with pytest.raises(DataError, match=r"holds 1 file\(s\) grnlib did not write \(NOTES.txt\)"):
        with atomic_folder(folder, overwrite=True):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_output_lock_refuses_a_second_holder_and_is_reusable_after(tmp_path):
    from grnlib.io import output_lock

    out = tmp_path / "ranked.tsv"
    with output_lock(out):
        assert (tmp_path / ".ranked.tsv.lock").read_text() == str(os.getpid())
        with pytest.raises(DataError, match=rf"another grnlib process \(pid {os.getpid()}\) is writing"):
            with output_lock(out):
                pass
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".ranked.tsv.lock").write_text("12345")  # left by a SIGKILLed run: the kernel released its lock
    with output_lock(out):
        pass
    assert list(tmp_path.iterdir()) == []


def test_write_failures_name_the_destination_not_the_temporary_file(tmp_path):
    import errno

    from grnlib.io import write_failure

    out = tmp_path / "ranked.tsv"
    with pytest.raises(OSError) as caught:
        with atomic_file(out) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    failure = write_failure(caught.value)
    assert str(failure) == (f"{out}: could not be written: the disk is full; nothing was written. Fix: free disk "
                            "space (or choose an --out on another disk) and run again")
    assert list(tmp_path.iterdir()) == []
    assert write_failure(OSError(errno.ECONNRESET, "reset")) is None  # not the user's to fix: a traceback
    assert "cannot be read or written: permission denied" in str(
        write_failure(PermissionError(errno.EACCES, "Permission denied", "/data/x.csv")))


def test_output_file_may_get_its_folders_made(tmp_path):
    assert check_output_file(tmp_path / "a" / "b" / "e.json", make_parents=True) == tmp_path / "a" / "b" / "e.json"
    with pytest.raises(DataError, match="does not exist"):
        check_output_file(tmp_path / "a" / "e.json")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / MODEL_MARKER).write_text("written by grnlib\n")
    with pytest.raises(DataError, match=r"lies inside the grnlib model folder .*Fix: choose an --out outside it, "
                                        r"e.g. .*m_e.json"):
        check_output_file(tmp_path / "m" / "deeper" / "e.json", make_parents=True)


def test_the_writers_of_every_kind_are_atomic_and_repeatable(tmp_path):
    import torch

    from grnlib.io import (move_into_place, write_bytes, write_npy, write_stream, write_text, write_torch,
                           write_yaml)

    assert write_text(tmp_path / "a" / "note.txt", "hé\n").read_text(encoding="utf-8") == "hé\n"  # folders made
    assert write_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert write_yaml(tmp_path / "p.yaml", {"z": 1, "a": [1, 2]}).read_text() == "z: 1\na:\n- 1\n- 2\n"  # key order kept
    assert np.array_equal(np.load(write_npy(tmp_path / "m.npy", np.eye(3))), np.eye(3))
    state = {"w": torch.arange(4.0), "note": "x"}
    loaded = torch.load(write_torch(tmp_path / "s.pt", state), weights_only=True)
    assert torch.equal(loaded["w"], state["w"]) and loaded["note"] == "x"
    with open(tmp_path / "b.bin", "rb") as source:  # a stream, gzipped by the name, the same bytes every time
        first = write_stream(tmp_path / "c.bin.gz", source).read_bytes()
    with open(tmp_path / "b.bin", "rb") as source:
        assert write_stream(tmp_path / "c.bin.gz", source).read_bytes() == first
    assert gzip.decompress(first) == b"\x00\x01"
    assert move_into_place(tmp_path / "b.bin", tmp_path / "d" / "moved.bin").read_bytes() == b"\x00\x01"
    assert not (tmp_path / "b.bin").exists()
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_an_outer_writer_names_its_destination_when_an_inner_one_fails(tmp_path):
    import errno

    from grnlib.io import write_failure

    out = tmp_path / "model"
    with pytest.raises(OSError) as caught:
        with atomic_folder(out) as folder, atomic_file(folder / "model.pt") as tmp:
            raise OSError(errno.EFBIG, "File too large", str(tmp))
    assert str(write_failure(caught.value)).startswith(f"{out}: could not be written: the file size limit")
    assert list(tmp_path.iterdir()) == []
