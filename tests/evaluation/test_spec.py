"""The one run-spec resolver: names and dicts in, complete specs out, bad ones refused by name."""
import pytest

from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.evaluation.presets import PRESETS
from grnlib.evaluation.spec import SPEC_KEYS, check_expression, needs_expression, resolve_spec, resolve_specs
from grnlib.features import DEFAULT_FEATURES


def test_names_resolve_to_baselines_presets_and_models():
    specs = resolve_specs(["degree", "baseline", "expression_two_tower", "degree"], epochs=3)
    assert [(s["name"], s["kind"]) for s in specs] == [("degree", "baseline"), ("baseline", "model"),
                                                       ("expression_two_tower", "model")]
    assert all(set(s) == set(SPEC_KEYS) for s in specs)
    trained = specs[1:]
    assert all(s.train["epochs"] == 3 and "device" not in s.train for s in trained)  # a run setting: Runtime
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


# -- a typed spec, resolved once (issue 22) --------------------------------------------------------
def test_a_run_spec_is_frozen_plain_data_and_its_key_is_its_science():
    import dataclasses
    import json

    from grnlib.evaluation.spec import RunSpec, preset

    spec = preset("phase3", epochs=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"
    with pytest.raises(TypeError):
        spec["train"] = {}
    assert isinstance(spec, RunSpec) and resolve_spec(spec) is spec  # never resolved again
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.replace(name="renamed").key() == spec.key()  # the name is not science
    assert preset("phase3", epochs=5).key() != spec.key()
    from grnlib.evaluation.spec import DEGREE_FLOOR

    assert resolve_spec("degree") == DEGREE_FLOOR  # the pipeline's default floor is the resolved name
    stack = resolve_spec("stack", epochs=2)
    assert [m.name for m in stack.members] == PRESETS["stack"]["stack"]
    assert resolve_spec(stack.to_dict()) == stack


def test_run_settings_are_a_runtime_never_a_spec():
    from grnlib.evaluation.spec import RUNTIME_TRAIN_KEYS, Runtime

    assert set(Runtime().train_settings()) <= set(RUNTIME_TRAIN_KEYS)
    for key in RUNTIME_TRAIN_KEYS:
        with pytest.raises(DataError, match="run settings"):
            resolve_spec({"model": "phase1", "train": {key: None}})


def test_presets_are_data_and_import_nothing_of_the_resolver():
    import ast
    import inspect

    import grnlib.evaluation.presets as presets

    imported = {node.module for node in ast.walk(ast.parse(inspect.getsource(presets)))
                if isinstance(node, ast.ImportFrom)}
    assert "grnlib.evaluation.spec" not in imported and not hasattr(presets, "preset")


def test_evaluate_split_takes_specs_as_they_are(monkeypatch):
    """Resolved once where input enters: the pipeline never resolves a RunSpec again."""
    import grnlib.evaluation.spec as spec_module
    from grnlib.evaluation.experiment import evaluate_split
    from grnlib.evaluation.protocols import make_split
    from grnlib.evaluation.spec import Runtime

    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    ds = make_toy(n_genes=60, n_tfs=8, n_cells=30, seed=0)
    specs = resolve_specs(["degree", {"preset": "baseline", "train": {"epochs": 1}}])

    def refuse(*args, **kwargs):
        raise AssertionError("resolved again")

    monkeypatch.setattr(spec_module, "resolve_spec", refuse)
    evaluation = evaluate_split(ds, make_split(ds, "seed", seed=0), specs, Runtime(seed=0), baselines=())
    assert list(evaluation.metrics["name"]) == ["degree", "baseline"]


def test_grnlib_train_resolves_the_model_once(tmp_path, monkeypatch, resolved):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
    from cli_helpers import train_argv, write_toy

    from grnlib import cli

    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    files = write_toy(tmp_path / "toy")
    assert cli.main(train_argv(files, tmp_path / "model", extra=["--device", "cpu"])) == 0
    assert len(resolved) == 1 and resolved[0]["model"] == "expression_two_tower", resolved
