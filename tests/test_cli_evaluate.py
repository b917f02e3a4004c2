"""`grnlib evaluate`: the JSON it writes, and its errors for unknown names (tiny real setting)."""
import json
import os

import pytest

from grnlib.cli import main

SMALL = "beeline/STRING/mHSC-GM/500"  # 632 genes, 748 edges: seconds per split


def _data_available() -> bool:
    try:
        from grnlib.data import list_datasets

        table = list_datasets()
        return SMALL in set(table["id"]) and "beeline/Specific/hESC/500" in set(table["id"])
    except Exception:  # no data root on this machine
        return False


needs_data = pytest.mark.skipif(not _data_available(), reason="BEELINE data not available")


@needs_data
def test_evaluate_writes_every_metric_per_model_seed_and_fold(tmp_path, capsys):
    out = tmp_path / "eval" / "small.json"
    code = main(["evaluate", "--dataset", SMALL, "--protocol", "heldout-tf", "--models",
                 "degree,random,embedding_two_tower", "--seeds", "0,1", "--folds", "0,1", "--epochs", "1",
                 "--device", "cpu", "--out", str(out), "--quiet"])
    assert code == 0
    assert capsys.readouterr().err == ""  # --quiet
    payload = json.loads(out.read_text())
    assert payload["config"]["dataset"] == SMALL and payload["config"]["protocol"] == "heldout-tf"
    assert payload["config"]["models"] == ["degree", "random", "embedding_two_tower"]
    trained = [s for s in payload["config"]["specs"] if s["kind"] == "model"]
    assert [s["name"] for s in trained] == ["embedding_two_tower"] and trained[0]["train"]["epochs"] == 1
    records = payload["results"]
    assert len(records) == 3 * 2 * 2
    assert {(r["model"], r["seed"], r["fold"]) for r in records} == {
        (m, s, f) for m in ("degree", "random", "embedding_two_tower") for s in (0, 1) for f in (0, 1)}
    required = {"model", "seed", "fold", "split", "auroc", "auprc", "n_test", "pos_rate", "accuracy", "f1", "mcc",
                "auprc_ratio", "early_precision", "per_tf_auroc", "n"}
    for record in records:
        assert required <= set(record), required - set(record)
        assert record["split"] == "test" and 0 <= record["auroc"] <= 1 and record["n_test"] == record["n"]
    # All scorers of one split are scored on the same test pairs.
    by_split = {}
    for record in records:
        by_split.setdefault((record["seed"], record["fold"]), set()).add((record["n_test"], record["pos_rate"]))
    assert all(len(v) == 1 for v in by_split.values())
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temp file left behind


@pytest.mark.parametrize("option, value, expected", [
    ("--models", "degree,nonexistent_model", ["nonexistent_model", "genie3", "phase1", "embedding_two_tower"]),
    ("--protocol", "leaky", ["leaky", "degree-matched", "heldout-tf", "released"]),
    ("--dataset", "beeline/Specific/hHEP/5000", ["hHEP/5000", "did you mean"]),
])
def test_unknown_names_fail_listing_valid_ones(tmp_path, capsys, option, value, expected):
    args = {"--dataset": SMALL, "--protocol": "seed", "--models": "degree"}
    args[option] = value
    out = tmp_path / "x.json"
    argv = ["evaluate", "--out", str(out), "--quiet"] + [v for pair in args.items() for v in pair]
    if option == "--dataset" or _data_available():
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("grnlib evaluate: error:") and len(err.strip().splitlines()) == 1
        for text in expected:
            assert text in err
        assert not out.exists()


@needs_data
def test_expression_models_on_a_dataset_without_expression_fail_clearly(tmp_path, capsys):
    out = tmp_path / "x.json"
    code = main(["evaluate", "--dataset", "beeline/Specific/hESC/500", "--protocol", "seed",
                 "--models", "degree,phase1,spearman", "--out", str(out), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "no expression" in err and "['phase1', 'spearman']" in err  # only the scorers that need it
    assert not out.exists()


@needs_data
def test_a_repeat_evaluation_is_served_from_the_run_cache_unless_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRNLIB_RUN_CACHE", str(tmp_path / "runs"))
    monkeypatch.delenv("GRNLIB_NO_CACHE", raising=False)
    argv = ["evaluate", "--dataset", SMALL, "--protocol", "seed", "--models", "degree,embedding_two_tower",
            "--seeds", "0", "--epochs", "1", "--device", "cpu", "--quiet"]
    runs = []
    for name, extra in (("first", []), ("second", []), ("fresh", ["--no-cache"])):
        assert main([*argv, "--out", str(tmp_path / f"{name}.json"), *extra]) == 0
        runs.append(json.loads((tmp_path / f"{name}.json").read_text())["results"])
    assert [[r["cached"] for r in records] for records in runs] == [[False, False], [True, True], [False, False]]
    assert "GRNLIB_NO_CACHE" not in os.environ  # --no-cache in-process leaves the cache on for what follows
    # a fresh multi-threaded rerun may round the validation logits (and so the threshold) in the last bits
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("cached", "seconds", "threshold")}  # noqa: E731
                             for r in records]
    assert runs[0] == [{**r, "cached": False} for r in runs[1]] and strip(runs[0]) == strip(runs[2])


@needs_data
def test_evaluate_resolves_each_name_once(tmp_path, monkeypatch, resolved):
    """Resolved where the input enters (the command line); the cells and the pipeline take the specs as they are."""
    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    assert main(["evaluate", "--dataset", SMALL, "--protocol", "released", "--models", "degree,baseline",
                 "--seeds", "0,1", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "e.json"),
                 "--quiet"]) == 0
    assert resolved == ["degree", "baseline"]
