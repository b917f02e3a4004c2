"""read_expression (CSV/TSV/.gz/.h5ad) and align_expression."""
import gzip
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlib.data import align_expression, read_expression
from grnlib.errors import DataWarning

GENES = ["GATA1", "SPI1", "TAL1"]
CELLS = ["c1", "c2", "c3", "c4"]
VALUES = np.array([[1.0, 0.5, 0.0, 2.0],   # genes x cells
                   [0.0, 3.0, 1.5, 0.1],
                   [0.2, 0.2, 4.0, 0.0]])


def _genes_by_cells_frame():
    return pd.DataFrame(VALUES, index=pd.Index(GENES, name="gene"), columns=CELLS)


def test_csv_genes_as_rows(tmp_path):
    path = tmp_path / "expr.csv"
    _genes_by_cells_frame().to_csv(path)
    adata = read_expression(path)  # auto == rows for text files (BEELINE layout)
    assert adata.shape == (4, 3)
    assert adata.var_names.tolist() == GENES and adata.obs_names.tolist() == CELLS
    assert adata.X.dtype == np.float32
    np.testing.assert_allclose(adata.X, VALUES.T.astype(np.float32))


def test_tsv_gz_genes_as_columns(tmp_path):
    path = tmp_path / "expr.tsv.gz"
    _genes_by_cells_frame().T.to_csv(path, sep="\t")
    adata = read_expression(path, genes_as="columns")
    assert adata.var_names.tolist() == GENES
    np.testing.assert_allclose(adata.X, VALUES.T)


def test_header_without_corner_cell(tmp_path):
    # Stone & Roy files name only the cells in the header row.
    path = tmp_path / "expr.tsv.gz"
    lines = ["\t".join(CELLS)] + ["\t".join([g, *map(str, row)]) for g, row in zip(GENES, VALUES)]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    adata = read_expression(path, genes_as="rows")
    assert adata.obs_names.tolist() == CELLS and adata.var_names.tolist() == GENES
    np.testing.assert_allclose(adata.X, VALUES.T)


def test_h5ad_with_layer_orientation_and_sparse(tmp_path):
    path = tmp_path / "expr.h5ad"
    stored = ad.AnnData(X=sp.csr_matrix(VALUES.T), obs=pd.DataFrame(index=CELLS), var=pd.DataFrame(index=GENES))
    stored.layers["scaled"] = VALUES.T * 10
    stored.write_h5ad(path)
    adata = read_expression(path)
    assert sp.issparse(adata.X) and adata.shape == (4, 3)
    np.testing.assert_allclose(adata.X.toarray(), VALUES.T)
    scaled = read_expression(path, layer="scaled")
    np.testing.assert_allclose(scaled.X, VALUES.T * 10)
    transposed = read_expression(path, genes_as="rows")  # a file stored genes x cells
    assert transposed.var_names.tolist() == CELLS


def test_raw_counts_are_kept_and_log_normalised(tmp_path):
    counts = np.array([[10, 0, 30], [0, 5, 5]], dtype=float)  # cells x genes
    path = tmp_path / "counts.csv"
    pd.DataFrame(counts, index=["a", "b"], columns=GENES).to_csv(path)
    adata = read_expression(path, genes_as="columns", raw_counts=True)
    np.testing.assert_array_equal(adata.layers["counts"], counts)
    expected = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(adata.X, expected, rtol=1e-6)


def test_zero_gene_warns_not_errors(tmp_path):
    frame = _genes_by_cells_frame()
    frame.loc["TAL1"] = 0.0
    path = tmp_path / "expr.csv"
    frame.to_csv(path)
    with pytest.warns(DataWarning, match=r"1 gene\(s\) have zero variance.*1 are zero in every cell.*TAL1"):
        adata = read_expression(path)
    assert adata.shape == (4, 3)


def test_align_reorders_matches_case_and_fills_missing():
    adata = ad.AnnData(X=VALUES.T.astype(np.float32), obs=pd.DataFrame(index=CELLS),
                       var=pd.DataFrame(index=["Gata1", "SPI1", "TAL1"]))
    universe = pd.Index(["TAL1", "GATA1", "MYB"])
    with pytest.warns(DataWarning, match="lacks 1 of 3 genes"):
        aligned = align_expression(adata, universe)
    assert aligned.var_names.tolist() == ["TAL1", "GATA1", "MYB"]
    np.testing.assert_allclose(aligned.X[:, 0], VALUES[2])
    np.testing.assert_allclose(aligned.X[:, 1], VALUES[0])  # Gata1 matched to GATA1
    np.testing.assert_array_equal(aligned.X[:, 2], 0)
    assert aligned.var["measured"].tolist() == [True, True, False]
    assert aligned.uns["alignment"] == {"n_missing_genes": 1, "n_dropped_genes": 1}  # SPI1 not in universe


def test_align_sparse_matches_dense():
    dense = ad.AnnData(X=VALUES.T.astype(np.float32), var=pd.DataFrame(index=GENES))
    sparse = ad.AnnData(X=sp.csr_matrix(VALUES.T.astype(np.float32)), var=pd.DataFrame(index=GENES))
    universe = pd.Index(["SPI1", "GATA1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is missing: no warning
        a, b = align_expression(dense, universe), align_expression(sparse, universe)
    np.testing.assert_allclose(a.X, b.X.toarray())
