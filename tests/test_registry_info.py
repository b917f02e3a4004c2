"""What a registry says about its entries is a typed record, checked when an entry registers."""
from dataclasses import FrozenInstanceError, dataclass

import pytest

from grnlib.registry import ConfigError, Registry


@dataclass(frozen=True)
class Info:
    fast: bool
    order: int = 0


def test_records_are_typed_and_checked():
    things = Registry("thing", info=Info)
    things.register("a", fast=True, order=2)(lambda: "a")
    things.register("b", fast=False)(lambda: "b")
    assert things.info("a") == Info(fast=True, order=2) and things.info("b").order == 0
    assert things.where(fast=True) == ["a"]
    with pytest.raises(FrozenInstanceError):
        things.info("a").fast = False
    with pytest.raises(ConfigError, match=r"unknown info key\(s\) \['quick'\] for thing 'c'. Valid keys: fast, order"):
        things.register("c", quick=True)
    with pytest.raises(ConfigError, match="thing 'd'.*fast"):
        things.register("d", order=1)  # a field without a default is required


def test_released_splits_has_one_meaning_per_registry():
    """A protocol reads the released splits; a dataset family ships them."""
    from grnlib.data.catalog import FAMILIES, FamilyInfo
    from grnlib.evaluation.protocols import PROTOCOLS, ProtocolInfo

    assert isinstance(PROTOCOLS.info("released"), ProtocolInfo) and isinstance(FAMILIES.info("beeline"), FamilyInfo)
    assert PROTOCOLS.where(reads_released_splits=True) == ["released"]
    assert FAMILIES.where(ships_splits=True) == ["beeline"]
    assert PROTOCOLS.where(hides_tfs=True) == ["degree-matched", "heldout-tf"]


def test_the_evaluation_registries_declare_their_records():
    from grnlib.evaluation.baselines import BASELINES, ScorerInfo
    from grnlib.evaluation.controls import CONTROLS

    for registry in (BASELINES, CONTROLS):
        assert registry.info_type is ScorerInfo
        assert all(isinstance(registry.info(name), ScorerInfo) for name in registry)
    assert BASELINES.info("degree").needs_expression is False and BASELINES.info("genie3").needs_expression is True
