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
from cli_helpers import TINY_PARAMS, run, sha256, train_argv, write_toy

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
        train(f, i, o, priors=write(i / "p.csv", "source;target\nG0001;G0002\n")),
        ["p.csv: edge file looks semicolon-separated but comma-separated text was expected"]),
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
        train(f, i, o, model="transformer"), ["unknown model 'transformer'", "the phases of the study: baseline,",
                                              "grnlib train --model list"]),
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
    # 'cells' features are the training cells: they cannot travel (pca features do: tests/test_travel.py)
    "predict: expression lacks the training cells": lambda i, o, f, m: (
        predict(m, f, o, model="cells", expression=other_cells(i)),
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


# -- issue 14: the cases a new user hit, named by the defect they belong to --------------------------
def evaluate(out, *extra):
    return ["evaluate", "--dataset", "beeline/Specific/hHEP/500", "--models", "degree", "--quiet",
            "--out", str(out / "eval.json"), *[str(a) for a in extra]]


def scale(factor, shift=0.0):
    return lambda x: x * factor + shift


def notes_folder(inp):
    """A folder of the user's own files (never to be deleted by --overwrite)."""
    folder = inp / "notes"
    folder.mkdir()
    write(folder / "ideas.txt", "keep me")
    write(folder / "expr_backup.csv", "G1,1\n")
    return folder


def h5ad_duplicate_cells(inp, files):
    import anndata as ad

    frame = expression_frame(files).T.astype(np.float32)
    frame.index = ["A10" if name in ("cell0000", "cell0001") else name for name in frame.index]
    with pytest.warns(UserWarning):  # anndata itself says obs names are not unique
        ad.AnnData(frame).write_h5ad(inp / "expr.h5ad")
    return inp / "expr.h5ad"


def h5ad_float64(inp, files, value):
    import anndata as ad

    adata = ad.AnnData(expression_frame(files).T.astype(np.float64))
    adata.X[3, 4] = value
    adata.write_h5ad(inp / "expr.h5ad")
    return inp / "expr.h5ad"


def gzip_truncated(inp, files, name="expr.csv.gz"):
    import gzip

    data = gzip.compress(files["expression"].read_bytes())
    (inp / name).write_bytes(data[:len(data) // 2])
    return inp / name


def pending_run(inp, files, damaged=False, seed=0, checkpoint=True):
    """``inp/model.partial`` as an interrupted run of ``inp/model`` leaves it (run.json, last.pt)."""
    partial = inp / "model.partial"
    partial.mkdir()
    record = {"format": "grnlib-train-partial-v1", "pid": 2**22 + 12345, "out": str(inp / "model"),
              "settings": {"model": "expression_two_tower", "epochs": None, "seed": seed,
                           "params_file": str(files["params"]), "genes_as": "auto", "layer": None,
                           "raw_counts": False, "priors_format": None},
              "params": {}, "inputs": {}, "files": {
                  name: {"path": str(files[name]), "sha256": sha256(files[name])} for name in ("expression", "priors")}}
    write(partial / "run.json", json.dumps(record))
    if damaged:
        write(partial / "last.pt", "not a checkpoint")
    elif checkpoint:
        save_checkpoint(partial / "last.pt", build_model("embedding_two_tower", n_genes=120, embedding_dim=8), epoch=1)
    return inp / "model"


def resume(inp, *extra):
    return ["train", "--resume", str(inp / "model"), "--quiet", *[str(a) for a in extra]]


def copied(inp, files, name):
    target = inp / files[name].name
    target.write_bytes(files[name].read_bytes())
    return target


ERRORS.update({
    # 1-4: the user's files are never replaced
    "[1] train: --overwrite onto a folder of other files": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(notes_folder(i)), "--quiet", "--overwrite"],
        ["notes: is not a folder written by grnlib (no .grnlib-model file)", "never other files",
         "Fix: choose a new --out folder"]),
    "[1] train: --out is an existing file": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(write(i / "result.txt", "mine")), "--quiet", "--overwrite"],
        ["result.txt: exists and is not a folder", "choose another --out folder"]),
    "[2] predict: --out exists, no --overwrite": lambda i, o, f, m: (
        predict(m, f, o, out_file=write(i / "ranked.tsv", "an earlier ranking\n")),
        ["ranked.tsv: output file exists", "pass --overwrite to replace it"]),
    "[2] predict: --out is the --expression file, even with --overwrite": lambda i, o, f, m: (
        predict(m, f, o, expression=copied(i, f, "expression"), out_file=i / "expr.csv", extra=["--overwrite"]),
        ["expr.csv: is one of the input files of this run and would be overwritten", "choose another --out"]),
    "[2] predict: --out is the --tfs file, even with --overwrite": lambda i, o, f, m: (
        predict(m, f, o, out_file=write(i / "tfs.txt", "G0001\n"), extra=["--tfs", i / "tfs.txt", "--overwrite"]),
        ["tfs.txt: is one of the input files of this run"]),
    "[2] predict: --out inside the --model folder": lambda i, o, f, m: (
        predict(m, f, o, out_file=m["pca"] / "ranked.tsv"), ["ranked.tsv: lies inside an input folder of this run"]),
    # 5: seeds
    "[5] train: --seed -1": lambda i, o, f, m: (
        train(f, i, o, extra=["--seed", "-1"]),
        ["--seed -1 is out of range: seeds are 0 to 4294967295", "Fix: pass a seed from 0 to 4294967295"]),
    "[5] train: --seed 2**32": lambda i, o, f, m: (
        train(f, i, o, extra=["--seed", str(2**32)]), ["--seed 4294967296 is out of range"]),
    "[5] train: --seed 8589934592": lambda i, o, f, m: (
        train(f, i, o, extra=["--seed", "8589934592"]), ["--seed 8589934592 is out of range"]),
    "[5] train: params seed -1 names the params file": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "seed: -1\n")), ["p.yaml: seed -1 is out of range"]),
    "[5] train: params seed not a number": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "seed: lucky\n")), ["p.yaml: seed 'lucky' is not a whole number"]),
    "[5] predict: --refit-features --seed -1": lambda i, o, f, m: (
        predict(m, f, o, extra=["--refit-features", "--seed", "-1"]), ["--seed -1 is out of range"]),
    "[5] predict: --seed 2**40": lambda i, o, f, m: (
        predict(m, f, o, extra=["--seed", str(2**40)]), ["--seed 1099511627776 is out of range"]),
    "[5] evaluate: --seeds -1": lambda i, o, f, m: (
        evaluate(o, "--seeds", "-1"), ["--seeds -1 is out of range", "Fix: pass a seed from 0 to 4294967295"]),
    "[5] evaluate: --seeds 8589934592": lambda i, o, f, m: (
        evaluate(o, "--seeds", "0,8589934592"), ["--seeds 8589934592 is out of range"]),
    "[5] evaluate: --protocol released --seeds 7113": lambda i, o, f, m: (
        evaluate(o, "--protocol", "released", "--seeds", "7113"),
        ["seed 7113 does not name a released split: the released splits are the five published samples, seeds 0-4",
         "Fix: pass seeds from 0 to 4"]),
    "[5] evaluate: --seeds not integers": lambda i, o, f, m: (
        evaluate(o, "--seeds", "0,one"), ["--seeds '0,one' is not a comma-separated list of integers"]),
    # 6: degenerate matrices are refused before training
    "[6] expression: one cell": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.iloc[:, :1])),
        ["expr.csv: expression matrix has 1 cell(s); training needs at least 3", "check --genes-as"]),
    "[6] expression: two cells": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.iloc[:, :2])), ["has 2 cell(s)"]),
    "[6] expression: one cell read with the wrong --genes-as": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.iloc[:, :1]), extra=["--genes-as", "columns"]),
        ["expr.csv: 89 of the priors' 89 genes are row names of the matrix", "read the wrong way round",
         "Fix: pass --genes-as rows"]),
    "[6] expression: every value the same": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, scale(0.0, 1.5))),
        ["expr.csv: expression matrix has 0 of 120 gene(s) whose values vary across its 80 cells",
         "Fix: supply measured expression"]),
    "[6] expression: all zero": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, scale(0.0))), ["has 0 of 120 gene(s) whose values vary"]),
    "[6] expression: variation below float32 resolution": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, scale(3e-7, 3.0))), ["gene(s) whose values vary across"]),
    "[6] expression: one varying gene": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_row(x * 0.0, "G0007", x.loc["G0007"]))),
        ["has 1 of 120 gene(s) whose values vary"]),
    "[6] expression: duplicate cell names in a CSV": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.rename(columns={"cell0001": "cell0000"}))),
        ["expr.csv: expression matrix has 1 duplicated cell name(s), e.g. ['cell0000']. Fix: make cell names unique"]),
    "[6] expression: duplicate cell names in an .h5ad": lambda i, o, f, m: (
        train(f, i, o, expression=h5ad_duplicate_cells(i, f)),
        ["expr.h5ad: expression matrix has 1 duplicated cell name(s), e.g. ['A10']. Fix: make cell names unique"]),
    "[6] expression: duplicate gene columns with --genes-as columns": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: x.T.rename(columns={"G0002": "G0001"})),
              extra=["--genes-as", "columns"]),
        ["expr.csv: expression matrix has 1 duplicated gene name(s), e.g. ['G0001']"]),
    "[6] predict: --refit-features on one cell": lambda i, o, f, m: (
        predict(m, f, o, expression=bad_expression(i, f, lambda x: x.iloc[:, :1]), extra=["--refit-features"]),
        ["expr.csv: expression matrix has 1 cell(s)"]),
    # 8: messages that say what is wrong
    "[8] expression: 1e300 overflows float32": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x, 2, 5, 1e300))),
        ["expr.csv: expression matrix has 1 value(s) that overflow float32", "first 1e+300 at cell 'cell0005', "
         "gene 'G0002'", "Fix: rescale the values"]),
    "[8] expression: -1e39 overflows float32": lambda i, o, f, m: (
        train(f, i, o, expression=bad_expression(i, f, lambda x: set_value(x, 0, 0, -1e39))),
        ["overflow float32", "first -1e+39"]),
    "[8] expression: 1e300 in a float64 .h5ad": lambda i, o, f, m: (
        train(f, i, o, expression=h5ad_float64(i, f, 1e300)),
        ["expr.h5ad: expression matrix has 1 value(s) that overflow float32", "first 1e+300 at cell 'cell0003', "
         "gene 'G0004'"]),
    "[8] expression: trailing empty CSV columns": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "expr.csv", "".join(
            line + ",,\n" for line in f["expression"].read_text().splitlines()))),
        ["expr.csv: expression matrix column 82 is empty", "Fix: delete the empty column(s)"]),
    "[8] predict: --min-score nan": lambda i, o, f, m: (
        predict(m, f, o, extra=["--min-score", "nan"]), ["--min-score nan keeps no pair", "Fix: pass a number"]),
    "[8] params: unknown train key checkpoint_dir": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "train: {epochs: 1, checkpoint_dir: /tmp/ckpt}\n")),
        ["p.yaml: train key(s) ['checkpoint_dir'] are run settings, not part of a run spec"]),
    "[8] params: unknown train key": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "train: {epochs: 1, epoch: 3}\n")),
        ["p.yaml: invalid train settings", "epoch"]),
    "[8] params: unknown split key": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "split: {protocol: seed, holdout: 0.3}\n")),
        ["p.yaml: unknown split key(s) ['holdout']"]),
    "[8] params: unknown features kind": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "features: {kind: umap}\n")), ["p.yaml: invalid features section"]),
    # 7 and 11: interrupted runs and --resume
    "[11] train: --resume without an interrupted run": lambda i, o, f, m: (
        resume(i), ["model.partial: no interrupted run of", "to resume (no such folder)", "train without --resume"]),
    "[11] train: --resume of a run stopped before its first epoch": lambda i, o, f, m: (
        pending_run(i, f, checkpoint=False) and resume(i),
        ["model.partial: no interrupted run of", "(no training state in it)"]),
    "[11] train: --resume with a damaged last.pt": lambda i, o, f, m: (
        pending_run(i, f, damaged=True) and resume(i),
        ["model.partial/last.pt: is not a readable training state", "train again without --resume"]),
    "[11] train: --resume with another --seed": lambda i, o, f, m: (
        pending_run(i, f) and resume(i, "--seed", 5),
        ["--seed 5 differs from the interrupted run's (0)", "Fix: omit --seed"]),
    "[11] train: --resume with another --expression": lambda i, o, f, m: (
        pending_run(i, f) and resume(i, "--expression", copied(i, f, "expression")),
        ["--expression", "differs from the interrupted run's"]),
    "[11] train: --resume after the expression file changed": lambda i, o, f, m: (
        pending_run(i, {**f, "expression": copied(i, f, "expression")})
        and write(i / "expr.csv", "edited\n") and resume(i),
        ["expr.csv: changed (or disappeared) since the interrupted run", "restore the file"]),
    "[11] train: a new run over an interrupted one": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(pending_run(i, f)), "--quiet"],
        ["model.partial: holds the training state of an interrupted run", "grnlib train --resume",
         "--overwrite to start afresh"]),
    "[11] train: a folder named like a partial run but not grnlib's": lambda i, o, f, m: (
        train(f, i, o)[:-3] + ["--out", str(write((i / "model.partial").mkdir() or i / "model.partial" / "x.txt",
                                                   "mine").parents[1] / "model"), "--quiet", "--overwrite"],
        ["model.partial: exists and was not written by grnlib train"]),
    # more inputs a user gets wrong
    "expression: truncated .gz": lambda i, o, f, m: (
        train(f, i, o, expression=gzip_truncated(i, f)), ["expr.csv.gz: expression matrix cannot be read", "Fix:"]),
    "expression: not an .h5ad inside": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "expr.h5ad", "plain text")), ["expr.h5ad: not a readable .h5ad file"]),
    "expression: --layer with a CSV": lambda i, o, f, m: (
        train(f, i, o, extra=["--layer", "counts"]), ["expr.csv: --layer 'counts' only applies to .h5ad files",
                                                       "omit --layer"]),
    "expression: not UTF-8": lambda i, o, f, m: (
        train(f, i, o, expression=(i / "e.csv").write_bytes(b",c1,c2\n\xff\xfe,1,2\nG2,3,4\n") and i / "e.csv"),
        ["e.csv: expression matrix is not UTF-8 text"]),
    "expression: empty gene name": lambda i, o, f, m: (
        train(f, i, o, expression=write(i / "e.csv", ",c1,c2,c3\nG1,1,2,3\n,4,5,6\n")),
        ["e.csv: expression matrix has an empty gene name at data row 2"]),
    "priors: truncated .gz": lambda i, o, f, m: (
        train(f, i, o, priors=(i / "p.csv.gz").write_bytes(__import__("gzip").compress(
            f["priors"].read_bytes())[:200]) and i / "p.csv.gz"), ["p.csv.gz:", "cannot be read"]),
    "tfs: file not found": lambda i, o, f, m: (
        train(f, i, o, extra=["--tfs", i / "none.txt"]), ["none.txt: TF list not found"]),
    "params: file not found": lambda i, o, f, m: (
        train(f, i, o, params=i / "none.yaml"), ["none.yaml: params file not found"]),
    "params: a list, not a mapping": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "- epochs\n- 3\n")), ["p.yaml: holds a list, not a mapping"]),
    "model: a baseline needs no training": lambda i, o, f, m: (
        train(f, i, o, model="degree"), ["'degree' is a baseline, which needs no training"]),
    "params: split protocol for reference data only": lambda i, o, f, m: (
        train(f, i, o, params=write(i / "p.yaml", "split: {protocol: released}\n")),
        ["p.yaml: split protocol 'released' cannot be used on your own data"]),
    "train: --threads 0": lambda i, o, f, m: (
        train(f, i, o, extra=["--threads", "0"]), ["--threads must be at least 1, got 0"]),
    "train: --device nonsense": lambda i, o, f, m: (
        train(f, i, o, extra=["--device", "gpu0"]), ["--device 'gpu0' is not a device", "pass auto, cpu"]),
    "train: --epochs -3": lambda i, o, f, m: (
        train(f, i, o, extra=["--epochs", "-3"]), ["--epochs must be at least 1, got -3"]),
    "predict: --chunk 0": lambda i, o, f, m: (
        predict(m, f, o, extra=["--chunk", "0"]), ["--chunk must be at least 1, got 0"]),
    "predict: --model folder does not exist": lambda i, o, f, m: (
        predict(m, f, o, model=i / "no_model"), ["no_model: model checkpoint not found"]),
    "predict: --pairs file not found": lambda i, o, f, m: (
        predict(m, f, o, extra=["--pairs", i / "none.csv"]), ["none.csv: prior edge file not found"]),
    "predict: --priors empty": lambda i, o, f, m: (
        predict(m, f, o, extra=["--priors", write(i / "p.csv", "")]), ["p.csv: edge file is empty"]),
    "predict: --tfs empty": lambda i, o, f, m: (
        predict(m, f, o, extra=["--tfs", write(i / "tfs.txt", "")]), ["tfs.txt: TF list is empty"]),
    "predict: empty expression": lambda i, o, f, m: (
        predict(m, f, o, expression=write(i / "e.csv", "")), ["e.csv: expression matrix is empty"]),
    "predict: --out folder missing": lambda i, o, f, m: (
        predict(m, f, o, out_file=o / "missing" / "r.tsv"), ["r.tsv: folder", "missing does not exist"]),
    "evaluate: no models": lambda i, o, f, m: (
        evaluate(o)[:-2] + ["--models", ",", "--out", str(o / "eval.json")], ["--models is empty"]),
    "evaluate: unknown protocol": lambda i, o, f, m: (
        evaluate(o, "--protocol", "random-ish"), ["unknown protocol 'random-ish'"]),
    "evaluate: unknown model": lambda i, o, f, m: (
        evaluate(o, "--models", "degree,transformer"), ["unknown model 'transformer'"]),
    "evaluate: unknown dataset": lambda i, o, f, m: (
        ["evaluate", "--dataset", "beeline/Specific/hHEP/5000", "--models", "degree", "--quiet",
         "--out", str(o / "eval.json")], ["beeline/Specific/hHEP/5000"]),
    "evaluate: --folds outside --n-folds": lambda i, o, f, m: (
        evaluate(o, "--protocol", "heldout-tf", "--folds", "5"), ["--folds 5 names a fold outside 0..4"]),
    "evaluate: --n-folds 1": lambda i, o, f, m: (
        evaluate(o, "--protocol", "heldout-tf", "--n-folds", "1"), ["--n-folds must be at least 2, got 1"]),
    "evaluate: --epochs 0": lambda i, o, f, m: (
        evaluate(o, "--epochs", "0"), ["--epochs must be at least 1, got 0"]),
})

