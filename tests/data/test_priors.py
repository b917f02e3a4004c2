"""Human literature priors as one tidy table."""
import numpy as np
import pytest

from grnlib.data import COMPLEXES, PRIOR_COLUMNS, load_priors
from grnlib.errors import DataError


@pytest.fixture(scope="module")
def priors(shared_root):
    return load_priors(("trrust", "dorothea", "collectri"), root=shared_root)


def test_columns_and_types(priors):
    assert tuple(priors.columns) == PRIOR_COLUMNS
    assert priors["sign"].dtype == np.int8
    assert set(priors["sign"].unique()) <= {-1, 0, 1}
    assert list(dict.fromkeys(priors["resource"])) == ["trrust", "dorothea", "collectri"]
    assert (priors.source == priors.source.str.strip().str.upper()).all()
    assert (priors.target == priors.target.str.strip().str.upper()).all()
    assert not priors.duplicated(["resource", "source", "target"]).any()
    assert (priors.source != priors.target).all()


def test_trrust_merges_duplicates_and_drops_self_loops(priors):
    report = priors.attrs["report"]["trrust"]
    assert report["rows"] == 9396 and report["self_loops"] == 27
    trrust = priors[priors.resource == "trrust"]
    assert len(trrust) == report["edges"] == 9396 - 27 - report["duplicates_merged"]
    aatf = trrust.set_index(["source", "target"])["sign"]
    assert aatf[("AATF", "BAX")] == -1 and aatf[("AATF", "MYC")] == 1


def test_dorothea_levels_filter(shared_root):
    a_only = load_priors("dorothea", dorothea_levels="A", root=shared_root)
    assert set(a_only["confidence"]) == {"A"}
    assert len(a_only) == 6080
    abc = load_priors("dorothea", dorothea_levels="abc", root=shared_root)
    assert len(abc) == 32275
    with pytest.raises(DataError, match="dorothea_levels='AZ' must be letters from ABCDE"):
        load_priors("dorothea", dorothea_levels="AZ", root=shared_root)


def test_collectri_complexes_dropped_by_default_with_count(priors):
    collectri = priors[priors.resource == "collectri"]
    assert not collectri.source.isin(["AP1", "NFKB"]).any()
    assert priors.attrs["report"]["collectri"]["complex_rows"] == 1395  # 799 NFKB + 596 AP1


def test_collectri_complexes_expand_to_members(shared_root):
    expanded = load_priors("collectri", complexes="expand", root=shared_root)
    kept = load_priors("collectri", complexes="keep", root=shared_root)
    nfkb_targets = set(kept.loc[kept.source == "NFKB", "target"])
    assert len(nfkb_targets) > 100
    for member in COMPLEXES["NFKB"]:
        # every member inherits the complex's targets (its own name excepted: no self-loops)
        assert nfkb_targets - {member} <= set(expanded.loc[expanded.source == member, "target"])
    assert not expanded.source.isin(["AP1", "NFKB"]).any()


def test_unknown_resource(shared_root):
    with pytest.raises(DataError, match=r"unknown prior resource\(s\) \['omnipath'\]"):
        load_priors(("trrust", "omnipath"), root=shared_root)
