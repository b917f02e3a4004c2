"""Issue 14: the command line never loses the user's files, survives Ctrl-C, SIGTERM and SIGKILL
without leaving temporary files, and resumes an interrupted training to the same model.

Each test checks the exit code, the one line the user reads (naming the file), that the inputs
are byte for byte unchanged (SHA-256) and that no temporary file or folder is left."""
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_helpers import run, sha256, train_argv

import grnlib.training.loop as loop

REPO = Path(__file__).resolve().parents[2]
# Long enough to be interrupted mid-training, short enough to finish quickly when resumed.
SLOW_PARAMS = """\
model_cfg: {embedding_dim: 16, hidden_dims: [16], out_dim: 16}
train: {epochs: 40, batch_size: 16, warmup_epochs: 0, early_stopping_patience: null}
features: {kind: pca, n_components: 8}
"""
FIVE_EPOCHS = SLOW_PARAMS.replace("epochs: 40", "epochs: 5")


@pytest.fixture(autouse=True)
def _no_run_cache(monkeypatch):
    """Every run here trains: a cached result would skip the training these tests interrupt."""
    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")


def hashes(folder):
    return {p.relative_to(folder).as_posix(): sha256(p) for p in Path(folder).rglob("*") if p.is_file()}


def leftovers(folder):
    """Temporary or backup paths anywhere below ``folder`` (hidden ``.NAME.*.tmp``, ``.old``, ``.partial``)."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")
                  if p.name.endswith(".tmp") or ".old" in p.name or p.name.endswith(".partial"))


def one_error(err, command):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"grnlib {command}: error: "), err
    assert "Traceback" not in err and "Fix: " in lines[0]
    return lines[0]


def with_params(toy_files, folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(text)
    return {**toy_files, "params": folder / "params.yaml"}


# -- defects 1-4: the user's files ---------------------------------------------------------------
def test_defect1_train_overwrite_refuses_a_folder_of_other_files(toy_files, tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("expression", "priors"):  # the user keeps inputs and notes in the folder they name
        (folder / toy_files[name].name).write_bytes(toy_files[name].read_bytes())
    (folder / "notes.md").write_text("do not lose me\n")
    before = hashes(folder)
    files = {**toy_files, "expression": folder / "expr.csv", "priors": folder / "priors.csv"}
    code, _, err = run(train_argv(files, folder, extra=["--overwrite"]), capsys)
    assert code == 1
    line = one_error(err, "train")
    assert f"{folder}: is not a folder written by grnlib (no .grnlib-model file)" in line
    assert hashes(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_defect2_predict_refuses_an_existing_out_without_overwrite(trained, toy_files, tmp_path, capsys):
    out = tmp_path / "ranked.tsv"
    out.write_text("my earlier ranking\n")
    argv = ["predict", "--model", trained, "--expression", toy_files["expression"], "--top-k", 5, "--quiet",
            "--out", out]
    code, _, err = run(argv, capsys)
    assert code == 1 and f"{out}: output file exists" in one_error(err, "predict")
    assert out.read_text() == "my earlier ranking\n"
    assert run(argv + ["--overwrite"], capsys)[0] == 0  # --overwrite replaces a file that is no input
    assert len(pd.read_csv(out, sep="\t")) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranked.tsv"]


@pytest.mark.parametrize("which", ["expression", "tfs", "model.pt"])
def test_defect2_predict_never_overwrites_an_input_even_with_overwrite(which, trained, toy_files, tmp_path, capsys):
    expression = tmp_path / "expr.csv"
    expression.write_bytes(toy_files["expression"].read_bytes())
    tfs = tmp_path / "tfs.txt"
    tfs.write_bytes(toy_files["tfs"].read_bytes())
    out = {"expression": expression, "tfs": tfs, "model.pt": trained / "model.pt"}[which]
    before, model_before = hashes(tmp_path), hashes(trained)
    code, _, err = run(["predict", "--model", trained, "--expression", expression, "--tfs", tfs, "--quiet",
                        "--out", out, "--overwrite"], capsys)
    assert code == 1
    line = one_error(err, "predict")
    assert str(out) in line and ("is one of the input files" in line or "inside an input folder" in line)
    assert hashes(tmp_path) == before and hashes(trained) == model_before


def test_defect3_out_dot_with_overwrite_is_refused_cleanly(toy_files, tmp_path, capsys, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.md").write_text("mine\n")
    (here / "expr.csv").write_bytes(toy_files["expression"].read_bytes())
    monkeypatch.chdir(here)
    before = hashes(tmp_path)
    for out in (".", "./", str(here), ".."):
        code, _, err = run(train_argv({**toy_files, "expression": here / "expr.csv"}, out, extra=["--overwrite"]),
                           capsys)
        assert code == 1, err
        assert "is the current folder or one above it and cannot be replaced" in one_error(err, "train")
        assert hashes(tmp_path) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no .work.old* or temporary folder
        assert not [p for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}")]


def test_defect4_gz_out_is_real_gzip(trained, toy_files, tmp_path, capsys):
    out = tmp_path / "ranked.tsv.gz"
    code, _, err = run(["predict", "--model", trained, "--expression", toy_files["expression"], "--top-k", 20,
                        "--quiet", "--out", out], capsys)
    assert code == 0, err
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    ranked = pd.read_csv(out, sep="\t")  # pandas infers gzip from the suffix, as users do
    assert list(ranked.columns[:3]) == ["tf", "target", "score"] and len(ranked) == 20
    with gzip.open(out, "rt") as handle:
        assert handle.readline().startswith("tf\ttarget\tscore")


# -- defect 7: interrupts -------------------------------------------------------------------------
def interrupt_at_epoch(monkeypatch, epoch, exception=KeyboardInterrupt):
    """Make fit raise ``exception`` right after saving the training state of ``epoch``, as a
    Ctrl-C between two epochs would."""
    real = loop._save

    def save(path, model, optimizer, scheduler, stopper, shuffle, config, done, *rest):
        real(path, model, optimizer, scheduler, stopper, shuffle, config, done, *rest)
        if done == epoch:
            raise exception()

    monkeypatch.setattr(loop, "_save", save)


def test_defect7_ctrl_c_in_train_prints_one_line_and_leaves_no_temporary(toy_files, tmp_path, capsys, monkeypatch):
    files = with_params(toy_files, tmp_path / "in", FIVE_EPOCHS)
    before = hashes(tmp_path / "in")
    interrupt_at_epoch(monkeypatch, 2)
    code, out, err = run(train_argv(files, tmp_path / "m"), capsys)
    assert code == 130
    assert err.strip().splitlines() == [
        f"grnlib train: interrupted; the model was not written; its training state is kept in {tmp_path}/m.partial: "
        f"continue with grnlib train --resume {tmp_path}/m"]
    assert not (tmp_path / "m").exists() and leftovers(tmp_path) == ["m.partial"]
    assert sorted(p.name for p in (tmp_path / "m.partial").iterdir()) == ["last.pt", "run.json"]
    assert hashes(tmp_path / "in") == before


def test_defect7_ctrl_c_before_training_writes_nothing(toy_files, tmp_path, capsys, monkeypatch):
    import grnlib.user as user

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(user, "read_priors", interrupted)
    code, _, err = run(train_argv(toy_files, tmp_path / "m"), capsys)
    assert code == 130 and err.strip() == "grnlib train: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_defect7_ctrl_c_while_predict_writes_leaves_no_partial_file(trained, toy_files, tmp_path, capsys,
                                                                     monkeypatch):
    real = pd.DataFrame.to_csv

    def half_then_interrupt(self, path, *args, **kwargs):
        real(self.head(3), path, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_interrupt)
    code, _, err = run(["predict", "--model", trained, "--expression", toy_files["expression"], "--quiet",
                        "--out", tmp_path / "ranked.tsv"], capsys)
    assert code == 130 and err.strip() == "grnlib predict: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


def start_training(files, out, *extra):
    """``python -m grnlib.cli train`` in a subprocess (as a user runs it), one thread, no run cache."""
    env = {**os.environ, "GRNLIB_NO_CACHE": "1", "PYTHONPATH": str(REPO), "CI": "1"}
    argv = [sys.executable, "-m", "grnlib.cli", *[str(a) for a in train_argv(files, out)], "--threads", "1",
            *extra]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, process, timeout=120):
    """Poll until ``path`` exists (training reached its first checkpoint)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"process ended first: {process.communicate()}")
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.02)


