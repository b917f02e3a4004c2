"""Every kind of bad input gives a DataError naming the file, the problem and the fix."""
import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from grnlib.data import read_beeline_folder, read_edges, read_expression
from grnlib.errors import DataError, DataWarning
from grnlib.data.beeline import read_split_file

GENES = ["A", "B", "C", "D", "E"]


def write_setting(folder, genes=GENES, tfs=((0, "A"), (1, "B")), edges=((0, 2), (0, 3), (1, 4)),
                  network=None, expression=True):
    """A tiny valid GENELink-layout folder; tests then break one thing."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"Gene": list(genes), "index": range(len(genes))}).to_csv(folder / "Target.csv")
    pd.DataFrame({"TF": [s for _, s in tfs], "index": [i for i, _ in tfs]}).to_csv(folder / "TF.csv")
    pd.DataFrame(list(edges), columns=["TF", "Target"]).to_csv(folder / "Label.csv")
    if network is None:
        network = [(genes[a], genes[b]) for a, b in edges]
    pd.DataFrame(network, columns=["Gene1", "Gene2"]).to_csv(folder / "BL--network.csv", index=False)
    if expression:
        rng = np.random.default_rng(0)
        pd.DataFrame(rng.random((len(genes), 6)) + 0.1, index=list(genes),
                     columns=[f"cell{i}" for i in range(6)]).to_csv(folder / "BL--ExpressionData.csv")
    return folder


def test_valid_tiny_setting_loads(tmp_path):
    ds = read_beeline_folder(write_setting(tmp_path / "ok"))
    assert (ds.n_genes, ds.n_tfs, ds.n_edges) == (5, 2, 3)
    assert ds.expression.shape == (6, 5)


def test_missing_file(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "Label.csv").unlink()
    with pytest.raises(DataError, match=r"Label\.csv: file not found.*Fix: check the folder"):
        read_beeline_folder(folder)


def test_missing_column(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "Label.csv").write_text(",Source,Target\n0,0,2\n")
    with pytest.raises(DataError, match=r"Label\.csv: label file .* missing column\(s\) \['TF'\].*Fix: rename"):
        read_beeline_folder(folder)


def test_empty_file(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "TF.csv").write_text("")
    with pytest.raises(DataError, match=r"TF\.csv: TF list \(TF\.csv\) is empty"):
        read_beeline_folder(folder)


def test_header_only_label_file(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "Label.csv").write_text(",TF,Target\n")
    with pytest.raises(DataError, match="has a header but no data rows"):
        read_beeline_folder(folder)


def test_empty_label_set_after_self_loops(tmp_path):
    folder = write_setting(tmp_path / "s", edges=((0, 0), (1, 1)), network=[])
    with pytest.warns(DataWarning, match=r"dropped 2 self-loop"), \
            pytest.raises(DataError, match="the label set is empty"):
        read_beeline_folder(folder)


def test_wrong_delimiter(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "Label.csv").write_text("\tTF\tTarget\n0\t0\t2\n")
    with pytest.raises(DataError, match=r"looks tab-separated but comma-separated text was expected.*Fix: save it"):
        read_beeline_folder(folder)


def test_duplicate_gene_names(tmp_path):
    folder = write_setting(tmp_path / "s", genes=["A", "B", "C", "C", "E"])
    with pytest.raises(DataError, match=r"Target\.csv: .* 1 duplicated gene name\(s\), e\.g\. \['C'\]"):
        read_beeline_folder(folder)


def test_gene_ids_not_0_to_n(tmp_path):
    folder = write_setting(tmp_path / "s")
    pd.DataFrame({"Gene": GENES, "index": [0, 1, 2, 3, 7]}).to_csv(folder / "Target.csv")
    with pytest.raises(DataError, match=r"must number the genes 0\.\.4 exactly once"):
        read_beeline_folder(folder)


def test_edge_outside_universe(tmp_path):
    folder = write_setting(tmp_path / "s", edges=((0, 2), (1, 9)), network=[("A", "C"), ("B", "C")])
    with pytest.raises(DataError, match=r"outside the gene universe 0\.\.4: 1 row\(s\), first target=9"):
        read_beeline_folder(folder)


def test_mismatched_id_spaces_tf_file(tmp_path):
    folder = write_setting(tmp_path / "s", tfs=((0, "A"), (2, "B")))
    with pytest.raises(DataError, match=r"TF\.csv: .*'B' has id 2 = 'C' \(mismatched id spaces\)"):
        read_beeline_folder(folder)


def test_mismatched_id_spaces_network_file(tmp_path):
    folder = write_setting(tmp_path / "s", network=[("A", "C"), ("A", "D"), ("B", "D")])  # B->E renamed
    with pytest.raises(DataError, match=r"BL--network\.csv: symbol edges and Label\.csv id edges disagree: "
                                        r"1 only here, 1 only in Label\.csv"):
        read_beeline_folder(folder)


def test_duplicate_label_edges(tmp_path):
    folder = write_setting(tmp_path / "s", edges=((0, 2), (0, 2), (1, 4)))
    with pytest.raises(DataError, match=r"1 duplicated edge\(s\), e\.g\. 0->2"):
        read_beeline_folder(folder)


def test_non_integer_ids(tmp_path):
    folder = write_setting(tmp_path / "s")
    (folder / "Label.csv").write_text(",TF,Target\n0,0,C\n")
    with pytest.raises(DataError, match=r"column 'target' must hold integer gene ids; data row 1 has 'C'"):
        read_beeline_folder(folder)


def test_expression_nan_and_inf(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_text(",c1,c2\nA,1.0,\nB,2.0,3.0\n")
    with pytest.raises(DataError, match=r"expr\.csv: expression matrix has 1 NaN and 0 infinite value\(s\), "
                                        r"first at cell 'c2', gene 'A'.*Fix: impute"):
        read_expression(path)
    path.write_text(",c1,c2\nA,1.0,inf\nB,2.0,3.0\n")
    with pytest.raises(DataError, match=r"0 NaN and 1 infinite"):
        read_expression(path)


def test_expression_duplicate_genes(tmp_path):
    path = tmp_path / "expr.tsv"
    path.write_text("\tc1\tc2\nA\t1\t2\nA\t3\t4\n")
    with pytest.raises(DataError, match=r"expression matrix has 1 duplicated gene name\(s\), e\.g\. \['A'\]"):
        read_expression(path)


def test_expression_non_numeric(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_text(",c1,c2\nA,1.0,high\nB,2.0,3.0\n")
    with pytest.raises(DataError, match=r"non-numeric value 'high' in column 'c2', row 'A'"):
        read_expression(path)


def test_negative_values_with_raw_counts(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(",c1,c2\nA,1,-2\nB,2,3\n")
    with pytest.raises(DataError, match=r"raw_counts=True but the matrix has 1 negative value\(s\), first at "
                                        r"cell 'c2', gene 'A'.*Fix: pass raw_counts=False"):
        read_expression(path, raw_counts=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log data may be negative: no complaint without raw_counts
        assert read_expression(path).shape == (2, 2)


def test_expression_single_column_wrong_delimiter(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_text("gene;c1;c2\nA;1;2\n")
    with pytest.raises(DataError, match="looks semicolon-separated"):
        read_expression(path)


def test_h5ad_missing_layer_and_unsupported_type(tmp_path):
    import anndata as ad

    path = tmp_path / "x.h5ad"
    ad.AnnData(X=np.ones((2, 2), dtype=np.float32)).write_h5ad(path)
    with pytest.raises(DataError, match=r"layer 'counts' not found; layers are \[\]"):
        read_expression(path, layer="counts")
    other = tmp_path / "x.xlsx"
    other.write_text("nope")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'"):
        read_expression(other)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "expr.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(",c1\nA,1\n" * 200)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="cannot be read"):
        read_expression(path)


def test_split_labels_must_be_binary(tmp_path):
    path = tmp_path / "Test_set.csv"
    path.write_text(",TF,Target,Label\n0,0,2,1\n1,0,3,2\n")
    with pytest.raises(DataError, match=r"Label must be 0 or 1; found \[2\]"):
        read_split_file(path, n_genes=5)


def test_edge_file_missing_target_column(tmp_path):
    path = tmp_path / "prior.csv"
    path.write_text("source,weight\nA,1\n")
    with pytest.raises(DataError, match=r"prior\.csv: edge file is missing column\(s\) \['target'\].*Fix: name"):
        read_edges(path)


def test_edge_file_missing_value(tmp_path):
    path = tmp_path / "prior.csv"
    path.write_text("source,target\nA,B\n,C\n")
    with pytest.raises(DataError, match=r"1 missing value\(s\) in column 'source' \(first at data row 2\)"):
        read_edges(path)


def test_headerless_gold_standard_with_wrong_delimiter(tmp_path):
    from grnlib.data import read_stone_roy

    (tmp_path / "genes.tsv").write_text("A\nB\nC\n")
    (tmp_path / "tfs.tsv").write_text("A\n")
    (tmp_path / "truth.tsv").write_text("A,B\nA,C\n")
    with pytest.raises(DataError, match=r"truth\.tsv: gold standard looks comma-separated but tab-separated"):
        read_stone_roy(tmp_path / "genes.tsv", tmp_path / "tfs.tsv", tmp_path / "truth.tsv")
    (tmp_path / "truth.tsv").write_text("A\tB\nA\tC\nA\tA\nZ\tB\n")
    ds = read_stone_roy(tmp_path / "genes.tsv", tmp_path / "tfs.tsv", tmp_path / "truth.tsv")
    assert ds.n_edges == 2 and ds.meta["n_self_loops_dropped"] == 1 and ds.meta["n_outside_universe"] == 1


# -- issue 14: what the readers say about the inputs a new user hit ------------------------------

def _problem(exc_info) -> str:
    """The message without the path, to compare formats."""
    return str(exc_info.value).split(": ", 1)[1]


def test_duplicate_cell_names_are_refused_alike_in_csv_and_h5ad(tmp_path):
    import anndata as ad

    frame = pd.DataFrame(np.arange(12.0).reshape(3, 4), index=["G1", "G2", "G3"], columns=["A10", "A11", "A10", "B1"])
    frame.to_csv(tmp_path / "e.csv")  # pandas would read the second A10 as "A10.1"
    with pytest.raises(DataError, match=r"e\.csv: expression matrix has 1 duplicated cell name\(s\)") as csv_error:
        read_expression(tmp_path / "e.csv")
    with pytest.warns(UserWarning):
        ad.AnnData(frame.T.astype(np.float32)).write_h5ad(tmp_path / "e.h5ad")
    with pytest.raises(DataError) as h5ad_error:
        read_expression(tmp_path / "e.h5ad")
    assert _problem(csv_error) == _problem(h5ad_error) == (
        "expression matrix has 1 duplicated cell name(s), e.g. ['A10']. Fix: make cell names unique")
    frame.T.to_csv(tmp_path / "cells.csv")  # the same cells as rows: pandas never renamed those
    with pytest.raises(DataError) as rows_error:
        read_expression(tmp_path / "cells.csv", genes_as="columns")
    assert _problem(rows_error) == _problem(csv_error)


def test_duplicate_header_of_an_edge_file_is_refused(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target,target\nA,B,C\n")
    with pytest.raises(DataError, match=r"edges\.csv: edge file has 1 duplicated column name\(s\), e\.g\. \['target'\]"):
        read_edges(tmp_path / "edges.csv")


def test_trailing_empty_columns_are_named_not_called_missing_values(tmp_path):
    (tmp_path / "e.csv").write_text(",c1,c2,c3,,\nG1,1,2,3,,\nG2,4,5,7,,\n")
    with pytest.raises(DataError, match=r"e\.csv: expression matrix column 5 is empty .*Fix: delete the empty column"):
        read_expression(tmp_path / "e.csv")


def test_gene_called_NA_keeps_its_name(tmp_path):
    (tmp_path / "e.csv").write_text(",c1,c2,c3\nNA,1,2,3\nnull,4,5,7\nG3,1,1,2\n")
    assert list(read_expression(tmp_path / "e.csv").var_names) == ["NA", "null", "G3"]
    (tmp_path / "e2.csv").write_text(",c1,c2,c3\nNA,1,2,3\n,4,5,7\n")
    with pytest.raises(DataError, match="empty gene name at data row 2"):  # a truly empty name stays an error
        read_expression(tmp_path / "e2.csv")
    (tmp_path / "e3.csv").write_text(",c1,c2,c3\nNA,1,NA,3\nG2,4,5,7\n")  # NA as a value is still missing
    with pytest.raises(DataError, match="1 NaN and 0 infinite"):
        read_expression(tmp_path / "e3.csv")


def test_values_beyond_float32_are_reported_as_overflow(tmp_path):
    (tmp_path / "e.csv").write_text(",c1,c2\nG1,1,1e300\nG2,4,5\n")
    with pytest.raises(DataError, match=r"1 value\(s\) that overflow float32 .*first 1e\+300 at cell 'c2', gene 'G1'"):
        read_expression(tmp_path / "e.csv")
    (tmp_path / "ok.csv").write_text(",c1,c2\nG1,1,3e38\nG2,4,5\n")  # the largest float32 still fits
    assert np.isfinite(read_expression(tmp_path / "ok.csv").X).all()


@pytest.mark.parametrize("sparse", [False, True])
def test_values_beyond_float32_in_h5ad_are_reported_as_overflow(sparse, tmp_path):
    import anndata as ad
    import scipy.sparse as sp

    x = np.ones((4, 3))
    x[2, 1] = -1e300
    ad.AnnData(sp.csr_matrix(x) if sparse else x, obs=pd.DataFrame(index=["a", "b", "c", "d"]),
               var=pd.DataFrame(index=["G1", "G2", "G3"])).write_h5ad(tmp_path / "e.h5ad")
    with warnings.catch_warnings(record=True) as caught, pytest.raises(DataError, match=r"e\.h5ad: expression matrix has 1 value\(s\) that "
                                                  r"overflow float32 .*first -1e\+300 at cell 'c', gene 'G2'"):
        warnings.simplefilter("always")
        read_expression(tmp_path / "e.h5ad")
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # no raw "overflow in cast"


def test_spreadsheet_damaged_and_case_only_gene_names_are_recognised():
    from grnlib.data.symbols import case_only_duplicates, excel_damaged

    names = ["1-Mar", "2-Sep", "Sep-02", "1-DEC", "2023-03-01", "3/1/2023", "2.31E+13", "MARCH1", "SEPT2",
             "G0001", "Mar1", "H2AZ1", "C1orf112"]
    assert excel_damaged(names) == ["1-Mar", "2-Sep", "Sep-02", "1-DEC", "2023-03-01", "3/1/2023", "2.31E+13"]
    assert case_only_duplicates(["ARID2", "TP53", "Arid2", "arid2", "Tp53x"]) == [["ARID2", "Arid2", "arid2"]]
    assert case_only_duplicates(["ARID2", "ARID2"]) == []  # exact duplicates are another error


def test_degenerate_matrices_are_refused_for_training():
    import anndata as ad
    import scipy.sparse as sp

    from grnlib.user.reading import check_trainable_expression, varying_genes

    rng = np.random.default_rng(0)
    x = rng.random((50, 6)).astype(np.float32)
    x[:, 1], x[:, 2] = 5.0, 0.0
    x[:, 3] = np.float32(7.0) + np.float32(4e-7) * (np.arange(50) % 2)  # float32 rounding only
    expected = [True, False, False, False, True, True]
    assert varying_genes(x).tolist() == varying_genes(sp.csr_matrix(x)).tolist() == expected
    check_trainable_expression(ad.AnnData(x))
    with pytest.raises(DataError, match=r"e\.csv: expression matrix has 1 cell\(s\); training needs at least 3"):
        check_trainable_expression(ad.AnnData(x[:1]), "e.csv")
    with pytest.raises(DataError, match=r"has 1 of 3 gene\(s\) whose values vary across its 50 cells"):
        check_trainable_expression(ad.AnnData(sp.csr_matrix(x[:, :3])))
