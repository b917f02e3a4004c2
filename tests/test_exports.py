"""Exports and pictures of a ranked network: networkx, GraphML for Cytoscape (atomic), grnlib.pl."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import grnlib  # noqa: E402
from grnlib.errors import DataError  # noqa: E402
from grnlib.data.toy import toy_user_data  # noqa: E402
from test_travel import TINY  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def fitted():
    adata, net = toy_user_data(seed=0, n_cells=80)
    model = grnlib.fit(adata, net, seed=0, **TINY)
    return model, adata


def test_to_networkx_carries_the_ranking(fitted):
    model, adata = fitted
    with pytest.raises(DataError, match="no ranking to export yet"):
        type(model)(model.user_model).to_networkx()
    ranked = model.rank(adata, top_k=40)
    graph = model.to_networkx()
    assert isinstance(graph, nx.DiGraph) and graph.number_of_edges() == 40
    best = ranked.iloc[0]
    data = graph.edges[best["tf"], best["target"]]
    assert data["rank"] == 1 and data["score"] == pytest.approx(best["score"]) and data["weight"] > 0
    assert data["in_prior"] == best["in_prior"]
    assert graph.nodes[best["tf"]]["is_tf"] and {n for n, d in graph.nodes(data=True) if d["is_tf"]} == set(ranked["tf"])
    decoupler = model.rank(adata, top_k=40, format="decoupler")
    assert model.to_networkx(decoupler).edges[best["tf"], best["target"]]["weight"] == pytest.approx(
        decoupler["weight"].iloc[0])


def test_graphml_round_trips_and_is_written_atomically(fitted, tmp_path, monkeypatch):
    model, adata = fitted
    ranked = model.rank(adata, top_k=25)
    path = model.to_graphml(tmp_path / "net.graphml")
    back = nx.read_graphml(path)
    assert back.number_of_edges() == 25 and {e[:2] for e in back.edges} == set(zip(ranked["tf"], ranked["target"]))
    assert back.edges[ranked["tf"].iloc[0], ranked["target"].iloc[0]]["rank"] == 1

    def broken(graph, path):  # a write that dies half way: the temporary file must not stay
        with open(path, "w") as handle:
            handle.write("<graphml")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(nx, "write_graphml", broken)
    with pytest.raises(Exception):
        model.to_graphml(tmp_path / "other.graphml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.graphml"]


def test_per_group_export_names_the_group(fitted):
    model, adata = fitted
    adata = adata.copy()
    adata.obs["half"] = np.where(np.arange(adata.n_obs) < 40, "first", "second")
    per_group = model.rank(adata, top_k=10, groupby="half")
    assert model.to_networkx(group="second").number_of_edges() == 10
    with pytest.raises(DataError, match="one table per group"):
        model.to_networkx()
    with pytest.raises(DataError, match="one table per group"):
        grnlib.pl.scores(per_group)


def test_pl_draws_targets_scores_and_activities(fitted):
    model, adata = fitted
    ranked = model.rank(adata, top_k=200)
    tf = ranked["tf"].iloc[0]
    fig, axes = plt.subplots(1, 3)
    assert grnlib.pl.targets(ranked, tf, n=8, ax=axes[0]) is fig
    assert grnlib.pl.scores(ranked, ax=axes[1]) is fig
    plt.close(fig)
    empty = grnlib.pl.targets(ranked, "NOT_A_TF")  # a TF without edges here: a panel that says so
    assert "no edge among these 200" in empty.axes[0].get_title()
    activities = pd.DataFrame(np.random.default_rng(0).normal(size=(adata.n_obs, 6)), index=adata.obs_names,
                              columns=[f"TF{i}" for i in range(6)])
    adata = adata.copy()
    adata.obsm["score_ulm"] = activities
    adata.obs["group"] = np.where(np.arange(adata.n_obs) % 2 == 0, "a", "b")
    fig = grnlib.pl.activities(adata, groupby="group", n_tfs=4)
    assert len(fig.axes[0].get_yticklabels()) == 4 and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]
    assert grnlib.pl.activities(adata) is not None  # per cell
    with pytest.raises(DataError, match="run decoupler first"):
        grnlib.pl.activities(adata, key="score_mlm")
    plt.close("all")