def snapshot(folder):
    """Every file under ``folder`` with its SHA-256 (folders as None)."""
    return {p.relative_to(folder).as_posix(): (sha256(p) if p.is_file() else None) for p in folder.rglob("*")}


def test_the_matrix_covers_at_least_80_cases():
    assert len(ERRORS) >= 80


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_fails_cleanly(case, toy_files, models, tmp_path, capsys):
    """Exit 1, one error line naming the file with a fix, no traceback, no output or temporary file
    anywhere, and every input file byte for byte as it was."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shared = snapshot(toy_files["expression"].parent), snapshot(models["pca"])
    argv, expected = ERRORS[case](inp, out, toy_files, models)
    before = snapshot(inp)
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
    assert snapshot(inp) == before  # inputs untouched, nothing added or left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # nothing beside them either
    assert (snapshot(toy_files["expression"].parent), snapshot(models["pca"])) == shared
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
    "[9] expression: gene names that differ only by case": (
        lambda f, i: {"expression": bad_expression(i, f, lambda x: x.rename(index={"G0050": "g0049"}))},
        "expr.csv: expression matrix has 1 gene name(s) that differ only by case, e.g. ['G0049/g0049']"),
    "[9] expression: gene names a spreadsheet turned into dates": (
        lambda f, i: {"expression": bad_expression(i, f, lambda x: x.rename(
            index={"G0060": "1-Mar", "G0061": "2-Sep", "G0062": "2023-03-01"}))},
        "expr.csv: expression matrix has 3 gene name(s) that look like dates or numbers a spreadsheet made of "
        "gene symbols, e.g. ['1-Mar', '2-Sep', '2023-03-01'] (MARCH1 becomes 1-Mar"),
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


def test_defect8_a_gene_named_NA_is_a_gene(toy_files, models, tmp_path, capsys):
    """pandas reads the word NA as missing; in a name column it is a name (no "empty gene name")."""
    expression = bad_expression(tmp_path, toy_files, lambda x: x.rename(index={"G0070": "NA"}))
    (tmp_path / "tfs.txt").write_text(toy_files["tfs"].read_text() + "NA\n")
    code, _, err = run(train(toy_files, tmp_path, tmp_path, expression=expression,
                             extra=["--tfs", tmp_path / "tfs.txt"]), capsys)
    assert code == 0, err
    from grnlib.user import load_user_model

    model = load_user_model(tmp_path / "model")
    assert "NA" in list(model.genes) and "NA" in set(model.genes[model.tfs])
    (tmp_path / "two.txt").write_text("G0001\nNA\n")
    code, _, err = run(predict({"m": tmp_path / "model"}, toy_files, tmp_path, model="m", expression=expression,
                               extra=["--tfs", tmp_path / "two.txt"]), capsys)
    assert code == 0, err
    ranked = pd.read_csv(tmp_path / "ranked.tsv", sep="\t", keep_default_na=False)
    assert set(ranked["tf"]) == {"G0001", "NA"} and "NA" in set(ranked["target"])
