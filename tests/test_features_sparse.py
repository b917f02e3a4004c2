"""Gene features and reading, sparse end to end: sparse input gives the dense features, the stored
recipe re-applies exactly, memory follows the non-zeros, and .h5ad files read in chunks."""
import json
import tracemalloc
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import grnlib.data.expression as expression_module
import grnlib.features as features_module
from grnlib.data import make_toy, read_expression
from grnlib.errors import DataError, DataWarning
from grnlib.features import FeatureRecipe, gene_features

RECIPES = {
    "pca": {"kind": "pca", "n_components": 6},
    "pca raw": {"kind": "pca", "n_components": 6, "standardize": False},
    "cells": {"kind": "cells"},
    "cells raw": {"kind": "cells", "standardize": False},
    "pseudobulk kmeans": {"kind": "pseudobulk", "n_groups": 5},
    "pseudobulk random": {"kind": "pseudobulk", "n_groups": 5, "grouping": "random", "standardize": False},
}


def _log_counts(n_cells=160, n_genes=90, density=0.15, seed=0) -> np.ndarray:
    """Cells x genes log-counts with three cell states (a separated spectrum), mostly zeros."""
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 3, n_cells)
    programme = rng.gamma(1.0, 2.0, (3, n_genes))
    detected = rng.random((n_cells, n_genes)) < density * (0.5 + programme[state] / programme.mean())
    counts = rng.poisson(1 + 3 * programme[state]) * detected
    counts[:, 7] = 0  # a gene never detected: constant
    return np.log1p(counts).astype(np.float32)


def _anndata(x) -> ad.AnnData:
    n_cells, n_genes = x.shape
    return ad.AnnData(x, obs=pd.DataFrame(index=[f"cell{i}" for i in range(n_cells)]),
                      var=pd.DataFrame(index=[f"G{j}" for j in range(n_genes)]))


DENSE = _log_counts()


@pytest.mark.parametrize("name", list(RECIPES))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_gives_the_dense_features(name, fmt):
    dense = _anndata(DENSE)
    sparse = _anndata(sp.csr_matrix(DENSE) if fmt == "csr" else sp.csc_matrix(DENSE))
    a = FeatureRecipe.fit(dense, seed=1, **RECIPES[name]).transform(dense)
    b = FeatureRecipe.fit(sparse, seed=1, **RECIPES[name]).transform(sparse)
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape and a.shape[0] == DENSE.shape[1]
    scale = float(np.abs(a).max())
    np.testing.assert_allclose(b, a, atol=2e-5 * scale, rtol=0)
    if "pca" in name:
        assert not np.allclose(a[:, 0], 0)  # the comparison is not vacuous


def test_threaded_row_blocks_give_the_same_features(monkeypatch):
    sparse = _anndata(sp.csr_matrix(DENSE))
    whole = {name: FeatureRecipe.fit(sparse, seed=0, **RECIPES[name]).transform(sparse)
             for name in ("pca", "pseudobulk random")}
    monkeypatch.setattr(features_module, "BLOCK_NNZ", 300)  # dozens of blocks over several threads
    blocks = features_module._row_blocks(sparse.X)
    assert len(blocks) > 8 and all(np.shares_memory(b.data, sparse.X.data) for _, _, b in blocks)  # views
    for name, expected in whole.items():
        got = FeatureRecipe.fit(sparse, seed=0, **RECIPES[name]).transform(sparse)
        np.testing.assert_allclose(got, expected, atol=2e-5 * float(np.abs(expected).max()), rtol=0)


def test_pca_is_the_exact_pca_of_the_z_scored_genes():
    """Against numpy's SVD of the dense z-scored genes x cells matrix, centred per cell."""
    z = (DENSE - DENSE.mean(0)) / np.where(DENSE.std(0) > 0, DENSE.std(0), 1)
    z = z.T.astype(np.float64)
    z -= z.mean(axis=0)
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    assert singular[1] > 1.4 * singular[2]  # two clear axes, then a flat noise spectrum
    recipe = FeatureRecipe.fit(_anndata(sp.csr_matrix(DENSE)), "pca", n_components=4, seed=0)
    for j in range(2):  # the clear axes: same direction up to sign, and the sign rule holds
        assert abs(float(vt[j] @ recipe.components[j])) > 0.9999
        assert recipe.components[j][np.argmax(np.abs(recipe.components[j]))] > 0
    features = recipe.transform(_anndata(DENSE))
    assert features[:, 0].std() == pytest.approx(1.0, rel=1e-4)
    # as many directions as genes: the range finder spans everything and the SVD is exact, so each
    # feature's spread is its singular value relative to the first
    full = FeatureRecipe.fit(_anndata(DENSE), "pca", n_components=80, seed=0).transform(_anndata(DENSE))
    np.testing.assert_allclose(full.std(axis=0), singular[:80] / singular[0], rtol=1e-3)


