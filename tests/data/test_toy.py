"""The seeded toy dataset used across the test suite."""
import numpy as np

from grnlib.data import GRNDataset, make_toy


def test_toy_shapes_and_id_space():
    ds = make_toy(n_genes=60, n_tfs=6, n_cells=30, seed=3)
    assert isinstance(ds, GRNDataset)
    assert (ds.n_genes, ds.n_tfs) == (60, 6)
    assert ds.expression.shape == (30, 60)
    assert ds.expression.var_names.equals(ds.genes)
    assert ds.expression_matrix().shape == (60, 30)
    assert np.isin(ds.edges.tf, ds.tf_ids).all()
    assert (ds.edges.tf != ds.edges.target).all() and not ds.edges.duplicated().any()
    assert ds.edges[["tf", "target"]].to_numpy().max() < 60


def test_toy_is_seeded_and_has_planted_signal():
    a, b, c = make_toy(seed=1), make_toy(seed=1), make_toy(seed=2)
    assert a.edges.equals(b.edges) and np.array_equal(a.expression.X, b.expression.X)
    assert not a.edges.equals(c.edges)
    x = a.expression_matrix()
    corr = np.abs(np.corrcoef(x))
    true = corr[a.edges.tf, a.edges.target].mean()
    rng = np.random.default_rng(0)
    random_pairs = corr[rng.choice(a.tf_ids, 500), rng.integers(0, a.n_genes, 500)].mean()
    assert true > random_pairs + 0.1  # targets follow their TF


def test_toy_without_expression():
    ds = make_toy(with_expression=False)
    assert ds.expression is None and not ds.has_expression
