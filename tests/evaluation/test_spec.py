"""The one run-spec resolver: names and dicts in, complete specs out, bad ones refused by name."""
import pytest

from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.evaluation.presets import PRESETS
from grnlib.evaluation.spec import SPEC_KEYS, check_expression, needs_expression, resolve_spec, resolve_specs
from grnlib.features import DEFAULT_FEATURES


def test_names_resolve_to_baselines_presets_and_models():
    specs = resolve_specs(["degree", "baseline", "expression_two_tower", "degree"], epochs=3, device="cpu")
    assert [(s["name"], s["kind"]) for s in specs] == [("degree", "baseline"), ("baseline", "model"),
                                                       ("expression_two_tower", "model")]
    assert all(set(s) == set(SPEC_KEYS) for s in specs)
    trained = specs[1:]
    assert all(s["train"]["epochs"] == 3 and s["train"]["device"] == "cpu" for s in trained)
    assert specs[2]["features"] == DEFAULT_FEATURES  # bare models that read expression get the default
    assert specs[1]["features"] is None  # the embedding preset reads no expression


def test_resolving_is_idempotent_and_overrides_merge_into_the_preset():
    spec = resolve_spec({"preset": "phase3", "train": {"epochs": 5}, "name": "short"})
    assert spec["name"] == "short" and spec["model"] == PRESETS["phase3"]["model"]
    assert spec["train"]["epochs"] == 5 and spec["train"]["momentum"] == PRESETS["phase3"]["train"]["momentum"]
    assert resolve_spec(spec) == spec
    assert resolve_spec({"model": "phase1", "features": {"n_components": 8}})["features"] == {
        **DEFAULT_FEATURES, "n_components": 8}


def test_epochs_keep_warmup_within_the_run():
    assert resolve_spec("phase3", epochs=8)["train"]["warmup_epochs"] == 1


@pytest.mark.parametrize("run, words", [
    ("no_such_model", ["no_such_model", "genie3", "phase1", "embedding_two_tower"]),
    ({"model": "phase1", "model_cfg": {"depth": 3}}, ["depth", "model_cfg"]),
    ({"model": "phase1", "train": {"checkpoint_dir": "x"}}, ["checkpoint_dir", "run settings"]),
    ({"model": "phase1", "features": {"kind": "umap"}}, ["umap", "features"]),
    ({"model": "phase1", "features": {"kind": "cells", "n_components": 3}}, ["n_components"]),
    ({"model": "phase1", "train": {"lr": -1}}, ["train"]),
    ({"model": "phase1", "colour": "red"}, ["colour"]),
])
def test_bad_specs_name_the_problem(run, words, tmp_path):
    source = tmp_path / "params.yaml"
    with pytest.raises(DataError) as info:
        resolve_spec(run, source=source)
    text = str(info.value)
    assert all(w in text for w in words), text
    if not isinstance(run, str):
        assert str(source) in text


def test_expression_check_names_the_models_that_need_it():
    ds = make_toy(with_expression=False)
    assert needs_expression("phase1") and needs_expression("spearman")
    assert not needs_expression("baseline") and not needs_expression("degree")
    check_expression(ds, ["degree", "baseline"])  # fine
    with pytest.raises(DataError, match="phase1"):
        check_expression(ds, ["degree", "phase1"])
