"""Helpers shared by the CLI tests (imported by conftest.py and the test files)."""
import hashlib

import pandas as pd

from grnlib import cli
from grnlib.data import make_toy

# Tiny settings so a training run takes about a second.
TINY_PARAMS = """\
model_cfg: {embedding_dim: 16, hidden_dims: [16], out_dim: 16}
train: {epochs: 2, batch_size: 64, warmup_epochs: 0}
features: {kind: pca, n_components: 8}
"""


def write_toy(folder, seed=0, n_cells=80, cell_prefix="cell"):
    """Toy expression (genes as rows, CSV), prior edges (CSV with header) and a TF list."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = make_toy(seed=seed, n_cells=n_cells)
    frame = ds.expression.to_df().T
    frame.columns = [c.replace("cell", cell_prefix) for c in frame.columns]
    frame.to_csv(folder / "expr.csv")
    edges = ds.symbols(ds.edges)
    pd.DataFrame({"source": edges["tf_symbol"], "target": edges["target_symbol"]}).to_csv(
        folder / "priors.csv", index=False)
    (folder / "tfs.txt").write_text("\n".join(ds.genes[ds.tf_ids]) + "\n")
    (folder / "params.yaml").write_text(TINY_PARAMS)
    return {"expression": folder / "expr.csv", "priors": folder / "priors.csv", "tfs": folder / "tfs.txt",
            "params": folder / "params.yaml", "ds": ds}


def train_argv(files, out, model="expression_two_tower", extra=()):
    return ["train", "--expression", str(files["expression"]), "--priors", str(files["priors"]),
            "--model", model, "--params", str(files["params"]), "--out", str(out), "--quiet", *extra]


def run(argv, capsys):
    """(exit code, stdout, stderr) of `grnlib <argv>`."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