# SIGINT raises KeyboardInterrupt, tested in-process above; a real process is started once for SIGTERM
# (Python's default would die at once, skipping cleanup) and once for SIGKILL.
@pytest.mark.slow  # a real process (imports torch): about 10 s of CPU
@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated")])
def test_defect7_signals_clean_up_and_print_one_line(sig, code, word, toy_files, tmp_path):
    files = with_params(toy_files, tmp_path / "in", SLOW_PARAMS)
    before = hashes(tmp_path / "in")
    process = start_training(files, tmp_path / "m")
    wait_for(tmp_path / "m.partial" / "last.pt", process)
    assert any(p.name.startswith(".m.") and p.name.endswith(".tmp") for p in tmp_path.iterdir())  # mid-run
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert err.strip().splitlines()[-1] == (
        f"grnlib train: {word}; the model was not written; its training state is kept in {tmp_path}/m.partial: "
        f"continue with grnlib train --resume {tmp_path}/m")
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "m.partial"]  # the temporary folder is gone
    assert hashes(tmp_path / "in") == before


@pytest.mark.slow  # a real process and two trainings: about 15 s of CPU
def test_defect7_sigkill_leftovers_are_removed_by_the_next_run(toy_files, tmp_path, capsys):
    """SIGKILL cannot be caught: its temporary folder stays until the next run to the same --out
    removes it (its process is gone); that run resumes and ends with the uninterrupted result."""
    files = with_params(toy_files, tmp_path / "in", SLOW_PARAMS)
    process = start_training(files, tmp_path / "killed")
    wait_for(tmp_path / "killed.partial" / "last.pt", process)
    process.kill()
    process.communicate(timeout=60)
    stale = [p.name for p in tmp_path.iterdir() if p.name.startswith(".killed.") and p.name.endswith(".tmp")]
    assert stale, "the killed run left no temporary folder: the test would prove nothing"
    code, _, err = run(["train", "--resume", tmp_path / "killed", "--threads", "1", "--quiet"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "killed"]  # stale folder and state gone
    assert leftovers(tmp_path) == []
    assert run(train_argv(files, tmp_path / "straight", extra=["--threads", "1"]), capsys)[0] == 0
    same_model(tmp_path / "killed", tmp_path / "straight")


# -- defect 11: --resume ------------------------------------------------------------------------
def same_model(a, b):
    """Two model folders hold the same trained model: weights, metrics, params, pairs, history."""
    wa = torch.load(a / "model.pt", weights_only=True)["model_state"]
    wb = torch.load(b / "model.pt", weights_only=True)["model_state"]
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    for name in ("metrics.tsv", "params.yaml", "pairs.tsv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    history = [pd.read_csv(folder / "history.tsv", sep="\t").drop(columns="time_s") for folder in (a, b)]
    pd.testing.assert_frame_equal(*history)


def test_defect11_resume_continues_to_the_uninterrupted_result(toy_files, tmp_path, capsys, monkeypatch):
    files = with_params(toy_files, tmp_path / "in", FIVE_EPOCHS)
    assert run(train_argv(files, tmp_path / "straight"), capsys)[0] == 0
    with monkeypatch.context() as patch:
        interrupt_at_epoch(patch, 2)
        assert run(train_argv(files, tmp_path / "resumed"), capsys)[0] == 130
    assert torch.load(tmp_path / "resumed.partial" / "last.pt", weights_only=True)["epoch"] == 2
    epochs = []
    real = loop._save
    monkeypatch.setattr(loop, "_save", lambda *a: epochs.append(a[7]) or real(*a))
    code, _, err = run(["train", "--resume", tmp_path / "resumed", "--quiet"], capsys)
    assert code == 0, err
    assert epochs == [3, 4, 5]  # it continued; it did not start over
    same_model(tmp_path / "resumed", tmp_path / "straight")
    assert leftovers(tmp_path) == []  # the training state went with success
    assert len(pd.read_csv(tmp_path / "resumed" / "history.tsv", sep="\t")) == 5


def test_defect11_resume_accepts_the_same_flags_and_a_new_device(toy_files, tmp_path, capsys, monkeypatch):
    files = with_params(toy_files, tmp_path / "in", FIVE_EPOCHS)
    with monkeypatch.context() as patch:
        interrupt_at_epoch(patch, 1, exception=SystemExit)  # any crash keeps the state of a finished epoch
        with pytest.raises(SystemExit):
            run(train_argv(files, tmp_path / "m"), capsys)
    assert (tmp_path / "m.partial" / "last.pt").is_file()
    argv = train_argv(files, tmp_path / "m") + ["--resume", tmp_path / "m", "--device", "cpu", "--seed", 0]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    assert leftovers(tmp_path) == []


def test_defect11_a_finished_run_leaves_nothing_to_resume(trained, toy_files, tmp_path, capsys):
    assert not Path(f"{trained}.partial").exists()
    code, _, err = run(["train", "--resume", trained], capsys)
    assert code == 1 and "no interrupted run" in one_error(err, "train")
