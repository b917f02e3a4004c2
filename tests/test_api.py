"""The Python API (grnlib.fit / GRNModel / grnlib.load): same results as the command line, the
user's AnnData left as it was, rankings stored in adata.uns, models saved and loaded."""
import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch

import grnlib
from grnlib import cli
from grnlib.data import make_toy
from grnlib.errors import DataError

torch.set_num_threads(1)  # a shared 2-core machine: one thread per process is much faster

TINY = {"model": "expression_two_tower", "model_cfg": {"embedding_dim": 16, "hidden_dims": [16], "out_dim": 16},
        "train": {"epochs": 2, "batch_size": 64, "warmup_epochs": 0}, "features": {"kind": "pca", "n_components": 8}}


@pytest.fixture(scope="module")
def toy():
    ds = make_toy(seed=0, n_cells=80)
    edges = ds.symbols(ds.edges)
    net = pd.DataFrame({"source": edges["tf_symbol"], "target": edges["target_symbol"]})
    return ds.expression, net


@pytest.fixture(scope="module")
def model(toy):
    adata, net = toy
    return grnlib.fit(adata, net, seed=0, **TINY)


def test_fit_reports_held_out_metrics_beside_the_degree_floor(model):
    metrics = model.metrics
    assert list(metrics.index) == ["degree", "expression_two_tower"]
    assert metrics["n"].nunique() == 1 and metrics["n"].iloc[0] > 0  # the same held-out pairs
    assert metrics["auroc"].between(0, 1).all()
    assert "held-out AUROC" in repr(model) and "degree floor" in repr(model)
    assert len(model.history) == 2 and model.params["seed"] == 0
    held_out = model.held_out  # the pairs the metrics were computed on, with each scorer's score
    assert list(held_out.columns) == ["tf", "target", "label", "degree", "expression_two_tower"]
    assert len(held_out) == metrics["n"].iloc[0] and set(held_out["label"]) == {0, 1}
    from sklearn.metrics import roc_auc_score
    for name in metrics.index:
        assert roc_auc_score(held_out["label"], held_out[name]) == pytest.approx(metrics.loc[name, "auroc"])
    assert model.tfs == sorted(model.tfs) and len(model.tfs) == 12


def test_fit_leaves_the_users_anndata_as_it_was(toy):
    adata, net = toy
    before = adata.copy()
    grnlib.fit(adata, net, seed=1, **{**TINY, "train": {**TINY["train"], "epochs": 1}})
    assert np.array_equal(adata.X, before.X) and adata.obs_names.equals(before.obs_names)
    assert list(adata.layers) == list(before.layers) and set(adata.uns) == set(before.uns)


def test_rank_returns_a_table_and_stores_it_in_uns(model, toy, tmp_path):
    adata, _ = toy
    adata = adata.copy()
    ranked = model.rank(adata, top_k=100, key_added="grnlib_network")
    assert list(ranked.columns) == ["tf", "target", "score", "rank", "in_prior", "sign", "sign_confidence"] and len(ranked) == 100
    assert ranked["score"].is_monotonic_decreasing and ranked["rank"].tolist() == list(range(1, 101))
    assert adata.uns["grnlib_network"].equals(ranked)
    adata.write_h5ad(tmp_path / "with_network.h5ad")  # the stored table survives a round trip
    back = ad.read_h5ad(tmp_path / "with_network.h5ad").uns["grnlib_network"]
    assert back[["tf", "target"]].equals(ranked[["tf", "target"]])
    decoupler = model.rank(adata, top_k=100, format="decoupler")
    assert list(decoupler.columns) == ["source", "target", "weight"]
    assert decoupler["source"].tolist() == ranked["tf"].tolist() and (decoupler["weight"] != 0).all()
    assert (np.sign(decoupler["weight"]) == ranked["sign"]).all()  # signed: activation > 0 > repression
    subset = model.rank(adata, tfs=model.tfs[:2])
    assert set(subset["tf"]) == set(model.tfs[:2]) and len(subset) == 2 * 119


def test_save_and_load_give_the_same_ranking(model, toy, tmp_path):
    adata, _ = toy
    folder = model.save(tmp_path / "model")
    assert (folder / "model.pt").is_file() and (folder / "metrics.tsv").is_file()
    loaded = grnlib.load(folder)
    assert loaded.held_out is None and loaded.history is not None
    assert loaded.rank(adata, top_k=50).equals(model.rank(adata, top_k=50))
    pd.testing.assert_frame_equal(loaded.metrics[["auroc", "auprc", "n"]], model.metrics[["auroc", "auprc", "n"]])
    with pytest.raises(DataError, match="not empty|exists") as refused:
        model.save(tmp_path / "model")
    assert "overwrite=True" in str(refused.value) and "--overwrite" not in str(refused.value)  # Python's words
    model.save(tmp_path / "model", overwrite=True)  # an earlier grnlib model may be replaced


