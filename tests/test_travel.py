"""Models that travel (issue 20): a model ranks any cells sharing its genes (a subset, a cluster, the
same cells renamed), exactly as trained on the training cells, sparse end to end; one network per
group of cells, stored in adata.uns[key][group]."""
import json
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import grnlib
from grnlib.errors import DataError, DataWarning
from grnlib.data.toy import toy_user_data
from grnlib.features import FeatureRecipe
from test_features_sparse import _log_counts

torch.set_num_threads(1)
X = _log_counts(n_cells=300, n_genes=90, seed=1)
TINY = {"model": "expression_two_tower", "model_cfg": {"embedding_dim": 16, "hidden_dims": [16], "out_dim": 16},
        "train": {"epochs": 2, "batch_size": 64, "warmup_epochs": 0}, "features": {"kind": "pca", "n_components": 8}}


def _adata(x, prefix="c") -> ad.AnnData:
    return ad.AnnData(x, obs=pd.DataFrame(index=[f"{prefix}{i}" for i in range(x.shape[0])]),
                      var=pd.DataFrame(index=[f"G{j}" for j in range(x.shape[1])]))


def _renamed(adata) -> ad.AnnData:
    out = adata.copy()
    out.obs_names = ["new_" + c for c in adata.obs_names]
    return out


@pytest.mark.parametrize("options", [{"kind": "pca", "n_components": 6},
                                     {"kind": "pca", "n_components": 6, "standardize": False}])
def test_pca_features_of_renamed_cells_are_the_trained_ones(options):
    """The same cells under other names travel through the stored basis: the leading features come
    back (the exact path, by cell name, is bit for bit)."""
    adata = _adata(sp.csr_matrix(X))
    recipe = FeatureRecipe.fit(adata, seed=0, **options)
    trained = recipe.transform(adata)
    np.testing.assert_array_equal(trained, recipe.reference)  # what travel aligns to is what training saw
    travelled = recipe.transform(_renamed(adata))
    for j in range(3):
        assert np.corrcoef(trained[:, j], travelled[:, j])[0, 1] > 0.99
    assert np.linalg.norm(travelled - trained) < 0.1 * np.linalg.norm(trained)


def test_features_of_other_cells_keep_the_training_basis():
    """The other half of the cells gives features close to the training ones on the leading axis."""
    adata = _adata(X)
    recipe = FeatureRecipe.fit(adata[:150].copy(), "pca", n_components=6, seed=0)
    trained = recipe.transform(adata[:150].copy())
    travelled = recipe.transform(adata[150:].copy())
    assert travelled.shape == trained.shape
    assert np.corrcoef(trained[:, 0], travelled[:, 0])[0, 1] > 0.9


def test_travel_is_sparse_and_matches_dense(monkeypatch):
    dense, sparse = _adata(X), _adata(sp.csr_matrix(X))
    recipe = FeatureRecipe.fit(dense[:150].copy(), "pca", n_components=6, seed=0)
    expected = recipe.transform(dense[150:].copy())

    def refuse(*args, **kwargs):
        raise AssertionError("a cells x genes matrix was densified")
    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    np.testing.assert_allclose(recipe.transform(sparse[150:].copy()), expected, atol=1e-4 * np.abs(expected).max())


def test_travel_picks_the_rows_asked_for_and_ignores_genes_outside_training():
    adata = _adata(X)
    recipe = FeatureRecipe.fit(adata[:150].copy(), "pca", n_components=6, seed=0)
    other = adata[150:].copy()
    whole = recipe.transform(other)
    np.testing.assert_array_equal(recipe.transform(other, genes=np.array([4, 0, 9])), whole[[4, 0, 9]])
    extra = ad.AnnData(np.hstack([other.X, np.arange(other.n_obs, dtype=np.float32)[:, None]]), obs=other.obs,
                       var=pd.DataFrame(index=[*other.var_names, "NEW"]))
    with_new = recipe.transform(extra)
    assert with_new.shape == (91, 6) and not with_new[-1].any()  # a gene the recipe never saw: no features
    np.testing.assert_allclose(with_new[:90], whole, atol=1e-5 * np.abs(whole).max())


def test_pseudobulk_travels_with_its_width_even_when_groups_get_no_cells():
    adata = _adata(X)
    recipe = FeatureRecipe.fit(adata, "pseudobulk", n_groups=6, seed=0)
    few = _renamed(adata[:20])  # 20 cells cannot fill every group
    out = recipe.transform(few)
    assert out.shape == (90, recipe.width) and np.isfinite(out).all()


def test_a_recipe_round_trips_its_basis_and_an_old_one_says_it_cannot_travel():
    adata = _adata(X)
    recipe = FeatureRecipe.fit(adata, "pca", n_components=6, seed=0)
    meta, tensors = recipe.state()
    meta = json.loads(json.dumps(meta))
    loaded = FeatureRecipe.from_state(meta, tensors)
    np.testing.assert_array_equal(loaded.transform(_renamed(adata)), recipe.transform(_renamed(adata)))
    old = FeatureRecipe.from_state({k: v for k, v in meta.items() if k != "genes"},
                                   {k: v for k, v in tensors.items() if k != "feature_reference"})
    np.testing.assert_array_equal(old.transform(adata), recipe.transform(adata))  # training cells: as ever
    with pytest.raises(DataError, match="earlier grnlib version.*refit_features=True"):
        old.transform(_renamed(adata), path="new.h5ad")


