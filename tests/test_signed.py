"""Signed edges: the prior's mode of regulation is read, travels into the model folder, and new edges
get a sign from the TF-target association in the cells; decoupler's ulm then tells an activator from
a repressor on cells with a planted signal."""
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

import grnlib
from grnlib.data import read_edges
from grnlib.user import read_priors
from grnlib.user.signs import association, edge_signs

torch.set_num_threads(1)
TINY = {"model": "expression_two_tower", "model_cfg": {"embedding_dim": 16, "hidden_dims": [16], "out_dim": 16},
        "train": {"epochs": 2, "batch_size": 64, "warmup_epochs": 0}, "features": {"kind": "pca", "n_components": 8}}
N_TARGETS = 25


def planted_cells(seed=0, n_cells=300, n_other=60):
    """Sparse log-scale cells: TF A activates its targets TA*, TF B represses its targets TB*."""
    rng = np.random.default_rng(seed)
    a, b = rng.gamma(2.0, 1.0, n_cells), rng.gamma(2.0, 1.0, n_cells)
    columns = {"A": a, "B": b}
    for i in range(N_TARGETS):
        columns[f"TA{i}"] = 0.8 * a + rng.normal(0, 0.6, n_cells)
        columns[f"TB{i}"] = 4.0 - 0.8 * b + rng.normal(0, 0.6, n_cells)
    for i in range(n_other):
        columns[f"O{i}"] = rng.gamma(1.5, 1.0, n_cells)
    x = np.clip(np.column_stack(list(columns.values())), 0, None)
    x[x < 0.5] = 0.0  # dropouts: a sparse matrix, as scanpy users hold it
    adata = ad.AnnData(sp.csr_matrix(x.astype(np.float32)), var=pd.DataFrame(index=list(columns)),
                       obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]))
    net = pd.DataFrame([("A", f"TA{i}") for i in range(N_TARGETS)] + [("B", f"TB{i}") for i in range(N_TARGETS)],
                       columns=["source", "target"])
    return adata, net


@pytest.mark.parametrize("text, signs", [
    ("source,target,mor\nA,B,1\nC,D,-1\n", [1, -1]),                     # decoupler 1.x
    ("source,target,weight\nA,B,1\nC,D,-1\n", [1, -1]),                  # CollecTRI / DoRothEA: weight +-1
    ("source,target,sign\nA,B,activation\nC,D,repression\n", [1, -1]),   # words
])
def test_the_prior_sign_is_read(tmp_path, text, signs):
    path = tmp_path / "net.csv"
    path.write_text(text)
    assert read_edges(path)["sign"].tolist() == signs


def test_collectri_and_dorothea_signs_are_read(shared_root):
    for name in ("collectri", "dorothea"):
        edges = read_priors(Path(shared_root) / f"priors/human/{name}.csv.gz")
        assert set(edges["sign"].unique()) == {-1, 1}, name
        assert 0.01 < (edges["sign"] < 0).mean() < 0.5  # repressions are a minority (DoRothEA 2 %, CollecTRI 16 %)


def test_association_is_pearson_and_never_densifies_the_matrix(monkeypatch):
    adata, _ = planted_cells()
    dense = adata.X.toarray().astype(np.float64)
    shape = adata.X.shape
    original = sp.csr_matrix.toarray

    def guarded(self, *args, **kwargs):
        assert self.shape != shape, "the cells x genes matrix was densified"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", guarded)
    monkeypatch.setattr(sp.csc_matrix, "toarray", guarded)
    tf, target = np.array([0, 0, 1, 1, 5]), np.array([2, 3, 3, 2, 70])  # A, B, TA0, TB0, ... by column
    r = association(adata.X, tf, target)
    expected = [np.corrcoef(dense[:, i], dense[:, j])[0, 1] for i, j in zip(tf, target)]
    np.testing.assert_allclose(r, expected, atol=1e-5)  # float32 sums of products, as stored
    assert r[0] > 0.5 and r[2] < -0.5  # A activates TA0, B represses TB0


def test_signs_from_the_cells_and_from_the_prior():
    adata, net = planted_cells()
    genes = adata.var_names
    ids = pd.DataFrame({"tf": genes.get_indexer(net["source"]), "target": genes.get_indexer(net["target"])})
    columns = np.arange(len(genes))
    # no signed prior edge: the correlation decides
    sign, confidence = edge_signs(ids["tf"], ids["target"], ids, len(genes), adata.X, columns)
    truth = np.where(net["source"] == "A", 1, -1)
    assert (sign == truth).mean() == 1.0 and (confidence > 0.9).all()
    # a signed prior keeps its sign (confidence 1) even against the cells
    signed = ids.assign(sign=-truth)
    sign, confidence = edge_signs(ids["tf"], ids["target"], signed, len(genes), adata.X, columns)
    assert (sign == -truth).all() and (confidence == 1).all()


@pytest.fixture(scope="module")
def planted_model():
    adata, net = planted_cells()
    return adata, net, grnlib.fit(adata, net, seed=0, **TINY)


def test_rank_gives_signs_and_decoupler_recovers_activator_and_repressor(planted_model):
    dc = pytest.importorskip("decoupler")
    adata, net, model = planted_model
    ranked = model.rank(adata)
    assert {"sign", "sign_confidence"} <= set(ranked.columns)
    assert ranked["sign_confidence"].between(0.5, 1).all()
    true_edges = ranked.merge(net, left_on=["tf", "target"], right_on=["source", "target"])
    accuracy = (true_edges["sign"] == np.where(true_edges["tf"] == "A", 1, -1)).mean()
    assert accuracy == 1.0  # the planted signs, all recovered
    signed = model.rank(adata, format="decoupler")
    assert (signed.loc[signed["source"] == "B", "weight"] < 0).mean() > 0.5
    expression = pd.DataFrame(adata.X.toarray(), columns=adata.var_names, index=adata.obs_names)
    activities = {}
    for name, network in (("signed", signed), ("unsigned", signed.assign(weight=signed["weight"].abs()))):
        cells = adata.copy()
        dc.mt.ulm(cells, network, tmin=5)
        scores = cells.obsm["score_ulm"]
        activities[name] = {tf: np.corrcoef(scores[tf], expression[tf])[0, 1] for tf in ("A", "B")}
    # with signs, both TFs' activities follow their own expression; without, the repressor's runs backwards
    assert activities["signed"]["A"] > 0.5 and activities["signed"]["B"] > 0.5
    assert activities["unsigned"]["B"] < 0


def test_prior_signs_travel_into_the_model_folder(tmp_path):
    adata, net = planted_cells()
    net = net.assign(weight=np.where(net["source"] == "A", 1, -1))  # CollecTRI-style signed weights
    model = grnlib.fit(adata, net, seed=0, **TINY)
    model.save(tmp_path / "model")
    loaded = grnlib.load(tmp_path / "model")
    prior = loaded.user_model.prior_edges
    assert "sign" in prior and len(prior) == 2 * N_TARGETS
    symbols = loaded.genes[prior["tf"].to_numpy()]
    np.testing.assert_array_equal(prior["sign"], np.where(symbols == "A", 1, -1))
    ranked = loaded.rank(adata)
    in_prior = ranked[ranked["in_prior"] == 1]
    assert (in_prior["sign_confidence"] == 1).all()
    assert (in_prior["sign"] == np.where(in_prior["tf"] == "A", 1, -1)).all()