def test_api_and_command_line_give_the_same_model(toy, tmp_path):
    """The same files and seed through `grnlib train/predict` and through grnlib.fit/rank."""
    import yaml

    adata, net = toy
    frame = adata.to_df().T  # genes as rows, as BEELINE writes them
    frame.to_csv(tmp_path / "expr.csv")
    net.rename(columns={"source": "Gene1", "target": "Gene2"}).to_csv(tmp_path / "net.csv", index=False)
    params = {k: v for k, v in TINY.items() if k != "model"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert cli.main(["train", "--expression", str(tmp_path / "expr.csv"), "--priors", str(tmp_path / "net.csv"),
                     "--model", TINY["model"], "--params", str(tmp_path / "params.yaml"), "--seed", "3",
                     "--out", str(tmp_path / "cli_model"), "--quiet"]) == 0
    assert cli.main(["predict", "--model", str(tmp_path / "cli_model"), "--expression", str(tmp_path / "expr.csv"),
                     "--top-k", "200", "--out", str(tmp_path / "cli.tsv"), "--quiet"]) == 0
    from_files = grnlib.fit(tmp_path / "expr.csv", tmp_path / "net.csv", seed=3, **TINY)
    from_memory = grnlib.fit(adata, net.rename(columns={"source": "TF"}), seed=3, **TINY)
    cli_ranked = pd.read_csv(tmp_path / "cli.tsv", sep="\t")
    for fitted in (from_files, from_memory, grnlib.load(tmp_path / "cli_model")):
        ranked = fitted.rank(adata, top_k=200)
        assert ranked[["tf", "target"]].equals(cli_ranked[["tf", "target"]])
        np.testing.assert_allclose(ranked["score"], cli_ranked["score"], rtol=1e-5)


def test_default_model_is_the_best_preset(toy):
    adata, net = toy
    from grnlib.evaluation.presets import PRESETS

    fitted = grnlib.fit(adata, net, epochs=1)
    members = [m for m in PRESETS["best"].get("stack", []) if m != "degree"]  # a stack reports its members too
    assert fitted.params["model"] == "best" and list(fitted.metrics.index) == ["degree", *members, "best"]


def test_raw_counts_and_layers(toy):
    adata, net = toy
    counts = ad.AnnData(X=np.round(np.expm1(np.clip(adata.X, 0, None)) * 3).astype(np.float32),
                        obs=adata.obs.copy(), var=adata.var.copy())
    counts.layers["counts"] = counts.X.copy()
    counts.X = np.zeros_like(counts.X)  # X is not what should be read
    fitted = grnlib.fit(counts, net, layer="counts", raw_counts=True, seed=0, **TINY)
    assert fitted.params["inputs"]["layer"] == "counts" and fitted.params["inputs"]["raw_counts"] is True
    assert len(fitted.rank(counts, top_k=10)) == 10  # read as in training by default


@pytest.mark.parametrize("call, match", [
    (lambda a, n: grnlib.fit(a, n, seed=-1), r"seed -1 is out of range: seeds are 0 to 4294967295"),
    (lambda a, n: grnlib.fit(a, n, seed=2**32), r"seed 4294967296 is out of range"),
    (lambda a, n: grnlib.fit(a, n.to_dict(), seed=0), r"net must be a DataFrame or a file"),
    (lambda a, n: grnlib.fit(a.X, n, seed=0), r"AnnData: expected an AnnData"),
    (lambda a, n: grnlib.fit(a, n.rename(columns={"source": "x"}), seed=0), r"missing column\(s\) \['source'\]"),
    (lambda a, n: grnlib.fit(a, n, net_format="beeline", seed=0), r"not the beeline header"),
    (lambda a, n: grnlib.fit(a, n, model="degree", seed=0), r"is a baseline"),
    (lambda a, n: grnlib.fit(a, n.head(5), seed=0), r"only 5 prior edge"),
])
def test_bad_input_is_a_data_error(call, match, toy):
    adata, net = toy
    with pytest.raises(DataError, match=match):
        call(adata, net)


def test_nan_in_anndata_is_refused_with_its_position(toy):
    adata, net = toy
    broken = adata.copy()
    broken.X[3, 5] = np.nan
    with pytest.raises(DataError, match=rf"AnnData: expression matrix has 1 NaN.*first at cell '{adata.obs_names[3]}', gene 'G0005'"):
        grnlib.fit(broken, net, seed=0, **TINY)


def test_key_added_needs_an_anndata(model, tmp_path):
    with pytest.raises(DataError, match="key_added stores the ranking in an AnnData"):
        model.rank(tmp_path / "expr.csv", key_added="net")


def test_import_grnlib_stays_light():
    code = ("import sys, grnlib; heavy = [m for m in ('torch', 'pandas', 'anndata', 'grnlib.api') if m in sys.modules];"
            "assert not heavy, heavy; assert grnlib.fit.__module__ == 'grnlib.api'; "
            "assert {'fit', 'load', 'GRNModel'} <= set(dir(grnlib)); print(grnlib.__version__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        grnlib.nonexistent