def test_same_seed_same_features_and_gene_features_is_the_recipe():
    ds = make_toy(n_genes=60, n_tfs=6, n_cells=40, seed=1)
    for options in RECIPES.values():
        options = dict(options)
        kind = options.pop("kind")
        recipe = FeatureRecipe.fit(ds.expression, kind, seed=3, **options)
        np.testing.assert_array_equal(gene_features(ds, kind, seed=3, **options), recipe.transform(ds.expression))
        np.testing.assert_array_equal(FeatureRecipe.fit(ds.expression, kind, seed=3, **options)
                                      .transform(ds.expression), recipe.transform(ds.expression))


@pytest.mark.parametrize("name", list(RECIPES))
def test_state_round_trip_and_cells_by_name(name):
    import torch

    expression = _anndata(sp.csr_matrix(DENSE))
    recipe = FeatureRecipe.fit(expression, seed=2, **RECIPES[name])
    fitted = recipe.transform(expression)
    meta, tensors = recipe.state()
    meta = json.loads(json.dumps(meta))  # the checkpoint stores the description as JSON
    loaded = FeatureRecipe.from_state(meta, {k: torch.as_tensor(v.numpy()) for k, v in tensors.items()})
    assert loaded.describe() == recipe.describe() and loaded.width == fitted.shape[1]
    np.testing.assert_array_equal(loaded.transform(expression), fitted)
    # shuffled cells plus an extra cell: the training cells are found by name, the extra one ignored
    order = np.random.default_rng(0).permutation(expression.n_obs)
    new_cell = ad.AnnData(sp.csr_matrix(np.full((1, DENSE.shape[1]), 9, np.float32)),
                          obs=pd.DataFrame(index=["new_cell"]), var=expression.var)
    extra = ad.concat([expression[order], new_cell], merge="same")
    np.testing.assert_allclose(loaded.transform(extra), fitted, atol=1e-5 * float(np.abs(fitted).max()))
    # a subset of genes gets the rows it would get in the whole matrix
    genes = np.array([5, 0, 33])
    np.testing.assert_allclose(loaded.transform(expression, genes=genes), fitted[genes], atol=1e-6)


def test_missing_training_cells_fail_or_refit():
    """'cells' features are the training cells: they cannot travel (pca/pseudobulk do: test_travel.py)."""
    expression = _anndata(DENSE)
    fewer = expression[10:].copy()
    with pytest.raises(DataError, match="lacks 10 of the 160 training cells.*refit_features=True"):
        FeatureRecipe.fit(expression, "cells", seed=0).transform(fewer, path="new.h5ad")
    recipe = FeatureRecipe.fit(expression, "pseudobulk", n_groups=4, seed=0)
    with pytest.warns(DataWarning, match="refitting pseudobulk features"):
        refit = recipe.transform(fewer, refit=True, path="new.h5ad", genes=np.arange(20))
    assert refit.shape == (20, 4)


def test_cells_kind_refuses_a_large_dense_matrix(monkeypatch):
    monkeypatch.setattr(features_module, "MAX_CELLS_ENTRIES", 1000)
    with pytest.raises(DataError, match=r"kind 'cells' needs a dense 90 genes x 160 cells.*use features kind 'pca'"):
        FeatureRecipe.fit(_anndata(sp.csr_matrix(DENSE)), "cells", path="big.h5ad")


def test_nan_in_a_sparse_matrix_names_the_gene():
    x = sp.csr_matrix(DENSE)
    x.data[3] = np.nan
    gene = f"G{x.indices[3]}"
    with pytest.raises(DataError, match=rf"expression of 1 gene\(s\) holds NaN/inf \(e\.g\. \['{gene}'\]\)"):
        FeatureRecipe.fit(_anndata(x), "pca", n_components=4)


def test_pca_memory_grows_with_the_non_zeros_not_cells_x_genes():
    """3,000 cells x 2,000 genes at 5 %: the dense float32 matrix is 24 MB (the old path made
    float64 z-scored copies of it); fitting and applying the PCA stays far below that."""
    x = sp.random(3000, 2000, density=0.05, format="csr", dtype=np.float32, random_state=0)
    expression = _anndata(x)
    FeatureRecipe.fit(_anndata(x[:60, :50]), "pca", n_components=4)  # imports outside the measurement
    dense_bytes = x.shape[0] * x.shape[1] * 4
    tracemalloc.start()
    try:
        FeatureRecipe.fit(expression, "pca", n_components=64, seed=0).transform(expression)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stored_bytes = x.data.nbytes + x.indices.nbytes
    assert peak < dense_bytes / 2, f"peak {peak / 1e6:.1f} MB vs dense {dense_bytes / 1e6:.0f} MB"
    assert peak < 4 * stored_bytes + 2 * 64 * sum(x.shape) * 8


