"""The full book trains each shared run once: chapters 02 and 04 build some of their runs exactly as chapter 06
builds its presets (same spec, splits, seeds and epochs), so the run cache serves them to both. This rebuilds the
specs the way the notebooks do from the committed params and checks the cache keys agree, so a params edit that
silently doubles the book's cost fails here."""
from pathlib import Path

import yaml

from grnlib.evaluation.spec import preset, resolve_spec

ROOT = Path(__file__).resolve().parent.parent


def _params(name: str) -> dict:
    return yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())


def test_chapters_share_the_comparison_runs():
    comparison = _params("06_comparison")
    assert "released" in comparison["protocols"]
    shared = {"phase1", "hybrid", "phase3"}
    assert shared <= set(comparison["presets"])
    epochs = comparison["epochs"]

    expression = _params("02_phase1_expression")
    assert set(expression["seeds"]) <= set(comparison["seeds"])
    train = {**preset("phase1")["train"], "epochs": expression["epochs"], "batch_size": expression["batch_size"],
             "lr": expression["lr"]}
    assert expression["pca_components"] is None  # else 02's PCA run is not 06's phase1
    for name in ("phase1", "hybrid"):
        assert resolve_spec({"preset": name, "train": train}).key() == preset(name, epochs=epochs).key(), name

    training = _params("04_phase3_training")
    assert set(training["seeds"]) <= set(comparison["seeds"])
    full = resolve_spec({"preset": "phase3", "train": {
        "epochs": training["epochs"], "batch_size": training["batch_size"], "lr": training["lr"],
        "warmup_epochs": training["warmup_epochs"], "early_stopping_patience": training["patience"]}})["train"]
    assert resolve_spec({"preset": "phase3", "train": full}).key() == preset("phase3", epochs=epochs).key()
