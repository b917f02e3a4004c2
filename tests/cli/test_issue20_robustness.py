"""Issue 20, items 4, 6 and 7: no file of the user's is lost or changed, every failure is one line
naming the file and the fix (exit 1, no traceback, nothing partial left), counts are handled as
scanpy users expect, training stops early, and --model lists only what train can train.

Each defect of the issue has a test named after it (``test_defect_...``)."""
import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from cli_helpers import run, sha256, train_argv

import grnlib
from grnlib.errors import DataError, DataWarning
from grnlib.io import output_lock

REPO = Path(__file__).resolve().parents[2]
DATASET = "beeline/Specific/hHEP/500"


def hashes(folder):
    return {p.relative_to(folder).as_posix(): sha256(p) for p in Path(folder).rglob("*") if p.is_file()}


def one_error(err, command):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"grnlib {command}: error: "), err
    assert "Traceback" not in err and "Fix: " in lines[0]
    return lines[0]


def predict_argv(model, files, out, *extra):
    return ["predict", "--model", model, "--expression", files["expression"], "--quiet", "--out", out, *extra]


@pytest.fixture
def model_copy(trained, tmp_path):
    """A model folder of this test's own (tests below try to write into it)."""
    import shutil

    return Path(shutil.copytree(trained, tmp_path / "my_model"))


# -- the user's files ------------------------------------------------------------------------------
def test_defect_evaluate_out_inside_a_model_folder_is_refused(model_copy, capsys):
    before = hashes(model_copy)
    for name in ("metrics.tsv", "new.json", "sub/new.json"):
        code, _, err = run(["evaluate", "--dataset", DATASET, "--models", "degree", "--out", model_copy / name,
                            "--overwrite", "--quiet"], capsys)
        assert code == 1
        assert f"lies inside the grnlib model folder {model_copy}" in one_error(err, "evaluate")
        assert hashes(model_copy) == before


def test_defect_predict_out_inside_a_model_folder_is_refused(trained, model_copy, toy_files, capsys):
    before = hashes(model_copy)  # another model's folder than the one predicting (that is an input)
    code, _, err = run(predict_argv(trained, toy_files, model_copy / "ranked.tsv"), capsys)
    assert code == 1 and "lies inside the grnlib model folder" in one_error(err, "predict")
    assert hashes(model_copy) == before


