"""Dataset ids and the dataset table."""
import pytest

from grnlib.data import DataError, is_reserved, known_ids, list_datasets, parse_id


def test_ids_cover_every_family():
    ids = [str(d) for d in known_ids()]
    assert len(ids) == 44 + 5 + 2
    assert ids[0] == "beeline/Specific/hESC/500"
    assert {"beeline/Specific/hHEP/500", "beeline/Lofgof/mESC/1000", "dream4/1", "dream4/5",
            "stone-roy/hESC", "stone-roy/mESC"} <= set(ids)
    assert len(ids) == len(set(ids))


def test_parse_id_round_trip_and_suggestions():
    did = parse_id("beeline/Non-Specific/mDC/1000")
    assert (did.family, did.network, did.cell, did.size) == ("beeline", "Non-Specific", "mDC", 1000)
    assert str(did) == "beeline/Non-Specific/mDC/1000"
    with pytest.raises(DataError, match=r"unknown dataset id 'beeline/Specific/hHEP/50'.*did you mean"):
        parse_id("beeline/Specific/hHEP/50")
    with pytest.raises(DataError, match="unknown dataset id"):
        parse_id("dream4/6")


@pytest.mark.parametrize("id_, reserved", [("beeline/Specific/mHSC-L/500", True),
                                           ("beeline/STRING/mHSC-L/1000", True),
                                           ("beeline/Lofgof/mESC/500", True),
                                           ("beeline/Specific/mHSC-GM/500", False),
                                           ("dream4/1", False)])
def test_reserved_sets(id_, reserved):
    assert is_reserved(id_) is reserved


def test_list_datasets_counts(shared_root):
    table = list_datasets(shared_root).set_index("id")
    assert len(table) == 51
    assert table.loc["beeline/Specific/hHEP/500", ["n_genes", "n_tfs", "n_edges", "n_splits"]].tolist() == \
        [948, 448, 9939, 5]
    assert bool(table.loc["beeline/Specific/hHEP/500", "has_expression"])
    assert not table.loc["beeline/Specific/hESC/1000", "has_expression"]
    assert table.loc["beeline/Specific/mESC/1000", "n_edges"] == 42795
    assert table.loc["beeline/Lofgof/mESC/500", "has_expression"]  # borrowed from Specific/mESC/500
    assert table.loc["dream4/2", ["n_genes", "n_tfs", "n_edges"]].tolist() == [100, 36, 249]
    assert table.loc["stone-roy/hESC", ["n_genes", "n_tfs", "n_edges"]].tolist() == [8595, 220, 2380]
    # Released splits exist exactly where expression does (Lofgof excepted: it has none).
    beeline = table[table.family == "beeline"]
    with_splits = beeline.n_splits > 0
    assert (with_splits == (beeline.has_expression & (beeline.network != "Lofgof"))).all()
    assert set(table.index[table.reserved]) == {i for i in table.index if "mHSC-L" in i or "Lofgof" in i}


def test_list_datasets_skips_settings_absent_from_a_local_folder(tmp_path):
    assert list_datasets(tmp_path).empty
