"""Dataset ids, dataset families and the dataset table."""
import dataclasses

import pandas as pd
import pytest

from grnlib.data import (FAMILIES, DatasetFamily, DatasetId, describe, is_reserved, known_ids,
                         list_datasets, load_dataset, load_split, parse_id, split_samples)
from grnlib.errors import DataError
from grnlib.data import catalog

SEED_LISTED = ["seed/trrust+dorothea/hESC", "seed/trrust+dorothea/hHEP", "seed/collectri/hESC",
               "seed/collectri/hHEP"]


def test_ids_cover_every_family():
    ids = [str(d) for d in known_ids()]
    assert len(ids) == 44 + 5 + 2 + 4 + 18 * 2 * 3  # subsample: 18 development settings x 2 sizes x 3 draws
    assert ids[0] == "beeline/Specific/hESC/500" and ids[51:55] == SEED_LISTED
    assert {"beeline/Specific/hHEP/500", "beeline/Lofgof/mESC/1000", "dream4/1", "dream4/5",
            "stone-roy/hESC", "stone-roy/mESC", "subsample/STRING/hHEP/500/150-0"} <= set(ids)
    assert {d.family for d in known_ids()} == set(FAMILIES.names()) == {"beeline", "dream4", "stone-roy", "seed",
                                                                        "subsample"}
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
    assert len(table) == 51 + 4 + 108
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
    seeds = table.loc[SEED_LISTED]
    assert seeds.loc["seed/trrust+dorothea/hESC", ["network", "cell", "n_splits"]].tolist() == \
        ["trrust+dorothea", "hESC", 0]
    assert seeds.has_expression.all() and not seeds.reserved.any() and seeds["size"].isna().all()
    assert (seeds.n_edges > 1000).all()


def test_list_datasets_skips_settings_absent_from_a_local_folder(tmp_path):
    assert list_datasets(tmp_path).empty


# -- seed/... ids: a family like the others ------------------------------------------------------

def test_seed_ids_parse_in_one_canonical_form():
    did = parse_id("seed/dorothea+trrust/hESC")  # any order of resources names one dataset
    assert (did.family, did.network, did.cell, did.size) == ("seed", "trrust+dorothea", "hESC", None)
    assert str(did) == "seed/trrust+dorothea/hESC" and not did.reserved
    assert str(parse_id("seed/collectri+trrust+dorothea/none")) == "seed/trrust+dorothea+collectri/none"
    for bad in ("seed/trrust/mESC", "seed/omnipath/hESC", "seed/trrust+trrust/hESC", "seed//hESC"):
        with pytest.raises(DataError, match=r"unknown dataset id.*seed/<resources>/<expression>"):
            parse_id(bad)
    with pytest.raises(DataError, match="unknown dataset id 'seed'"):
        parse_id("seed")


def test_seed_dataset_loads_by_id_with_and_without_expression(shared_root):
    full = load_dataset("seed/trrust+dorothea/hHEP", shared_root)
    assert full.id == "seed/trrust+dorothea/hHEP" and full.has_expression
    assert full.meta["family"] == "seed" and full.meta["resources"] == ["trrust", "dorothea"]
    assert list(full.expression.var_names) == list(full.genes)
    # Without expression only the gene names are read: the same universe, TFs and edges.
    light = load_dataset("seed/trrust+dorothea/hHEP", shared_root, with_expression=False)
    assert light.expression is None
    assert light.genes.equals(full.genes) and (light.tf_ids == full.tf_ids).all()
    pd.testing.assert_frame_equal(light.edges, full.edges)
    row = describe("seed/trrust+dorothea/hHEP", shared_root)
    assert (row["n_genes"], row["n_tfs"], row["n_edges"]) == (full.n_genes, full.n_tfs, full.n_edges)
    # "none": every prior gene, no expression.
    none = load_dataset("seed/collectri/none", shared_root)
    assert none.expression is None and none.n_genes > full.n_genes
    assert describe("seed/collectri/none", shared_root)["has_expression"] is False


