"""Issue 11's presets: every preset resolves; each `_heldout` twin hides the TF; stacks name
existing members; the `best` candidates are single models, the stacks beside them."""
import pytest

from grnlib.evaluation.presets import BEST_CANDIDATES, BEST_SELECTED, PRESETS, STACK_CANDIDATES
from grnlib.evaluation.spec import resolve_spec


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_resolves(name):
    spec = resolve_spec(name, epochs=2)
    assert spec["name"] == name and spec["kind"] in ("model", "stack")
    if spec["kind"] == "stack":
        assert all(m["kind"] in ("model", "baseline") for m in spec["model_cfg"]["members"])
        assert all(m["train"].get("epochs", 2) == 2 for m in spec["model_cfg"]["members"])


TWINS = sorted(n for n in PRESETS if n.endswith("_heldout") and n[:-len("_heldout")] in PRESETS
               and n not in BEST_SELECTED)  # the aliases are chosen separately, not twins


@pytest.mark.parametrize("name", TWINS)
def test_heldout_twins_hide_the_tf(name):
    spec, twin = resolve_spec(name), resolve_spec(name[:-len("_heldout")])
    if spec["kind"] == "stack":
        hides = [m["model_cfg"].get("hide") for m in spec["model_cfg"]["members"] if m["kind"] == "model"]
        assert "tf" in hides
    else:
        assert spec["model_cfg"]["hide"] == "tf" and twin["model_cfg"].get("hide", "edge") == "edge"


def test_candidates_are_presets_and_aliases_are_single_models():
    for alias, names in BEST_CANDIDATES.items():
        assert all(resolve_spec(n)["kind"] == "model" for n in names), alias  # grnlib train needs one model
        assert all(resolve_spec(n)["kind"] == "stack" for n in STACK_CANDIDATES[alias]), alias
