"""The `best` aliases are what validation picks from the committed sweep summaries: since issue 18 by their
worst settings (a low quantile over settings of the nested-validation gap to the higher floor, from the choice
sweep), not by the mean."""
import pandas as pd
import pytest

from grnlib.benchmark import beyond_floor, sweep
from grnlib.evaluation.presets import BEST_SELECTED, CHOICE_SWEEP, WORST_QUANTILE
from grnlib.evaluation.spec import preset
from grnlib.paths import project_root


def committed_summary() -> pd.DataFrame:
    return sweep.load_summaries(project_root() / "results" / "benchmark", [CHOICE_SWEEP])


@pytest.mark.parametrize("alias", sorted(BEST_SELECTED))
def test_alias_is_the_worst_case_validation_choice(alias):
    choice = beyond_floor.worst_case_choice(committed_summary(), quantile=WORST_QUANTILE)  # stacks and blends too
    ranking = choice[choice["alias"] == alias].set_index("candidate")
    assert len(ranking) >= 2, "the robust sweeps ran fewer than two candidates of " + alias
    assert ranking.index[0] == BEST_SELECTED[alias], ranking.round(4).to_dict()


@pytest.mark.parametrize("alias", sorted(BEST_SELECTED))
def test_alias_builds_the_chosen_preset(alias):
    chosen, built = preset(BEST_SELECTED[alias]), preset(alias)
    # a stack's spec names itself in "model" too; everything else (members, weights' data) must be equal
    same = lambda spec: {k: v for k, v in spec.items() if k not in ("name", "preset", "model")}  # noqa: E731
    assert same(built) == same(chosen) and built["name"] == alias


def test_selection_ignores_test_metrics():
    rows = [{"dataset": d, "protocol": "released", "model": m, "val_auroc_mean": v, "auroc_mean": t}
            for d in ("a", "b") for m, v, t in (("x", 0.7, 0.9), ("y", 0.8, 0.6))]
    ranking = sweep.select_by_validation(pd.DataFrame(rows), ("released",), ("x", "y"))
    assert list(ranking.index) == ["y", "x"]
    with pytest.raises(ValueError, match="no validation AUROC"):
        sweep.select_by_validation(pd.DataFrame(rows), ("released",), ("x", "z"))
    floors = [{"dataset": d, "protocol": "released", "model": f, "val_auroc_mean": 0.75, "auroc_mean": 0.5}
              for d in ("a", "b") for f in ("degree", "edge_prior")]
    worst = sweep.select_by_worst_case(pd.DataFrame(rows + floors), ("released",), ("x", "y"), quantile=0.0)
    assert list(worst.index) == ["y", "x"] and worst.loc["x", "minimum"] == pytest.approx(-0.05)
