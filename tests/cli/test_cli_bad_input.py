"""The bad-input matrix of `grnlib train` / `grnlib predict`.

Every error case must exit 1 with one error line that names the file (where there is one), says
what is wrong and how to fix it, print no traceback, and leave no output (not even a temporary
file). Warning cases must exit 0, say what was dropped, and write the output.
"""
import json
import os

import numpy as np
import pandas as pd
import pytest
import torch
from cli_helpers import TINY_PARAMS, run, train_argv, write_toy

from grnlib import cli
from grnlib.training.checkpoint import save_checkpoint
from grnlib.models import build_model


@pytest.fixture(scope="session")
def models(toy_files, trained, tmp_path_factory):
    """The PCA-feature toy model and one trained on raw cell profiles (features kind 'cells')."""
    folder = tmp_path_factory.mktemp("cells_model")
    params = folder / "cells.yaml"
    params.write_text(TINY_PARAMS.replace("{kind: pca, n_components: 8}", "{kind: cells}"))
    out = folder / "model"
    assert cli.main(train_argv({**toy_files, "params": params}, out)) == 0
    return {"pca": trained, "cells": out}


def expression_frame(files):
    return pd.read_csv(files["expression"], index_col=0)


def set_value(frame, row, column, value):
    frame = frame.astype(object) if isinstance(value, str) else frame.copy()
    frame.iloc[row, column] = value
    return frame


def set_row(frame, gene, value):
    frame = frame.copy()
    frame.loc[gene] = value
    return frame


def write(path, text):
    path.write_text(text)
    return path


def train(files, inp, out, **overrides):
    """argv of a tiny training run with some inputs replaced (``expression=path`` ...)."""
    paths = {**files, **overrides}
    argv = ["train", "--expression", paths["expression"], "--priors", paths["priors"], "--model",
            paths.get("model", "expression_two_tower"), "--params", paths["params"], "--out", out / "model", "--quiet"]
    return [str(a) for a in argv] + [str(a) for a in paths.get("extra", ())]


def predict(models, files, out, model="pca", extra=(), expression=None, out_file=None):
    model_path = models[model] if model in models else model
    return ["predict", "--model", str(model_path), "--expression", str(expression or files["expression"]),
            "--quiet", "--out", str(out_file or out / "ranked.tsv"), *[str(a) for a in extra]]


def bad_expression(inp, files, edit, name="expr.csv", **to_csv):
    frame = expression_frame(files)
    frame = edit(frame)
    frame.to_csv(inp / name, **to_csv)
    return inp / name


def exploit_checkpoint(inp):
    """A torch file whose unpickling would create the folder ``marker`` (it must not)."""
    class Exploit:
        def __reduce__(self):
            return os.mkdir, (str(inp / "marker"),)

    torch.save({"format": "grnlib-checkpoint-v1", "payload": Exploit()}, inp / "model.pt")
    return inp / "model.pt"


def tampered_checkpoint(inp, models):
    ckpt = torch.load(models["pca"] / "model.pt", weights_only=True)
    meta = json.loads(ckpt["user_model"])
    meta["feature_recipe"]["n_components"] = 6
    ckpt["user_model"] = json.dumps(meta)
    torch.save(ckpt, inp / "model.pt")
    return inp / "model.pt"


