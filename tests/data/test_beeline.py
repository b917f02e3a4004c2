"""BEELINE loaders and released splits on the real shared data."""
import gzip
import os
import sys

import numpy as np
import pandas as pd
import pytest

from grnlib.data import PAIR_COLUMNS, load_dataset, load_split, split_samples
from grnlib.errors import DataError, DataWarning

HHEP = "beeline/Specific/hHEP/500"


@pytest.fixture(scope="module")
def hhep(shared_root):
    return load_dataset(HHEP, root=shared_root)


def test_hhep_counts_match_the_files(hhep, shared_root):
    assert (hhep.n_genes, hhep.n_tfs, hhep.n_edges) == (948, 448, 9939)
    # Independent count straight from the file: data rows of Label.csv.
    with gzip.open(shared_root / "beeline/Specific/hHEP/TFs+500/Label.csv.gz", "rt") as handle:
        assert sum(1 for _ in handle) - 1 == 9939
    assert hhep.meta["reserved"] is False and hhep.meta["symbols_checked"] is True


def test_hhep_ids_symbols_and_edges(hhep):
    assert hhep.genes[:3].tolist() == ["CPSF3", "LGALS3", "PPARA"]  # Target.csv order (index 0, 1, 2)
    assert hhep.genes.is_unique
    assert hhep.tf_ids.dtype == np.int64 and np.all(np.diff(hhep.tf_ids) > 0)
    assert hhep.genes[2] == "PPARA" and 2 in hhep.tf_ids  # TF.csv: PPARA has index 2
    assert list(hhep.edges.columns) == ["tf", "target"]
    assert hhep.edges.dtypes.tolist() == [np.int64, np.int64]
    assert np.isin(hhep.edges["tf"], hhep.tf_ids).all()
    assert not hhep.edges.duplicated().any()
    # First edge of Label.csv (439 -> 457) is there, by id and by symbol.
    assert ((hhep.edges.tf == 439) & (hhep.edges.target == 457)).any()
    assert ("ARID2", "CBX3") in set(zip(*hhep.symbols(hhep.edges)[["tf_symbol", "target_symbol"]].T.values))


def test_hhep_expression_is_aligned_cells_by_genes(hhep, shared_root):
    adata = hhep.expression
    assert adata.shape == (425, 948)
    assert adata.var_names.equals(hhep.genes)
    assert adata.var["measured"].all()
    raw = pd.read_csv(shared_root / "beeline/Specific/hHEP/TFs+500/BL--ExpressionData.csv.gz", index_col=0)
    np.testing.assert_allclose(adata[:, "LGALS3"].X.ravel(), raw.loc["LGALS3"].to_numpy(), rtol=1e-6)
    matrix = hhep.expression_matrix()
    assert matrix.shape == (948, 425) and matrix.dtype == np.float32


def test_setting_without_expression_loads_labels_only(shared_root):
    ds = load_dataset("beeline/Specific/hESC/500", root=shared_root)
    assert ds.expression is None
    assert (ds.n_genes, ds.n_tfs, ds.n_edges) == (910, 410, 4545)


def test_lofgof_borrows_mesc_expression(shared_root):
    ds = load_dataset("beeline/Lofgof/mESC/500", root=shared_root)
    assert ds.meta["reserved"] is True
    assert ds.meta["expression_from"] == "beeline/Specific/mESC/TFs+500/BL--ExpressionData.csv.gz"
    assert ds.expression.shape == (421, 1120)
    assert ds.expression.var["measured"].all()
    mesc = load_dataset("beeline/Specific/mESC/500", root=shared_root)
    gene = ds.genes[0]
    np.testing.assert_array_equal(ds.expression[:, gene].X, mesc.expression[:, gene].X)


def test_lofgof_1000_missing_genes_are_zero_filled_or_refused(shared_root):
    with pytest.warns(DataWarning, match="lacks 500 of 1620 genes"):
        ds = load_dataset("beeline/Lofgof/mESC/1000", root=shared_root)
    assert ds.expression.shape == (421, 1620)
    unmeasured = ~ds.expression.var["measured"].to_numpy()
    assert unmeasured.sum() == 500
    assert np.all(ds.expression.X[:, unmeasured] == 0)
    with pytest.raises(DataError, match="expression lacks 500 of 1620 genes.*missing_genes='zeros'"):
        load_dataset("beeline/Lofgof/mESC/1000", root=shared_root, missing_genes="raise")


def test_released_split_pair_tables(shared_root, hhep):
    assert split_samples(HHEP, shared_root) == [1, 2, 3, 4, 5]
    split = load_split(HHEP, sample=1, root=shared_root)
    assert set(split) == {"train", "val", "test"}
    sizes = {part: len(table) for part, table in split.items()}
    assert sizes == {"train": 19002, "val": 2845, "test": 6563}
    for table in split.values():
        assert tuple(table.columns) == PAIR_COLUMNS
        assert all(dtype == np.int64 for dtype in table.dtypes)
        assert set(table["label"].unique()) == {0, 1}
        assert table[["tf", "target"]].to_numpy().max() < hhep.n_genes
    # Split positives are known edges of the same id space.
    known = set(zip(hhep.edges.tf, hhep.edges.target))
    positives = split["train"][split["train"].label == 1]
    assert all(pair in known for pair in zip(positives.tf, positives.target))


def test_split_errors_name_what_exists(shared_root):
    with pytest.raises(DataError, match=r"no released split sample 7; it has samples \[1, 2, 3, 4, 5\]"):
        load_split(HHEP, sample=7, root=shared_root)
    with pytest.raises(DataError, match="no released splits"):
        load_split("beeline/Specific/hESC/500", root=shared_root)
    with pytest.raises(DataError, match="only BEELINE settings"):
        load_split("dream4/1", root=shared_root)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/fd")
def test_loaders_close_their_files(shared_root):
    load_dataset(HHEP, root=shared_root)  # warm imports
    before = len(os.listdir("/proc/self/fd"))
    load_dataset(HHEP, root=shared_root)
    load_split(HHEP, root=shared_root)
    assert len(os.listdir("/proc/self/fd")) == before
