"""grnlib.features.gene_features (FeatureRecipe.fit then transform): shapes, standardisation,
seeding and errors. Sparse input, stored recipes and memory: tests/test_features_sparse.py."""
import numpy as np
import pytest

from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.features import gene_features

DS = make_toy(n_genes=60, n_tfs=6, n_cells=40, seed=1)
RAW = DS.expression_matrix()  # [genes, cells]


def test_cells_are_the_z_scored_expression_rows():
    features = gene_features(DS, "cells")
    assert features.shape == (60, 40) and features.dtype == np.float32
    expected = (RAW - RAW.mean(1, keepdims=True)) / RAW.std(1, keepdims=True)
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(gene_features(DS, "cells", standardize=False), RAW)


def test_pca_shape_seed_and_scaling():
    a = gene_features(DS, "pca", n_components=8, seed=0)
    b = gene_features(DS, "pca", n_components=8, seed=0)
    assert a.shape == (60, 8)
    np.testing.assert_array_equal(a, b)
    assert a[:, 0].std() == pytest.approx(1.0, rel=1e-5)
    variances = a.var(axis=0)
    assert (np.diff(variances) <= 1e-5).all()  # components come in decreasing variance


def test_pseudobulk_random_groups_are_group_means():
    features = gene_features(DS, "pseudobulk", n_groups=5, grouping="random", seed=3,
                             standardize=False)
    assert features.shape == (60, 5)
    groups = np.array_split(np.random.default_rng(3).permutation(40), 5)
    expected = np.stack([RAW[:, g].mean(axis=1) for g in groups], axis=1)
    np.testing.assert_allclose(features, expected, rtol=1e-5)


def test_pseudobulk_kmeans_is_seeded_and_standardized():
    a = gene_features(DS, "pseudobulk", n_groups=4, seed=0)
    assert a.shape == (60, 4)
    np.testing.assert_array_equal(a, gene_features(DS, "pseudobulk", n_groups=4, seed=0))
    np.testing.assert_allclose(a.mean(axis=1), 0, atol=1e-5)


def test_constant_gene_becomes_zero_row():
    ds = make_toy(n_genes=30, n_tfs=3, n_cells=20, seed=2)
    ds.expression.X[:, 7] = 2.5
    assert not gene_features(ds, "cells")[7].any()


def test_errors_name_the_problem():
    with pytest.raises(DataError, match="no expression"):
        gene_features(make_toy(with_expression=False), "cells")
    with pytest.raises(ValueError, match="pseudobulk"):
        gene_features(DS, "umap")
    with pytest.raises(ValueError, match="n_components"):
        gene_features(DS, "pca", n_components=41)
    with pytest.raises(ValueError, match="n_groups"):
        gene_features(DS, "pseudobulk", n_groups=41)
    ds = make_toy(n_genes=30, n_tfs=3, n_cells=20, seed=2)
    ds.expression.X[3, 4] = np.nan
    with pytest.raises(DataError, match="NaN"):
        gene_features(ds, "cells")


def test_sparse_dataset_expression_gives_the_dense_features():
    import scipy.sparse as sp

    ds = make_toy(n_genes=60, n_tfs=6, n_cells=40, seed=1)
    dense = {kind: gene_features(ds, kind, n_components=8, n_groups=4, seed=0)
             for kind in ("cells", "pca", "pseudobulk")}
    ds.expression.X = sp.csr_matrix(ds.expression.X)
    for kind, expected in dense.items():
        got = gene_features(ds, kind, n_components=8, n_groups=4, seed=0)
        np.testing.assert_allclose(got, expected, atol=1e-4 * float(np.abs(expected).max()))
