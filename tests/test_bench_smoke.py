"""The benchmark suite runs end to end (tiny sizes) and its JSON has the promised keys.

This is not a benchmark: ``make bench`` (benchmarks/run.py) measures; CI only checks it works.
"""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import jobs  # noqa: E402
from grnlib.models import MODELS  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads((out / "bench.json").read_text()), proc.stdout


def test_smoke_json_has_the_headline_keys(smoke):
    payload, _ = smoke
    assert payload["mode"] == "smoke" and payload["errors"] == []
    assert set(payload["train_pairs_per_s"]) == set(MODELS.names())
    assert all(v > 0 for v in payload["train_pairs_per_s"].values())
    assert payload["phase4_fit_seconds"] > 0
    host = payload["host"]
    assert host["cores"] >= 1 and host["torch"] and host["device"] in ("cpu", "cuda")
    genome = payload["genome_scoring"]
    assert genome["tfs"] == 16 and genome["genes"] == 400
    assert genome["seconds"] > 0 and genome["peak_rss_mb"] > 0 and genome["edges_written"] == 50


def test_smoke_measures_against_the_references(smoke):
    payload, stdout = smoke
    naive = payload["speedup_vs_naive"]
    assert "forward_per_pair" in naive["reference"]
    two_towers = {m for m in MODELS.names() if getattr(MODELS[m](n_genes=10, in_features=4), "is_two_tower", False)}
    assert set(naive["training_epoch"]) == two_towers and all(r > 0 for r in naive["training_epoch"].values())
    assert naive["genome_scoring"] > 0
    (ref,) = payload["genelink_reference"]["by_dataset"]
    assert ref["model"] == "genelink_style_gat" and ref["speedup"] > 0
    assert "benchmarks/genelink_ref.py" in payload["genelink_reference"]["implementation"]
    assert [r["genes"] for r in payload["scoring_scaling"]] == [200, 400]
    assert {t["target"].split(" ")[0] for t in payload["targets"]} >= {"phase-4", "genome-wide"}
    assert payload["report"] == {"skipped": True}
    assert "Targets" in stdout


def test_smoke_has_scale_records(smoke):
    payload, stdout = smoke
    (record,) = payload["scale"]  # the tiny smoke size: train + predict as subprocesses
    assert (record["cells"], record["genes"]) == (300, 800) and 0 < record["nnz"] < 300 * 800
    assert all(record[k] > 0 for k in ("train_seconds", "train_peak_rss_mb", "predict_seconds",
                                        "predict_peak_rss_mb"))
    assert "Scale:" in stdout


def test_smoke_compares_the_phase4_recipes(smoke):
    payload, stdout = smoke
    recipe = payload["phase4_recipe"]
    assert recipe["previous_train"]["batch_size"] == 256 and recipe["current_train"]["loss"] == "focal"
    assert [f["recipe"] for f in recipe["fits"]] == ["previous", "current"]
    assert payload["phase4_speedup_vs_previous_recipe"]["median"] > 0
    assert set(recipe["auroc_diff"]) == {"val", "test"} and "Phase-4 recipe" in stdout


def test_scoring_job_writes_the_true_top_k_without_self_pairs(tmp_path):
    tsv = tmp_path / "top.tsv"
    row = jobs.scoring_job(n_genes=60, n_tfs=5, top_k=20, chunk=16, smoke=True, tsv=str(tsv))
    edges = pd.read_csv(tsv, sep="\t")
    assert len(edges) == row["edges_written"] == 20
    assert list(edges.columns) == ["tf", "target", "score"]
    assert edges["score"].is_monotonic_decreasing
    assert (edges["tf"] != edges["target"]).all()
    assert set(edges["tf"]) <= {f"TF{i:04d}" for i in range(5)}

    # Same seed -> same synthetic model: its full score matrix holds exactly these 20 best scores.
    import numpy as np
    import torch

    from grnlib.models import build_model
    from grnlib.training.loop import score_all_pairs

    torch.manual_seed(0)
    model = build_model("deep_two_tower", n_genes=60).eval()
    full = score_all_pairs(model, np.arange(5), np.arange(60))
    best = np.sort(full[np.isfinite(full)])[::-1][:20]
    np.testing.assert_allclose(edges["score"].to_numpy(), best, rtol=1e-4)


def test_a_partial_run_keeps_the_other_sections_of_the_committed_bench():
    from benchmarks import run

    committed = json.loads((ROOT / "results" / "bench" / "bench.json").read_text())
    previous = run.previous_results(committed)
    plan = {"datasets": [committed["primary_dataset"]], "genes": committed["genome_scoring"]["genes"]}
    fresh = {"training": [], "genelink": [], "phase4": [], "profile": None, "scoring": [], "threads": None,
             "report": None, "phase4_recipe": {"current_fit_seconds": {"median": 1.0}}, "scale": []}
    merged = run.merge_results(fresh, previous, {"phase4_recipe"})
    assert merged["phase4_recipe"] == fresh["phase4_recipe"] and merged["scale"] == committed["scale"]
    again = run.summarise(committed["host"], plan, run.merge_results(fresh, previous, set()), False, 1.0)
    for key in ("training", "phase4_fit", "scale", "scoring_scaling", "genome_scoring", "threads_comparison",
                "speedup_vs_naive", "phase4_fit_seconds"):
        assert again[key] == committed[key], key
    assert [t["measured"] for t in again["targets"]] == [t["measured"] for t in committed["targets"]]
    assert again["genelink_reference"]["by_dataset"] == committed["genelink_reference"]["by_dataset"]
