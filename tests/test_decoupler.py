"""Downstream use: a network predicted by grnlib, written in decoupler's format, scores TF activity
per cell with decoupler's univariate linear model (ulm) on the same expression. decoupler is in
the [ecosystem] and [dev] extras; without it this file is skipped."""
import numpy as np
import pandas as pd
import pytest
import torch

import grnlib
from grnlib import cli
from grnlib.data import make_toy

dc = pytest.importorskip("decoupler")

torch.set_num_threads(1)
TINY = {"model": "expression_two_tower", "model_cfg": {"embedding_dim": 16, "hidden_dims": [16], "out_dim": 16},
        "train": {"epochs": 2, "batch_size": 64, "warmup_epochs": 0}, "features": {"kind": "pca", "n_components": 8}}
TMIN = 5  # decoupler's default minimum of targets per TF


@pytest.fixture(scope="module")
def fitted():
    ds = make_toy(seed=0, n_cells=80)
    edges = ds.symbols(ds.edges)
    net = pd.DataFrame({"source": edges["tf_symbol"], "target": edges["target_symbol"]})
    return ds.expression, grnlib.fit(ds.expression, net, seed=0, **TINY)


def check_activities(adata, net):
    scores = adata.obsm["score_ulm"]
    per_tf = net.groupby("source").size()
    expected = sorted(per_tf[per_tf >= TMIN].index)
    assert sorted(scores.columns) == expected and len(expected) >= 2
    assert scores.shape == (adata.n_obs, len(expected)) and list(scores.index) == list(adata.obs_names)
    values = scores.to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert (values.std(axis=0) > 0).all()  # activities differ between cells
    return scores


def test_ranked_network_gives_tf_activities_per_cell(fitted):
    adata, model = fitted
    adata = adata.copy()
    net = model.rank(adata, top_k=400, format="decoupler")
    dc.mt.ulm(adata, net, tmin=TMIN)
    check_activities(adata, net)


def test_the_file_written_by_predict_feeds_decoupler(fitted, tmp_path):
    """The CSV of `grnlib predict --format decoupler`, read as decoupler users read theirs."""
    adata, model = fitted
    model.save(tmp_path / "model")
    adata.write_h5ad(tmp_path / "cells.h5ad")
    out = tmp_path / "net.csv"
    assert cli.main(["predict", "--model", str(tmp_path / "model"), "--expression", str(tmp_path / "cells.h5ad"),
                     "--format", "decoupler", "--top-k", "400", "--out", str(out), "--quiet"]) == 0
    net = pd.read_csv(out)
    assert list(net.columns) == ["source", "target", "weight"]
    cells = adata.copy()
    dc.mt.ulm(cells, net, tmin=TMIN)
    from_file = check_activities(cells, net)
    # the same activities as from the table in memory
    in_memory = adata.copy()
    dc.mt.ulm(in_memory, model.rank(adata, top_k=400, format="decoupler"), tmin=TMIN)
    np.testing.assert_allclose(from_file.to_numpy(), in_memory.obsm["score_ulm"].to_numpy(), rtol=1e-4, atol=1e-6)


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys, shared_root):
    """The README's Python API example, run as written: the hHEP cells and CollecTRI from the reference
    data, a per-stage network, ranking on other cells, the signed decoupler step, GraphML (~15 s)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = re.search(r"\*\*Python API\*\*.*?```python\n(.*?)```", readme, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    adata, ranked = namespace["adata"], namespace["ranked"]
    assert "degree" in capsys.readouterr().out  # the metrics were printed beside the floor
    assert adata.uns["grnlib"].equals(ranked)
    assert set(adata.uns["grnlib_stage"]) == set(namespace["per_stage"]) == set(adata.obs["stage"])
    assert len(namespace["late"]) == 1000  # cells the model was not trained on alone
    assert (namespace["network"]["weight"] < 0).any()  # signed: CollecTRI's repressions reach decoupler
    assert adata.obsm["score_ulm"].shape[0] == adata.n_obs and adata.obsm["score_ulm"].shape[1] >= 2
    assert (tmp_path / "network.graphml").is_file()
    assert grnlib.load(tmp_path / "my_api_model").rank(adata, top_k=10).equals(ranked.head(10))
