"""grnlib.benchmark.beyond_floor.goal_table: the issue's goals judged from summaries for the chosen models."""
import pandas as pd
import pytest

from grnlib.benchmark.beyond_floor import goal_table


def sweep_rows():
    rows = []
    for dataset, network in (("beeline/STRING/a/500", "STRING"), ("beeline/STRING/b/500", "STRING"),
                             ("beeline/Specific/a/500", "Specific")):
        for protocol, floor in (("heldout-tf", 0.80), ("degree-matched", 0.50), ("released", 0.75)):
            gain = 0.15 if network == "STRING" else 0.05
            for model, auroc, auprc in (("degree", floor, 0.40), ("chosen", floor + gain, 0.65),
                                        ("other", floor + 0.2, 0.70)):
                rows.append({"dataset": dataset, "network": network, "size": 500, "protocol": protocol,
                             "model": model, "auroc_mean": auroc, "auprc_mean": auprc})
    return pd.DataFrame(rows)


def grid_rows():
    return pd.DataFrame([
        {"dataset": "seed/x", "protocol": "seed", "name": "degree", "accuracy": 0.84, "auroc": 0.92},
        {"dataset": "seed/x", "protocol": "seed", "name": "pe", "accuracy": 0.86, "auroc": 0.93},
        {"dataset": "seed/x", "protocol": "heldout-tf", "name": "degree", "accuracy": 0.5, "auroc": 0.70},
        {"dataset": "seed/x", "protocol": "heldout-tf", "name": "pe", "accuracy": 0.55, "auroc": 0.72},
    ])


def goals():
    return goal_table(sweep_rows(), grid_rows(), released_model="chosen", tf_model="chosen")


def test_goal_one_is_judged_per_network_on_the_chosen_model_not_the_best_on_test():
    one = goals().set_index(["goal", "scope"]).loc["1"]
    assert len(one) == 4 and set(one["model"]) == {"chosen"}  # "other" scores higher on test: not used
    string = one[one.index.str.contains("STRING")]
    specific = one[one.index.str.contains("Specific")]
    assert string["met"].all() and not specific["met"].any()
    assert specific["short_by"].tolist() == ["0.050", "0.050"]
    assert "(2 settings)" in string.index[0]


def test_released_and_seed_goals_report_the_gap():
    table = goals().set_index("goal")
    released = table.loc["2"]
    assert not released["met"]  # mean AUROC (0.90 + 0.90 + 0.80) / 3 < 0.95
    assert released["measured"] == "AUROC 0.867 / AUPRC 0.650" and released["short_by"] == "0.083 / 0.000"
    seed = table.loc["3"]
    assert seed["model"] == "pe" and not seed["met"] and seed["short_by"] == "0.090"
    assert "held-out TF AUROC 0.720 (floor 0.700)" in seed["measured"]