def truncated_checkpoint(inp, models):
    data = (models["pca"] / "model.pt").read_bytes()
    (inp / "model.pt").write_bytes(data[:len(data) // 2])
    return inp / "model.pt"


def fit_checkpoint(inp):
    save_checkpoint(inp / "last.pt", build_model("embedding_two_tower", n_genes=120, embedding_dim=8))
    return inp / "last.pt"


def other_cells(inp):
    return write_toy(inp / "other", n_cells=60, cell_prefix="other")["expression"]


def h5ad(inp, files):
    import anndata as ad

    adata = ad.AnnData(expression_frame(files).T.astype(np.float32))
    adata.write_h5ad(inp / "expr.h5ad")
    return inp / "expr.h5ad"


# id -> builder(inp, out, files, models) -> (argv, [substrings of the error line])
ERRORS = {
    # expression matrix
    "expression: empty file": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "e.csv", "")), ["e.csv: expression matrix is empty", "Fix:"]),
    "expression: header only": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "e.csv", ",cell1,cell2\n")),
        ["e.csv: expression matrix has a header but no data rows", "Fix: export the data rows too"]),
    "expression: wrong delimiter": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x, sep="\t")),
        ["expr.csv: expression matrix looks tab-separated but comma-separated text was expected",
         "give it a .tsv name"]),
    "expression: duplicate gene names": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.rename(index={"G0005": "G0004"}))),
        ["expr.csv: expression matrix has 1 duplicated gene name(s), e.g. ['G0004']", "make gene names unique"]),
    "expression: NaN": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x, 3, 7, np.nan))),
        ["expr.csv: expression matrix has 1 NaN and 0 infinite value(s)", "gene 'G0003'", "impute or drop"]),
    "expression: inf": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x, 2, 0, np.inf))),
        ["expr.csv: expression matrix has 0 NaN and 1 infinite value(s)", "Fix:"]),
    "expression: negative raw counts": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x.round(), 1, 1, -2.0)),
              extra=["--raw-counts"]),
        ["expr.csv: --raw-counts but the matrix has", "negative value(s)",
         "Fix: drop --raw-counts for log-transformed or scaled data"]),
    "expression: non-numeric value": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x, 0, 0, "high"))),
        ["expr.csv: expression matrix has non-numeric value 'high'", "keep only numbers"]),
    "expression: file not found": lambda i, o, f, m: (
        train(f, i, o, expression=i / "nowhere.csv"), ["nowhere.csv: expression file not found", "check the path"]),
    "expression: unsupported file type": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "expr.xlsx", "x")), ["expr.xlsx: unsupported file type '.xlsx'"]),
    "expression: .h5ad layer missing": lambda i, o, f, m: (
        train(f, i, o, expression=h5ad(i, f), extra=["--layer", "counts"]),
        ["expr.h5ad: layer 'counts' not found; layers are []", "omit --layer to read X"]),
    # prior edges
    "priors: empty file": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "")), ["p.csv: edge file is empty"]),
    "priors: header only": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source,target\n")),
        ["p.csv: edge file has a header but no data rows"]),
    "priors: wrong delimiter": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source\ttarget\nG0001\tG0002\n")),
        ["p.csv: edge file looks tab-separated but comma-separated text was expected"]),
    "priors: missing target column": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source,regulated\nG0001,G0002\n")),
        ["p.csv: edge file is missing column(s) ['target']; found ['source', 'regulated']",
         "Fix: name the columns source,target"]),
    "priors: no edge within the expression genes": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source,target\nTP53,MDM2\nMYC,CDK4\n")),
        ["p.csv: no edge connects two genes of the expression matrix", "same gene naming"]),
    "priors: only self-loops": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source,target\nG0001,G0001\n")),
        ["p.csv: no edges left after dropping self-loops and duplicates"]),
    "priors: too few edges to hold out": lambda i, o, f, m: (
        train(f, i, o, priors=write(i / "p.csv", "source,target\n" + "".join(f"G0001,G{j:04d}\n"
                                                                            for j in range(2, 7)))),
        ["p.csv: only 5 prior edge(s) connect genes of the expression matrix; at least 20"]),
    "priors: file not found": lambda i, o, f, m: (
        train(f, i, o, priors=i / "none.tsv"), ["none.tsv: prior edge file not found"]),
    # TF list
    "tfs: no overlap with the expression": lambda i, o, f, m: (
        train(f, i, o, extra=["--tfs", write(i / "tfs.txt", "Pou5f1_x\nSox2_x\n")]),
        ["tfs.txt: none of the 2 TFs in the list is a gene of the expression matrix", "leave out --tfs"]),
    "tfs: empty list": lambda i, o, f, m: (
        train(f, i, o, extra=["--tfs", write(i / "tfs.txt", "\n")]),
        ["tfs.txt: TF list is empty. Fix: write one TF symbol per line"]),
    # model and params
    "model: unknown name": lambda i, o, f, m: (
        train(f, i, o, model="transformer"), ["unknown model 'transformer'", "choose one of: baseline,"]),
    "params: unknown key": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "optimiser: sgd\n")), ["p.yaml: unknown key(s) ['optimiser']"]),
    "params: invalid YAML": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "train: {epochs: 2\n")), ["p.yaml: is not valid YAML"]),
    "params: invalid train value": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "train: {lr: -1}\n")),
        ["p.yaml: invalid train settings (ValueError: lr must be > 0, got -1)"]),
    "params: unknown loss option": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "train: {loss: focal, loss_kwargs: {beta: 3}}\n")),
        ["p.yaml: invalid train settings (ConfigError: unknown config key(s) ['beta'] for loss 'focal'"]),
    "params: unknown model_cfg key": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "model_cfg: {width: 3}\n")),
        ["p.yaml: unknown model_cfg key(s) ['width'] for model 'expression_two_tower'"]),
    "train: --epochs 0": lambda i, o, f, m: (
        train(f, i, o, extra=["--epochs", "0"]), ["--epochs must be at least 1, got 0"]),
    # train output
    "train: --out under a file": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(write(i / "blocker", "x") / "model"), "--quiet"],
        ["blocker/model: cannot be written (Not a directory)", "choose a writable --out"]),
    "train: --out parent missing": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(o / "missing" / "model"), "--quiet"],
        ["model: folder", "missing does not exist", "create it first"]),
    "train: --out folder not empty": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(write((i / "kept").mkdir() or i / "kept" / "x.txt", "x").parent),
                               "--quiet"],
        ["kept: output folder exists and is not empty", "--overwrite"]),
    # checkpoints
    "checkpoint: corrupted bytes": lambda i, o, f, m: (
        predict(m, f, o, model=write(i / "model.pt", "\x00garbage" * 40)),
        ["model.pt: is not a PyTorch checkpoint (no zip archive", "train again"]),
    "checkpoint: truncated": lambda i, o, f, m: (
        predict(m, f, o, model=truncated_checkpoint(i, m)),
        ["model.pt: is not a PyTorch checkpoint (no zip archive: damaged, truncated"]),
    "checkpoint: foreign torch file": lambda i, o, f, m: (
        predict(m, f, o, model=torch.save({"weights": torch.zeros(3)}, i / "model.pt") or i / "model.pt"),
        ["model.pt: not a grnlib checkpoint (expected format 'grnlib-checkpoint-v1')"]),
    "checkpoint: pickle that would run code": lambda i, o, f, m: (
        predict(m, f, o, model=exploit_checkpoint(i)),
        ["model.pt: holds Python objects that a weights-only load refuses (nothing in it was run)"]),
    "checkpoint: grnlib model without gene list": lambda i, o, f, m: (
        predict(m, f, o, model=fit_checkpoint(i)),
        ["last.pt: checkpoint has no gene list or feature recipe", "grnlib.training.checkpoint.load_model"]),
    "checkpoint: folder without model.pt": lambda i, o, f, m: (
        predict(m, f, o, model=i), ["model.pt: model checkpoint not found"]),
    "checkpoint: config does not match its recipe": lambda i, o, f, m: (
        predict(m, f, o, model=tampered_checkpoint(i, m)),
        ["model.pt: checkpoint is inconsistent: the model reads 8 features per gene but its feature recipe gives 6"]),
    "checkpoint: feature width differs from the data": lambda i, o, f, m: (
        predict(m, f, o, model="cells", expression=other_cells(i), extra=["--refit-features"]),
        ["expr.csv: gives 60 features per gene but the model was trained on 80 (cells features)",
         "retrain on this expression"]),
    # predict inputs
    "predict: expression lacks the training cells": lambda i, o, f, m: (
        predict(m, f, o, expression=other_cells(i)),
        ["expr.csv: expression lacks 80 of the 80 training cells", "--refit-features"]),
    "predict: expression shares no gene with the model": lambda i, o, f, m: (
        predict(m, f, o, expression=bad_expression(i, f, lambda x: x.rename(index=lambda g: "X" + g))),
        ["expr.csv: none of the model's 120 genes is in the expression matrix"]),
    "predict: --top-k 0": lambda i, o, f, m: (
        predict(m, f, o, extra=["--top-k", "0"]), ["--top-k must be at least 1, got 0", "--min-score"]),
    "predict: --top-k negative": lambda i, o, f, m: (
        predict(m, f, o, extra=["--top-k", "-5"]), ["--top-k must be at least 1, got -5"]),
    "predict: TF list with no overlap": lambda i, o, f, m: (
        predict(m, f, o, extra=["--tfs", write(i / "tfs.txt", "NOPE\n")]),
        ["tfs.txt: none of the 1 TFs in the list is a gene the model can score"]),
    "predict: no scorable pair": lambda i, o, f, m: (
        predict(m, f, o, extra=["--pairs", write(i / "pairs.csv", "source,target\nG0001,NOPE\n")]),
        ["pairs.csv: none of the 1 pairs joins two genes the model can score"]),
    "predict: --out under a file": lambda i, o, f, m: (
        predict(m, f, o, out_file=write(i / "blocker", "x") / "ranked.tsv"),
        ["blocker/ranked.tsv: cannot be written (Not a directory)"]),
    "predict: --out is a folder": lambda i, o, f, m: (
        predict(m, f, o, out_file=i), [": is a folder", "ranked.tsv"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_fails_cleanly(case, toy_files, models, tmp_path, capsys):
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    argv, expected = ERRORS[case](inp, out, toy_files, models)
    before = sorted(p.name for p in inp.rglob("*"))
    code, stdout, stderr = run(argv, capsys)
    lines = stderr.splitlines()
    assert code == 1, stderr
    command = argv[0]
    errors = [line for line in lines if line.startswith(f"grnlib {command}: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert "Traceback" not in stderr and "Fix: " in errors[0]
    for text in expected:
        assert text in errors[0], f"{text!r} not in {errors[0]!r}"
    assert list(out.iterdir()) == []  # no output, no temporary file
    assert sorted(p.name for p in inp.rglob("*")) == before  # inputs untouched, nothing added
    assert not (inp / "marker").exists()  # the exploit's code never ran


def test_unavailable_device_is_a_clean_error(toy_files, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    code, _, err = run(train_argv(toy_files, tmp_path / "m", extra=["--device", "cuda"]), capsys)
    assert code == 1 and "--device cuda asks for a CUDA GPU but none is available. Fix: pass --device cpu" in err
    assert list(tmp_path.iterdir()) == []


# id -> (edit of the toy inputs, expected warning text). Each must still write the output.
def with_priors(files, inp, rows):
    edges = pd.read_csv(files["priors"])
    extra = pd.DataFrame(rows, columns=["source", "target"])
    pd.concat([edges, extra]).to_csv(inp / "p.csv", index=False)
    return {"priors": inp / "p.csv"}


WARNINGS = {
    "expression: a gene with all-zero expression": (
        lambda f, i: {"expression": bad_expression(i, f, lambda x: set_row(x, "G0042", 0.0))},
        "1 gene(s) have zero variance across cells (1 are zero in every cell), e.g. ['G0042']"),
    "priors: genes absent from the expression": (
        lambda f, i: with_priors(f, i, [("G0001", "NOT_MEASURED"), ("GHOST", "G0002")]),
        "p.csv: dropped 2 of 145 edge(s) naming genes without expression"),
    "priors: self-loops": (
        lambda f, i: with_priors(f, i, [("G0003", "G0003")]), "p.csv: dropped 1 self-loop(s) and 0 duplicated edge(s)"),
    "priors: duplicate edges": (
        lambda f, i: with_priors(f, i, [tuple(pd.read_csv(f["priors"]).iloc[0])] * 2),
        "p.csv: dropped 0 self-loop(s) and 2 duplicated edge(s)"),
}


@pytest.mark.parametrize("case", list(WARNINGS))
def test_questionable_input_warns_and_trains(case, toy_files, tmp_path, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    edit, expected = WARNINGS[case]
    code, _, err = run(train(toy_files, inp, tmp_path, **edit(toy_files, inp)), capsys)
    assert code == 0, err
    assert "grnlib train: warning: " in err and expected in err, err
    assert (tmp_path / "model" / "model.pt").is_file()


def test_predict_warns_about_genes_it_cannot_score(toy_files, models, tmp_path, capsys):
    expression = bad_expression(tmp_path, toy_files, lambda x: x.drop(index=["G0100", "G0101"]).rename(
        index={"G0102": "NEW_GENE"}))
    code, _, err = run(predict(models, toy_files, tmp_path, expression=expression), capsys)
    assert code == 0, err
    assert "3 of the model's 120 genes are absent and not scored; 1 gene(s) of the matrix were not in training" in err
    ranked = pd.read_csv(tmp_path / "ranked.tsv", sep="\t")
    assert not set(ranked["target"]) & {"G0100", "G0101", "G0102", "NEW_GENE"}
    assert len(ranked) == 12 * (117 - 1)