def test_cells_features_and_single_cells_cannot_travel():
    adata = _adata(X)
    with pytest.raises(DataError, match="'cells' features are the training cells themselves"):
        FeatureRecipe.fit(adata, "cells").transform(_renamed(adata))
    recipe = FeatureRecipe.fit(adata, "pca", n_components=6, seed=0)
    with pytest.raises(DataError, match="has 1 cell"):
        recipe.transform(_renamed(adata[:1]))


# -- a trained model on other cells ----------------------------------------------------------
@pytest.fixture(scope="module")
def toy():
    adata, net = toy_user_data(seed=0, n_cells=120)
    adata.obs["cluster"] = pd.Categorical(np.where(np.arange(adata.n_obs) % 3 == 0, "b", "a"), ["a", "b", "tiny"])
    return adata, net


@pytest.fixture(scope="module")
def model(toy):
    adata, net = toy
    return grnlib.fit(adata, net, seed=0, **TINY)


def test_a_model_ranks_other_cells_and_renamed_cells_like_its_own(model, toy):
    adata, _ = toy
    own = model.rank(adata)
    renamed = model.rank(_renamed(adata))
    joined = own.merge(renamed, on=["tf", "target"])
    assert len(joined) == len(own) and np.corrcoef(joined["score_x"], joined["score_y"])[0, 1] > 0.99
    subset = model.rank(adata[:40], top_k=50)  # a subset of the training cells, under their own names
    assert len(subset) == 50 and subset["score"].is_monotonic_decreasing


def test_one_network_per_group_stored_the_scverse_way(model, toy):
    adata = toy[0].copy()
    per_group = model.rank(adata, top_k=30, groupby="cluster", key_added="grn")
    assert list(per_group) == ["a", "b"]  # category order; the empty 'tiny' group is not ranked
    assert set(adata.uns["grn"]) == {"a", "b"} and adata.uns["grn"]["b"].equals(per_group["b"])
    for name, table in per_group.items():
        cells = adata[adata.obs["cluster"] == name].copy()
        assert table.equals(model.rank(cells, top_k=30))
    decoupler = model.rank(adata, top_k=30, groupby="cluster", format="decoupler")
    assert list(decoupler["a"].columns) == ["source", "target", "weight"]


def test_groupby_names_a_missing_column_and_skips_small_groups(model, toy):
    adata = toy[0].copy()
    with pytest.raises(DataError, match="no cell annotation 'cell_type'.*cluster"):
        model.rank(adata, groupby="cell_type")
    adata.obs["few"] = ["x"] * 5 + ["y"] * (adata.n_obs - 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_group = model.rank(adata, top_k=10, groupby="few")
    assert list(per_group) == ["y"] and any("1 group(s) under 10 cells" in str(w.message) for w in caught)


def test_held_out_metrics_repeat_the_training_metrics_on_the_training_cells(model, toy):
    adata, _ = toy
    own = model.held_out_metrics(adata)
    row = model.metrics.loc[model.params["model"] if model.params["model"] in model.metrics.index
                            else model.metrics.index[-1]]
    assert own["auroc"] == pytest.approx(row["auroc"]) and own["per_tf_auroc"] == pytest.approx(row["per_tf_auroc"])
    other = model.held_out_metrics(_renamed(adata))
    assert other["n"] == own["n"] and 0 <= other["auroc"] <= 1


def test_predict_groupby_writes_one_table_with_a_group_column_and_graphml(model, toy, tmp_path):
    from grnlib import cli

    adata = toy[0].copy()
    model.save(tmp_path / "model")
    adata.write_h5ad(tmp_path / "cells.h5ad")
    base = ["predict", "--model", str(tmp_path / "model"), "--expression", str(tmp_path / "cells.h5ad"),
            "--top-k", "15", "--quiet", "--threads", "1"]
    assert cli.main([*base, "--groupby", "cluster", "--format", "decoupler", "--out", str(tmp_path / "g.tsv")]) == 0
    written = pd.read_csv(tmp_path / "g.tsv", sep="\t")
    assert list(written.columns) == ["group", "source", "target", "weight"] and list(pd.unique(written["group"])) == ["a", "b"]
    expected = model.rank(adata, top_k=15, groupby="cluster", format="decoupler")
    for name, table in expected.items():
        part = written[written["group"] == name].drop(columns="group").reset_index(drop=True)
        pd.testing.assert_frame_equal(part[["source", "target"]], table[["source", "target"]])
    assert cli.main([*base, "--format", "graphml", "--out", str(tmp_path / "net.graphml")]) == 0
    import networkx as nx
    assert nx.read_graphml(tmp_path / "net.graphml").number_of_edges() == 15
    code = cli.main([*base, "--groupby", "cluster", "--format", "graphml", "--out", str(tmp_path / "x.graphml")])
    assert code != 0 and not (tmp_path / "x.graphml").exists()
    code = cli.main([*base, "--groupby", "cell_type", "--out", str(tmp_path / "y.tsv")])
    assert code != 0 and not (tmp_path / "y.tsv").exists()


def test_evidence_computed_on_the_training_cells_is_named_when_ranking_other_cells(toy):
    adata, net = toy
    spec = {"model": "pair_evidence", "model_cfg": {"inputs": "none", "evidence": ["degree", "expression",
                                                                                   "partial_correlation"]},
            "features": {"kind": "pca", "n_components": 8}, "train": {"epochs": 1, "batch_size": 64}}
    fitted = grnlib.fit(adata, net, seed=0, **spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training cells: nothing to say
        fitted.rank(adata, top_k=5)
    with pytest.warns(DataWarning, match="partial_correlation evidence stays that of its training cells"):
        fitted.rank(adata[:60], top_k=5)
