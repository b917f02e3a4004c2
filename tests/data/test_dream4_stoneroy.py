"""DREAM4 and Stone & Roy loaders on the real shared data."""
import numpy as np
import pandas as pd

from grnlib.data import load_dataset


def test_dream4_network(shared_root):
    ds = load_dataset("dream4/1", root=shared_root)
    assert ds.n_genes == 100 and ds.genes[0] == "G1" and ds.genes[-1] == "G100"
    gold = pd.read_csv(shared_root / "dream4/insilico_size100_1/goldstandard.tsv", sep="\t", header=None)
    assert ds.n_edges == int(gold[2].sum()) == 176
    # TFs are exactly the genes with an outgoing gold edge.
    assert ds.n_tfs == 41
    np.testing.assert_array_equal(ds.tf_ids, np.unique(ds.edges.tf))
    assert ((ds.edges.tf == 0) & (ds.edges.target == 1)).any()  # G1 -> G2 is the first gold edge
    adata = ds.expression
    assert adata.shape == (300, 100)
    assert adata.obs["experiment"].value_counts().to_dict() == {"multifactorial": 100, "knockout": 100,
                                                                 "knockdown": 100}
    knockout_g1 = adata[adata.obs_names == "knockout_1"]
    assert knockout_g1.obs["perturbed"].iloc[0] == "G1"
    assert knockout_g1[:, "G1"].X.item() == 0.0  # a knockout silences its gene
    assert adata.var_names.equals(ds.genes)


def test_stone_roy_hesc(shared_root):
    ds = load_dataset("stone-roy/hESC", root=shared_root)
    assert (ds.n_genes, ds.n_tfs, ds.n_edges) == (8595, 220, 2380)
    assert ds.meta["n_truth_edges_raw"] == 12986
    assert ds.meta["n_self_loops_dropped"] == 6
    assert ds.meta["n_outside_universe"] == 12986 - 2380 - 6
    assert np.isin(ds.edges.tf, ds.tf_ids).all()
    assert (ds.edges.tf != ds.edges.target).all()
    assert ds.expression.shape == (385, 8595)
    assert ds.expression.var_names.equals(ds.genes)


def test_stone_roy_mesc_matches_case_insensitively(shared_root):
    ds = load_dataset("stone-roy/mESC", root=shared_root, with_expression=False)
    assert (ds.n_genes, ds.n_tfs, ds.n_edges) == (10243, 334, 3827)
    assert ds.expression is None
    assert ds.genes[0] == "0610007P14Rik"  # mouse symbols keep their case
