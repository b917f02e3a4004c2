"""User edge files and datasets built from them."""
import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnlib.data import dataset_from_edges, read_edges
from grnlib.errors import DataError, DataWarning


def test_read_edges_with_aliases_signs_and_weights(tmp_path):
    path = tmp_path / "prior.tsv"
    path.write_text("TF\tTarget\tMode\tWeight\n GATA1 \tKLF1\tActivation\t0.5\nSPI1\tGATA1\t-1\t2\n"
                    "Tal1\tGATA1\tunknown\t1\n")
    edges = read_edges(path)
    assert edges.columns.tolist() == ["source", "target", "sign", "weight"]
    assert edges["source"].tolist() == ["GATA1", "SPI1", "Tal1"]  # stripped, case kept
    assert edges["sign"].tolist() == [1, -1, 0] and edges["sign"].dtype == np.int8
    assert edges["weight"].tolist() == [0.5, 2.0, 1.0]


def test_read_edges_drops_self_loops_and_duplicates_with_counts(tmp_path):
    path = tmp_path / "prior.csv"
    path.write_text("source,target\nA,B\nA,A\nA,B\nB,C\n")
    with pytest.warns(DataWarning, match=r"dropped 1 self-loop\(s\) and 1 duplicated edge\(s\)"):
        edges = read_edges(path)
    assert list(zip(edges.source, edges.target)) == [("A", "B"), ("B", "C")]
    assert edges.attrs["report"] == {"rows": 4, "self_loops": 1, "duplicates": 1}


def test_bad_sign_is_refused(tmp_path):
    path = tmp_path / "prior.csv"
    path.write_text("source,target,sign\nA,B,2\n")
    with pytest.raises(DataError, match=r"column 'sign' must be -1, 0, 1.*data row 1 has 2"):
        read_edges(path)


def test_dataset_from_edges_without_and_with_expression():
    edges = pd.DataFrame({"source": ["GATA1", "GATA1", "SPI1", "SPI1"],
                          "target": ["KLF1", "TAL1", "gata1", "MISSING"]})
    ds = dataset_from_edges(edges.iloc[:2], id="mini")
    assert ds.genes.tolist() == ["GATA1", "KLF1", "TAL1"]
    assert ds.tf_ids.tolist() == [0] and ds.n_edges == 2
    expression = ad.AnnData(X=np.ones((5, 4), dtype=np.float32),
                            var=pd.DataFrame(index=["TAL1", "SPI1", "GATA1", "KLF1"]))
    with pytest.warns(DataWarning, match=r"dropped 1 of 4 edge\(s\)"):
        ds = dataset_from_edges(edges, expression=expression)
    assert ds.genes.tolist() == ["TAL1", "SPI1", "GATA1", "KLF1"]  # expression order
    pairs = set(zip(ds.genes[ds.edges.tf], ds.genes[ds.edges.target]))
    assert pairs == {("GATA1", "KLF1"), ("GATA1", "TAL1"), ("SPI1", "GATA1")}  # "gata1" matched
    assert ds.genes[ds.tf_ids].tolist() == ["SPI1", "GATA1"]
    assert ds.meta["n_outside_expression"] == 1
