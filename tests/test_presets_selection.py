"""The `best` aliases are what validation AUROC picks from the committed sweep summaries."""
import pandas as pd
import pytest

from grnlib.benchmark import sweep
from grnlib.paths import project_root
from grnlib.evaluation.presets import BEST_CANDIDATES, BEST_PROTOCOLS, BEST_SELECTED, preset

SWEEPS = ("floor11_released", "floor11_tf")  # every candidate of both aliases, 12 epochs, 5 seeds


def committed_summary() -> pd.DataFrame:
    folder = project_root() / "results" / "benchmark"
    return sweep.load_summaries(folder, SWEEPS)


@pytest.mark.parametrize("alias", sorted(BEST_SELECTED))
def test_alias_is_the_validation_choice(alias):
    ranking = sweep.select_by_validation(committed_summary(), BEST_PROTOCOLS[alias], BEST_CANDIDATES[alias])
    assert ranking.index[0] == BEST_SELECTED[alias], ranking.to_dict()


@pytest.mark.parametrize("alias", sorted(BEST_SELECTED))
def test_alias_builds_the_chosen_preset(alias):
    chosen, built = preset(BEST_SELECTED[alias]), preset(alias)
    same = lambda spec: {k: v for k, v in spec.items() if k not in ("name", "preset")}  # noqa: E731
    assert same(built) == same(chosen) and built["name"] == alias


def test_selection_ignores_test_metrics():
    rows = [{"dataset": d, "protocol": "released", "model": m, "val_auroc_mean": v, "auroc_mean": t}
            for d in ("a", "b") for m, v, t in (("x", 0.7, 0.9), ("y", 0.8, 0.6))]
    ranking = sweep.select_by_validation(pd.DataFrame(rows), ("released",), ("x", "y"))
    assert list(ranking.index) == ["y", "x"]
    with pytest.raises(ValueError, match="no validation AUROC"):
        sweep.select_by_validation(pd.DataFrame(rows), ("released",), ("x", "z"))