def test_defect_evaluate_refuses_an_existing_out_without_overwrite(shared_root, tmp_path, capsys):
    out = tmp_path / "eval.json"
    out.write_text("my earlier evaluation\n")
    argv = ["evaluate", "--dataset", DATASET, "--models", "degree", "--out", out, "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 1 and f"{out}: output file exists" in one_error(err, "evaluate")
    assert out.read_text() == "my earlier evaluation\n"
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert json.loads(out.read_text())["results"][0]["model"] == "degree"


def test_defect_train_overwrite_refuses_a_model_folder_holding_the_users_files(toy_files, tmp_path, capsys):
    out = tmp_path / "m"
    assert run(train_argv(toy_files, out), capsys)[0] == 0
    (out / "NOTES.txt").write_text("what I learned from this model\n")
    (out / "figs").mkdir()
    (out / "figs" / "roc.png").write_bytes(b"png")
    before = hashes(out)
    code, _, err = run(train_argv(toy_files, out, extra=["--overwrite"]), capsys)
    assert code == 1
    line = one_error(err, "train")
    assert f"{out}: holds 2 file(s) grnlib did not write (NOTES.txt, figs/roc.png)" in line
    assert "move them out of the folder" in line
    assert hashes(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    (out / "NOTES.txt").unlink()
    (out / "figs" / "roc.png").unlink()
    (out / "figs").rmdir()
    assert run(train_argv(toy_files, out, extra=["--overwrite"]), capsys)[0] == 0  # grnlib's own files only


def test_model_folder_marker_lists_the_files_grnlib_wrote(trained):
    listed = (trained / ".grnlib-model").read_text().splitlines()[1:]
    assert sorted(listed) == sorted(p.name for p in trained.iterdir() if p.name != ".grnlib-model")


# -- one writer per --out --------------------------------------------------------------------------
def test_defect_second_train_into_the_same_out_stops_with_one_line(toy_files, tmp_path, capsys):
    out = tmp_path / "m"
    with output_lock(out):  # as a first `grnlib train` holds it while it trains
        code, _, err = run(train_argv(toy_files, out), capsys)
    assert code == 1
    assert f"{out}: another grnlib process (pid {os.getpid()}) is writing this output right now" in \
        one_error(err, "train")
    assert "FileExistsError" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .partial, no temporary folder, no lock file


def test_defect_second_predict_into_the_same_out_stops_instead_of_replacing(trained, toy_files, tmp_path, capsys):
    out = tmp_path / "ranked.tsv"
    with output_lock(out):
        code, _, err = run(predict_argv(trained, toy_files, out, "--top-k", 5), capsys)
        assert code == 1 and "is writing this output right now" in one_error(err, "predict")
        assert not out.exists()
    assert run(predict_argv(trained, toy_files, out, "--top-k", 5), capsys)[0] == 0  # the lock went with its holder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranked.tsv"]


@pytest.mark.slow  # a real second process training for a few seconds
def test_defect_two_train_processes_into_one_out(toy_files, tmp_path, capsys):
    """As in the issue: the second run started while the first trains stops at once with one line;
    the first finishes undisturbed."""
    files = {**toy_files, "params": tmp_path / "slow.yaml"}
    files["params"].write_text("model_cfg: {embedding_dim: 16, hidden_dims: [16], out_dim: 16}\n"
                               "train: {epochs: 40, batch_size: 16, warmup_epochs: 0}\n"
                               "features: {kind: pca, n_components: 8}\n")
    env = {**os.environ, "GRNLIB_NO_CACHE": "1", "PYTHONPATH": str(REPO), "CI": "1"}
    first = subprocess.Popen([sys.executable, "-m", "grnlib.cli", *map(str, train_argv(files, tmp_path / "m")),
                              "--threads", "1", "--patience", "0"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        while not (tmp_path / "m.partial" / "last.pt").exists():
            assert first.poll() is None, first.communicate()
        code, _, err = run(train_argv(files, tmp_path / "m"), capsys)
    finally:
        _, first_err = first.communicate(timeout=300)
    assert code == 1 and f"another grnlib process (pid {first.pid})" in one_error(err, "train")
    assert first.returncode == 0, first_err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "slow.yaml"]


# -- disk full, file size limit, permissions --------------------------------------------------------
def _ulimited(argv, blocks, cwd):
    """`grnlib <argv>` in a shell whose file size limit is ``blocks`` KiB (`ulimit -f`)."""
    env = {**os.environ, "GRNLIB_NO_CACHE": "1", "PYTHONPATH": str(REPO), "CI": "1"}
    command = f"ulimit -f {blocks}; exec {sys.executable} -m grnlib.cli " + " ".join(f"'{a}'" for a in argv)
    return subprocess.run(["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # two real processes
def test_defect_file_size_limit_in_predict_and_train_is_one_line(trained, toy_files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = _ulimited(["predict", "--model", trained, "--expression", toy_files["expression"], "--quiet",
                      "--out", out / "ranked.tsv", "--threads", "1"], 8, tmp_path)
    assert done.returncode == 1, done.stderr
    line = one_error(done.stderr, "predict")
    assert f"{out}/ranked.tsv: could not be written: the file size limit is reached" in line
    assert "Fix: raise the file size limit (`ulimit -f unlimited`)" in line
    done = _ulimited([*train_argv(toy_files, out / "m"), "--threads", "1"], 8, tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"{out}/m: could not be written: the file size limit is reached" in one_error(done.stderr, "train")
    assert list(out.iterdir()) == []  # no ranking, no model, no .partial, no temporary file or lock


def _fail_with(code, message):
    def fail(*args, **kwargs):
        raise OSError(code, message)
    return fail


@pytest.mark.parametrize("code, reason", [(errno.ENOSPC, "the disk is full"),
                                          (errno.EDQUOT, "the disk quota is exceeded"),
                                          (errno.EACCES, "permission denied")])
def test_defect_disk_full_and_permission_errors_in_predict(code, reason, trained, toy_files, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _fail_with(code, os.strerror(code)))
    out = tmp_path / "ranked.tsv"
    status, _, err = run(predict_argv(trained, toy_files, out), capsys)
    assert status == 1
    assert f"{out}: could not be written: {reason}" in one_error(err, "predict")
    assert list(tmp_path.iterdir()) == []


def test_defect_disk_full_in_train_leaves_nothing(toy_files, tmp_path, capsys, monkeypatch):
    import grnlib.user

    monkeypatch.setattr(grnlib.user, "write_user_model", _fail_with(errno.ENOSPC, "No space left on device"))
    out = tmp_path / "m"
    status, _, err = run(train_argv(toy_files, out), capsys)
    assert status == 1
    assert f"{out}: could not be written: the disk is full; nothing was written" in one_error(err, "train")
    assert list(tmp_path.iterdir()) == []  # no model, no .partial training state, no temporary folder


# -- settings --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["lots", "-5", "nan", "1e400x"])
def test_defect_run_cache_size_junk_is_an_error_before_training(value, toy_files, tmp_path, capsys, monkeypatch):
    import grnlib.training.loop as loop

    monkeypatch.delenv("GRNLIB_NO_CACHE", raising=False)
    monkeypatch.setenv("GRNLIB_RUN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GRNLIB_RUN_CACHE_MB", value)
    monkeypatch.setattr(loop, "fit", _fail_with(errno.EIO, "training must not start"))
    code, _, err = run(train_argv(toy_files, tmp_path / "m"), capsys)
    assert code == 1
    assert f"$GRNLIB_RUN_CACHE_MB={value!r} is not a cache size in megabytes" in one_error(err, "train")
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.partial").exists()


def test_defect_run_cache_size_inf_means_no_limit(toy_files, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GRNLIB_NO_CACHE", raising=False)
    monkeypatch.setenv("GRNLIB_RUN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GRNLIB_RUN_CACHE_MB", "inf")
    code, _, err = run(train_argv(toy_files, tmp_path / "m"), capsys)
    assert code == 0, err
    assert (tmp_path / "m" / "model.pt").is_file() and list((tmp_path / "cache").rglob("*.pt"))


def test_defect_empty_seed_list_is_an_error(tmp_path, capsys):
    code, _, err = run(["evaluate", "--dataset", DATASET, "--seeds", "", "--out", tmp_path / "e.json"], capsys)
    assert code == 1 and "--seeds '' names nothing to run" in one_error(err, "evaluate")
    assert not (tmp_path / "e.json").exists()


def test_defect_repeated_seeds_run_once_with_a_note(shared_root, tmp_path, capsys):
    out = tmp_path / "e.json"
    code, _, err = run(["evaluate", "--dataset", DATASET, "--models", "degree,degree", "--seeds", "0,0",
                        "--out", out, "--quiet"], capsys)
    assert code == 0
    assert err.splitlines() == ["grnlib evaluate: warning: --models degree,degree names a model twice; each runs once",
                                "grnlib evaluate: warning: --seeds 0,0 repeats [0]; each runs once (--seeds 0)"]
    payload = json.loads(out.read_text())
    assert payload["config"]["seeds"] == [0] and len(payload["results"]) == 1


# -- warnings --------------------------------------------------------------------------------------
def test_defect_warnings_print_once_as_one_line(capsys):
    from grnlib.entry import one_line_warnings

    with one_line_warnings("grnlib train"):
        for _ in range(2):
            warnings.warn("priors.csv: dropped 3 self-loop(s)", DataWarning)
            warnings.warn("a library's advice\nspanning lines", UserWarning)
    assert capsys.readouterr().err.splitlines() == ["grnlib train: warning: priors.csv: dropped 3 self-loop(s)",
                                                    "grnlib train: warning: a library's advice"]


def test_defect_foreign_run_cache_entry_warns_without_torch_advice(tmp_path, monkeypatch):
    import argparse
    import io

    import torch

    from grnlib.evaluation import cache

    monkeypatch.delenv("GRNLIB_NO_CACHE", raising=False)
    monkeypatch.setenv("GRNLIB_RUN_CACHE", str(tmp_path))
    buffer = io.BytesIO()
    torch.save({"format": cache.FORMAT, "object": argparse.Namespace(x=1)}, buffer)  # not weights-only
    cache.store_bytes("ab" * 20, ".pt", buffer.getvalue())
    with pytest.warns(DataWarning) as caught:
        assert cache.load("ab" * 20) is None
    text = str(caught[0].message)
    assert "damaged or foreign (it holds objects a weights-only load refuses); recomputing it" in text
    assert "weights_only" not in text and "\n" not in text


def test_defect_evaluate_quiet_prints_nothing_but_warnings(shared_root, tmp_path, capsys, monkeypatch):
    import grnlib.progress as progress

    monkeypatch.setattr(progress, "MIN_SECONDS", 0.0)  # every timed step line would print
    monkeypatch.delenv("CI", raising=False)
    code, out, err = run(["evaluate", "--dataset", DATASET, "--models", "degree", "--out", tmp_path / "e.json",
                          "--quiet"], capsys)
    assert code == 0 and out == "" and err == ""


# -- misleading messages ---------------------------------------------------------------------------
def expression_frame(files):
    return pd.read_csv(files["expression"], index_col=0)


@pytest.fixture
def inputs(toy_files, tmp_path):
    return {**toy_files, "dir": tmp_path}


def train_fails(capsys, files, out, *extra, **replace):
    argv = train_argv({**files, **replace}, out, extra=extra)
    code, _, err = run(argv, capsys)
    assert code == 1
    assert not Path(out).exists()
    return one_error(err, "train")


def test_defect_semicolon_csv_with_decimal_commas(inputs, capsys):
    path = inputs["dir"] / "excel.csv"
    expression_frame(inputs).to_csv(path, sep=";", decimal=",")
    line = train_fails(capsys, inputs, inputs["dir"] / "m", expression=path)
    assert "excel.csv: expression matrix looks semicolon-separated with decimal commas" in line
    assert "decimal=','" in line


def test_defect_beeline_network_csv_with_priors_format_beeline(inputs, capsys):
    priors = pd.read_csv(inputs["priors"])
    path = inputs["dir"] / "refNetwork.csv"  # BEELINE's network files are comma-separated .csv
    pd.DataFrame({"Gene1": priors["source"], "Gene2": priors["target"], "Type": "+"}).to_csv(path, index=False)
    argv = train_argv({**inputs, "priors": path}, inputs["dir"] / "m", extra=["--priors-format", "beeline"])
    assert run(argv, capsys)[0] == 0


@pytest.mark.parametrize("layout", ["csv", "h5ad"])
def test_defect_genes_by_cells_matrix_suggests_genes_as(layout, inputs, capsys):
    frame = expression_frame(inputs)  # genes x cells
    if layout == "csv":
        path = inputs["dir"] / "cells_as_rows.csv"
        frame.T.to_csv(path)  # cells x genes, read by default as genes x cells
        fix = "Fix: pass --genes-as columns"
    else:
        path = inputs["dir"] / "genes_by_cells.h5ad"
        ad.AnnData(frame.to_numpy(np.float32), obs=pd.DataFrame(index=frame.index),
                   var=pd.DataFrame(index=frame.columns)).write_h5ad(path)
        fix = "Fix: pass --genes-as rows"
    line = train_fails(capsys, inputs, inputs["dir"] / "m", expression=path)
    assert "genes are row names of the matrix, where its cells should be" in line
    assert "the genes shown are e.g. ['cell0000'" in line and fix in line


def test_defect_genes_by_cells_anndata_in_python_suggests_adata_t(inputs):
    frame = expression_frame(inputs)
    adata = ad.AnnData(frame.to_numpy(np.float32), obs=pd.DataFrame(index=frame.index),
                       var=pd.DataFrame(index=frame.columns))
    with pytest.raises(DataError, match=r"read the wrong way round\. Fix: pass adata\.T"):
        grnlib.fit(adata, str(inputs["priors"]), model="expression_two_tower", epochs=1)


def test_defect_folder_as_expression(inputs, capsys):
    line = train_fails(capsys, inputs, inputs["dir"] / "m", expression=inputs["expression"].parent)
    assert f"{inputs['expression'].parent}: is a folder, not an expression matrix file" in line
    assert f"e.g. {inputs['expression']}" in line


def test_defect_tf_list_that_is_a_numeric_matrix(inputs, capsys):
    line = train_fails(capsys, inputs, inputs["dir"] / "m", "--tfs", inputs["expression"])
    assert "expr.csv: is a numeric table of 81 columns (an expression matrix?), not a list of TF symbols" in line


@pytest.mark.parametrize("text, expected", [
    ('train: {lr: "0.01"}\n', "train.lr is the text '0.01', not a number. Fix: write lr: 0.01 without quotes"),
    ('features: {kind: pca, n_components: "8"}\n', "features.n_components is the text '8', not a number"),
    ('train: {epochs: "2"}\n', "train.epochs is the text '2', not a number")])
def test_defect_string_typed_params(text, expected, inputs, capsys):
    (inputs["dir"] / "p.yaml").write_text(text)
    line = train_fails(capsys, inputs, inputs["dir"] / "m", params=inputs["dir"] / "p.yaml")
    assert "p.yaml: " in line and expected in line


def test_train_config_type_check_speaks_to_python_callers():
    from grnlib.training.loop import TrainConfig

    with pytest.raises(TypeError, match=r"train.lr is '0.01' \(str\), expected a number; write it without quotes"):
        TrainConfig.from_dict({"lr": "0.01"})
    with pytest.raises(TypeError, match=r"train.epochs is True \(bool\), expected a whole number"):
        TrainConfig.from_dict({"epochs": True})
    assert TrainConfig.from_dict({"lr": 1, "early_stopping_patience": None}).lr == 1


@pytest.mark.parametrize("damage", ["{not json", '{"format": "grnlib-train-partial-v1"}'])
def test_defect_resume_with_a_damaged_run_json(damage, inputs, capsys):
    partial = inputs["dir"] / "m.partial"
    partial.mkdir()
    (partial / "run.json").write_text(damage)
    (partial / "last.pt").write_bytes(b"state")
    before = hashes(partial)
    code, _, err = run(["train", "--resume", inputs["dir"] / "m", "--quiet"], capsys)
    assert code == 1
    line = one_error(err, "train")
    assert f"{partial}/run.json: is damaged or not grnlib's, so the interrupted run of" in line
    assert f"delete {partial} and start a new run without --resume" in line
    assert hashes(partial) == before


def test_defect_report_params_with_unknown_keys_or_wrong_types(tmp_path, capsys):
    from grnlib import report

    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "params" / "mine").mkdir(parents=True)
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "epochs = 3\nname = 'x'\n",
            "outputs": [], "execution_count": None}
    (root / "notebooks" / "01_a.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                                                "nbformat_minor": 5}))
    path = root / "params" / "mine" / "01_a.yaml"
    for text, problem in [("epochs: 3\nnmae: y\n", "unknown key(s) ['nmae']"),
                          ("epochs: '3'\n", "epochs is '3' (str) but the notebook's default is 3 (int)")]:
        path.write_text(text)
        with pytest.raises(DataError, match=problem.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            report.check_params(root, ["01_a"], "mine")
    path.write_text("epochs: 4\nname: y\n")
    report.check_params(root, ["01_a"], "mine")
    report.check_params(REPO, report.notebook_names(REPO), "ci")  # the committed sets pass


# -- item 4: counts ---------------------------------------------------------------------------------
def counts_h5ad(inputs, name="counts.h5ad", in_raw=False):
    """The toy cells as Poisson counts (cells x genes) in X, or only in .raw with log1p CP10k in X."""
    frame = expression_frame(inputs).T
    counts = np.random.default_rng(0).poisson(np.exp(frame.to_numpy()) * 2).astype(np.float32)
    adata = ad.AnnData(counts, obs=pd.DataFrame(index=frame.index), var=pd.DataFrame(index=frame.columns))
    if in_raw:
        adata.raw = adata.copy()
        adata.X = np.log1p(counts / counts.sum(1, keepdims=True) * 1e4).astype(np.float32)
    adata.write_h5ad(inputs["dir"] / name)
    return inputs["dir"] / name


def test_integer_counts_in_x_are_noticed_in_the_callers_words(inputs, capsys):
    path = counts_h5ad(inputs)
    code, _, err = run(train_argv({**inputs, "expression": path}, inputs["dir"] / "m"), capsys)
    assert code == 0
    notes = [line for line in err.splitlines() if "whole numbers" in line]
    assert len(notes) == 1 and notes[0].startswith("grnlib train: warning: ")
    assert "raw counts? pass --raw-counts to normalise them" in notes[0] and "raw_counts=True" not in notes[0]
    with pytest.warns(DataWarning, match=r"raw counts\? pass raw_counts=True to normalise them"):
        grnlib.fit(str(path), str(inputs["priors"]), model="expression_two_tower", epochs=1)


def test_raw_counts_with_counts_only_in_raw_refuses_the_log_x(inputs, capsys):
    path = counts_h5ad(inputs, in_raw=True)
    line = train_fails(capsys, inputs, inputs["dir"] / "m", "--raw-counts", expression=path)
    assert "--raw-counts but the values look log-transformed (not whole numbers" in line
    assert "drop --raw-counts for log-transformed or scaled data" in line and "--layer raw reads adata.raw" in line
    assert "raw_counts" not in line.split(str(path))[1]
    adata = ad.read_h5ad(path)
    with pytest.raises(DataError, match=r"raw_counts=True but the values look log-transformed.*Fix: pass "
                                        r"raw_counts=False .*layer='raw' reads adata.raw"):
        grnlib.fit(adata, str(inputs["priors"]), model="expression_two_tower", raw_counts=True, epochs=1)


def test_layer_raw_reads_the_counts_of_adata_raw(inputs, capsys):
    from grnlib.data import read_expression

    path = counts_h5ad(inputs, in_raw=True)
    argv = train_argv({**inputs, "expression": path}, inputs["dir"] / "m", extra=["--raw-counts", "--layer", "raw"])
    code, _, err = run(argv, capsys)
    assert code == 0, err
    from_file = read_expression(path, layer="raw", raw_counts=True)
    np.testing.assert_allclose(from_file.X, ad.read_h5ad(path).X, rtol=1e-5, atol=1e-5)  # X is log1p CP10k of .raw
    in_memory = grnlib.fit(ad.read_h5ad(path), str(inputs["priors"]), model="expression_two_tower", layer="raw",
                           raw_counts=True, epochs=1)
    assert in_memory.params["inputs"]["layer"] == "raw"


# -- item 6: early stopping, --model list ----------------------------------------------------------
def test_model_list_shows_only_trainable_models_grouped(capsys):
    code, out, _ = run(["train", "--model", "list"], capsys)
    assert code == 0
    lines = out.splitlines()
    groups = [line for line in lines if not line.startswith(" ")]
    assert groups == ["chosen on validation:", "the phases of the study:", "beyond the degree floor:",
                      "blends with the floors (weights on validation):", "models (default training recipe):"]
    names = [line.split()[0] for line in lines if line.startswith("  ")]
    assert len(names) == len(set(names)) and {"best", "phase1", "expression_two_tower"} <= set(names)
    assert not {"degree", "edge_prior", "target_only", "tf_shuffled"} & set(names)
    assert {"stack", "pair_evidence_residual_blend"} <= set(names)  # a stack is one model since issue 18
    assert all(len(line.split(None, 1)) == 2 for line in lines if line.startswith("  "))  # one described line each


def test_patience_stops_early_and_zero_trains_every_epoch(inputs, tmp_path, capsys):
    (tmp_path / "long.yaml").write_text("model_cfg: {embedding_dim: 16, hidden_dims: [16], out_dim: 16}\n"
                                        "train: {epochs: 30, batch_size: 64, warmup_epochs: 0, lr: 0.01}\n"
                                        "features: {kind: pca, n_components: 8}\n")
    files = {**inputs, "params": tmp_path / "long.yaml"}
    epochs = {}
    for patience in (1, 0):
        out = tmp_path / f"p{patience}"
        assert run(train_argv(files, out, extra=["--patience", patience]), capsys)[0] == 0
        history = pd.read_csv(out / "history.tsv", sep="\t")
        params = yaml.safe_load((out / "params.yaml").read_text())
        assert params["train"]["early_stopping_patience"] == (patience or None)
        best = int(history["val_auroc"].idxmax()) + 1
        assert params["data"]["best_epoch"] == best  # the best epoch's weights are kept
        epochs[patience] = len(history)
    assert epochs[0] == 30 and epochs[1] < 30


def test_user_patience_defaults():
    from grnlib.training.loop import USER_PATIENCE, user_patience

    assert user_patience({"early_stopping_patience": None})["early_stopping_patience"] == USER_PATIENCE
    assert user_patience({"early_stopping_patience": 15})["early_stopping_patience"] == 15  # the recipe's own
    assert user_patience({"early_stopping_patience": None}, set_in_params=True)["early_stopping_patience"] is None
    assert user_patience({"early_stopping_patience": 15}, 0)["early_stopping_patience"] is None
    assert user_patience({}, 3)["early_stopping_patience"] == 3
    with pytest.raises(DataError, match="patience must be a whole number >= 0"):
        user_patience({}, -1)


def test_fit_stops_early_by_default(inputs):
    model = grnlib.fit(str(inputs["expression"]), str(inputs["priors"]), model="phase1")
    assert model.params["train"]["early_stopping_patience"] == 5