def test_seed_ids_have_no_released_splits(shared_root):
    assert split_samples("seed/trrust+dorothea/hESC", shared_root) == []
    with pytest.raises(DataError, match="no released splits.*only BEELINE settings"):
        load_split("seed/trrust+dorothea/hESC", root=shared_root)


def test_cli_datasets_lists_and_filters_the_seed_family(shared_root, capsys):
    import json

    from grnlib import cli

    assert cli.main(["datasets", "--json", "--family", "seed", "--root", str(shared_root)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == SEED_LISTED
    assert cli.main(["datasets", "--family", "nope", "--root", str(shared_root)]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset family 'nope'" in err and "seed" in err


def test_a_new_family_is_one_registered_class(monkeypatch, tmp_path):
    """Registering a family is all it takes for parse_id, known_ids, load_dataset and the table."""
    from grnlib.data import make_toy

    monkeypatch.setattr(catalog, "FAMILIES", catalog.Registry("dataset family", info=catalog.FamilyInfo))
    for name in ("beeline", "dream4"):  # keep two real families beside the new one
        catalog.FAMILIES.register(name, **dataclasses.asdict(FAMILIES.info(name)))(FAMILIES[name])

    @catalog.register_family("toy", title="toy", order=9)
    class ToyFamily(DatasetFamily):
        @classmethod
        def ids(cls):
            return [DatasetId("toy", "planted", str(seed)) for seed in (1, 2)]

        @classmethod
        def format(cls, did):
            return f"toy/{did.cell}"

        @classmethod
        def relpaths(cls, did):
            return {}

        @classmethod
        def has_expression(cls, did, available):
            return True

        @classmethod
        def load(cls, did, folder, downloadable, with_expression, missing_genes):
            return make_toy(seed=int(did.cell), with_expression=with_expression)

    assert [str(d) for d in known_ids(["toy"])] == ["toy/1", "toy/2"]
    ds = load_dataset("toy/2", tmp_path)
    assert ds.id == "toy/2" and ds.meta["family"] == "toy" and ds.has_expression
    table = list_datasets(tmp_path)  # an empty local folder: only the file-less toy family is there
    assert table["id"].tolist() == ["toy/1", "toy/2"] and table["has_expression"].all()
    assert table.loc[0, "n_edges"] == make_toy(seed=1).n_edges
    with pytest.raises(DataError, match="did you mean"):
        parse_id("toy/3")


def test_subsampled_networks_are_seeded_small_and_keep_only_tfs_with_edges(shared_root):
    did = parse_id("subsample/Non-Specific/hHEP/500/150-1")
    assert (did.family, did.network, did.cell, did.size, did.variant) == ("subsample", "Non-Specific", "hHEP", 500,
                                                                           "150-1")
    assert str(did) == "subsample/Non-Specific/hHEP/500/150-1" and not did.reserved
    assert is_reserved("subsample/STRING/mHSC-L/500/150-0")  # a subsample of a reserved set stays reserved
    base = load_dataset("beeline/Non-Specific/hHEP/500", shared_root, with_expression=False)
    small = load_dataset(did, shared_root, with_expression=False)
    again = load_dataset(did, shared_root, with_expression=False)
    other = load_dataset("subsample/Non-Specific/hHEP/500/150-2", shared_root, with_expression=False)
    assert small.n_edges == 150 and small.genes.equals(base.genes)
    assert small.edges.equals(again.edges) and not small.edges.equals(other.edges)  # seeded per draw
    pairs = set(map(tuple, base.edges[["tf", "target"]].to_numpy()))
    assert set(map(tuple, small.edges[["tf", "target"]].to_numpy())) <= pairs
    assert set(small.tf_ids) == set(small.edges["tf"])  # TFs without an edge are dropped
    assert 10 < small.n_tfs < base.n_tfs
    row = describe(did, shared_root)
    assert (row["n_edges"], row["n_splits"], row["has_expression"]) == (150, 0, True)
    with pytest.raises(DataError, match="subsample ids are"):
        parse_id("subsample/STRING/hHEP/500/abc")
    with pytest.raises(DataError, match="cannot subsample"):
        load_dataset("subsample/Non-Specific/hHEP/500/99999-0", shared_root, with_expression=False)
