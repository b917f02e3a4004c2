"""Issue 11's reporting: the higher floor is chosen on validation, gains are paired over seeds,
and the goal table says per network type whether each goal is met and by how much it is missed."""
import numpy as np
import pandas as pd
import pytest

from grnlib.benchmark import beyond_floor as bf


def frame():
    """Per-seed rows of two settings per network type: edge_prior wins validation on STRING only;
    `m` beats the floors by +0.03 AUROC everywhere, +0.06 per-TF; `h` is the held-out model."""
    rows = []
    for network in ("Specific", "Non-Specific", "STRING"):
        for cell in ("hHEP", "mESC"):
            dataset = f"beeline/{network}/{cell}/500"
            for protocol in ("released", "heldout-tf", "degree-matched"):
                for seed in range(3):
                    jitter = 0.002 * seed
                    ep_val = 0.80 if network == "STRING" else 0.70
                    base = 0.5 if protocol == "degree-matched" else 0.85
                    for name, val, auroc, auprc, per_tf in (
                            ("degree", 0.75, base + jitter, 0.30, 0.70),
                            ("edge_prior", ep_val, base + 0.01 + jitter, 0.31, 0.70),
                            ("m", 0.76, base + 0.04 + jitter, 0.40, 0.76),
                            ("m (uncorrected)", 0.78, base - 0.20, 0.10, 0.76),
                            ("h", 0.76, base + (0.12 if protocol != "released" else 0.0) + 2 * jitter, 0.35, 0.72)):
                        rows.append({"dataset": dataset, "protocol": protocol, "seed": seed, "name": name,
                                     "val_auroc": val, "auroc": auroc, "auprc": auprc, "per_tf_auroc": per_tf,
                                     "per_tf_auprc": per_tf / 2})
    return pd.DataFrame(rows)


def test_higher_floor_is_chosen_on_validation():
    choice = bf.floor_choice(frame()).set_index("dataset")
    assert (choice.loc["beeline/STRING/hHEP/500", "higher"] == "edge_prior").all()
    assert (choice.loc["beeline/Specific/hHEP/500", "higher"] == "degree").all()


def test_against_floor_pairs_over_seeds():
    table = bf.against_floor(frame())
    row = table[(table["dataset"] == "beeline/STRING/hHEP/500") & (table["protocol"] == "released")
                & (table["name"] == "m")].iloc[0]
    assert row["floor"] == "edge_prior" and row["delta_auroc"] == pytest.approx(0.03)
    assert row["delta_auroc_low"] == pytest.approx(0.03) == row["delta_auroc_high"]  # identical jitter: no spread
    twice = bf.against_floor(pd.concat([frame(), frame()]))  # a scorer appended twice counts once
    pd.testing.assert_frame_equal(twice, table)
    gain = bf.paired_gain(frame(), "h", "degree")
    pooled = gain[gain["dataset"].str.startswith("all") & (gain["protocol"] == "heldout-tf")].iloc[0]
    assert pooled["delta"] == pytest.approx(0.122) and pooled["ci_low"] > 0.1


def test_goal_table_reports_met_and_missed_goals():
    goals = bf.goal_table_11(frame(), best="m", best_heldout="h")
    worst = goals[goals["goal"].str.contains("no preset")].iloc[0]
    assert worst["met"]  # the uncorrected row and the floors are not presets
    auroc = goals[goals["goal"].str.startswith("released: best pooled AUROC")]
    assert len(auroc) == 3 and auroc["met"].all()
    auprc = goals[goals["goal"].str.startswith("released: best pooled AUPRC")]
    assert auprc["met"].all()
    per_tf = goals[goals["goal"].str.contains("per-TF")]
    assert per_tf["met"].all()
    heldout = goals[goals["goal"].str.startswith("heldout-tf")].set_index("scope")
    assert heldout["met"].all()  # +0.11 over the higher floor beats +0.05, and the +0.10 moonshot on Specific
    missed = bf.goal_table_11(frame(), best="h", best_heldout="m")
    rows = missed[missed["goal"].str.startswith("degree-matched")].set_index("scope")
    # m is +0.04 over degree, +0.03 over STRING's higher floor (edge_prior): short of +0.10 by 0.06 / 0.07
    assert not rows["met"].any()
    assert float(rows.loc["Non-Specific (2 settings)", "short_by"]) == pytest.approx(0.06, abs=1e-6)
    assert float(rows.loc["STRING (2 settings)", "short_by"]) == pytest.approx(0.07, abs=1e-6)
    assert np.isnan(bf.against_floor(frame().query("seed == 0"))["delta_auroc_low"]).all()  # one seed: no interval


def test_goal_table_judges_the_seed_protocol_on_accuracy():
    seed_rows = pd.DataFrame([{"dataset": "seed/trrust+dorothea/hESC", "protocol": "seed", "seed": s, "name": name,
                               "val_auroc": 0.8, "auroc": 0.9, "auprc": 0.5, "per_tf_auroc": 0.7,
                               "per_tf_auprc": 0.3, "accuracy": accuracy}
                              for s in range(2) for name, accuracy in (("degree", 0.84), ("m", 0.86 + 0.02 * s))])
    goals = bf.goal_table_11(pd.concat([frame(), seed_rows]), best="m", best_heldout="h")
    row = goals[goals["goal"].str.startswith("seed")].iloc[0]
    assert row["measured"] == "0.870 (degree 0.840)" and not row["met"]
    assert float(row["short_by"]) == pytest.approx(0.03, abs=1e-6)
    assert not bf.goal_table_11(frame(), best="m", best_heldout="h")["goal"].str.startswith("seed").any()


def test_gain_table_pairs_each_model_with_its_reference_present():
    from grnlib import tables

    gains = bf.gain_table(frame(), pairs=(("m", "degree"), ("m", "absent")), pooled=True)
    assert set(gains["model"]) == {"m"} and set(gains["metric"]) == {"auroc", "auprc", "per_tf_auroc"}
    row = gains[(gains["protocol"] == "released") & (gains["metric"] == "auroc")].iloc[0]
    assert row["dataset"] == "all (6 settings)" and row["delta"] == pytest.approx(0.04)
    shown = tables.gains_display(gains)
    assert shown.loc[("m − degree", "released"), "auroc"].startswith("+0.040 [")