# -- reading -------------------------------------------------------------------------------------
def _counts_file(tmp_path, layer=None):
    rng = np.random.default_rng(4)
    counts = sp.random(300, 40, density=0.2, format="csr", dtype=np.float32, random_state=4,
                       data_rvs=lambda n: rng.integers(1, 9, n))
    counts.data[counts.indices == 3] = 0  # explicit zeros in one gene: still zero in every cell
    stored = _anndata(counts)
    if layer:
        stored.layers[layer] = sp.csc_matrix(counts) if layer == "csc" else counts.toarray()
    path = tmp_path / "counts.h5ad"
    stored.write_h5ad(path)
    return path, counts.toarray()


def _read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adata = read_expression(path, **kwargs)
    return adata, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


@pytest.mark.parametrize("layer", [None, "dense", "csc"])
def test_h5ad_read_in_chunks_equals_read_whole(tmp_path, monkeypatch, layer):
    path, counts = _counts_file(tmp_path, layer)
    whole, whole_warnings = _read(path, layer=layer, raw_counts=True)
    monkeypatch.setattr(expression_module, "READ_CHUNK_VALUES", 50)  # dozens of chunks
    chunked, chunked_warnings = _read(path, layer=layer, raw_counts=True)
    assert whole_warnings == chunked_warnings and "1 gene(s) have zero variance" in whole_warnings[0]
    assert sp.issparse(chunked.X) == (layer != "dense") and chunked.X.dtype == np.float32
    as_array = [m.toarray() if sp.issparse(m) else m for m in (whole.X, chunked.X, chunked.layers["counts"])]
    np.testing.assert_array_equal(as_array[0], as_array[1])
    np.testing.assert_array_equal(as_array[2], counts)
    expected = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(as_array[1], expected, rtol=1e-6)


def test_chunked_read_reports_the_first_bad_value_of_a_later_chunk(tmp_path, monkeypatch):
    path, counts = _counts_file(tmp_path)
    x = sp.csr_matrix(counts)
    x.data[-5] = -1.0
    x.data[-2] = np.nan
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    _anndata(x).write_h5ad(path)
    monkeypatch.setattr(expression_module, "READ_CHUNK_VALUES", 50)
    with pytest.raises(DataError, match=rf"1 NaN and 0 infinite value\(s\), first at cell 'cell{rows[-2]}', "
                                        rf"gene 'G{x.indices[-2]}'"):
        read_expression(path)
    x.data[-2] = 1.0
    _anndata(x).write_h5ad(path)
    with pytest.raises(DataError, match=rf"1 negative value\(s\), first at cell 'cell{rows[-5]}'"):
        read_expression(path, raw_counts=True)


def test_genes_as_rows_h5ad_stays_sparse(tmp_path):
    path, counts = _counts_file(tmp_path)
    cells = _anndata(counts)
    ad.AnnData(sp.csr_matrix(counts.T), obs=cells.var, var=cells.obs).write_h5ad(path)  # stored genes x cells
    adata, caught = _read(path, genes_as="rows")
    assert sp.isspmatrix_csr(adata.X) and adata.shape == counts.shape
    assert list(adata.obs_names[:2]) == ["cell0", "cell1"] and any("e.g. ['G3']" in message for message in caught)
    np.testing.assert_array_equal(adata.X.toarray(), counts)


def test_keep_counts_false_reads_the_same_x_without_the_counts_layer(tmp_path):
    path, _ = _counts_file(tmp_path, None)
    kept, _ = _read(path, raw_counts=True)
    dropped, _ = _read(path, raw_counts=True, keep_counts=False)
    assert "counts" in kept.layers and "counts" not in dropped.layers
    np.testing.assert_array_equal(kept.X.toarray(), dropped.X.toarray())


def test_varying_genes_reads_sparse_input_in_chunks(monkeypatch):
    from grnlib import features
    from grnlib.user.reading import varying_genes

    x = sp.random(400, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    x[:, 4] = 0.0
    expected = varying_genes(x.toarray())
    monkeypatch.setattr(features, "CHUNK_NNZ", 7)  # hundreds of chunks, never a whole copy
    assert varying_genes(x).tolist() == expected.tolist() and not expected[4] and expected.sum() == 29
