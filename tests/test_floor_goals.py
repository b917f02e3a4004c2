"""Issue 11's reporting: the higher floor is chosen on validation, gains are paired over seeds,
and the goal table says per network type whether each goal is met and by how much it is missed."""
import json

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


# -- issue 18: the worst setting, the controls, Holm-adjusted goals, aliases chosen for the worst case ------

def frame_18():
    """Per-seed (3 folds each) rows: `m` is +0.04 over the floors on average but −0.02 on one small
    subsampled network; `h` (held-out) is +0.05 over the floors and +0.01 over target_only everywhere."""
    rows = []
    datasets = [f"beeline/{n}/hHEP/500" for n in ("Non-Specific", "STRING")] + \
        [f"subsample/{n}/hHEP/500/150-{d}" for n in ("Non-Specific", "STRING") for d in (0, 1)]
    for dataset in datasets:
        bad = dataset == "subsample/STRING/hHEP/500/150-1"
        for protocol in ("released", "heldout-tf") if dataset.startswith("beeline") else ("heldout-tf",):
            for seed in range(3):
                for fold in range(3) if protocol == "heldout-tf" else (0,):
                    jitter = 0.003 * seed + 0.001 * fold
                    for name, auroc, auprc in (("degree", 0.80, 0.40), ("edge_prior", 0.79, 0.39),
                                               ("m", 0.78 if bad else 0.84, 0.37 if bad else 0.45),
                                               ("target_only", 0.84, 0.42), ("h", 0.85, 0.44)):
                        rows.append({"dataset": dataset, "protocol": protocol, "seed": seed, "fold": fold,
                                     "model": name, "val_auroc": auroc - 0.05 + jitter,
                                     "val_nested_auroc": auroc - 0.06 + jitter, "auroc": auroc + jitter,
                                     "auprc": auprc, "per_tf_auroc": auroc - 0.1, "per_tf_auprc": 0.3})
    return pd.DataFrame(rows)


def test_holm_adjustment_is_step_down_and_monotone():
    adjusted = bf.holm([0.01, 0.04, np.nan, 0.03, 0.5])
    assert np.isnan(adjusted[2])
    assert adjusted[[0, 3, 1, 4]] == pytest.approx([0.04, 0.09, 0.09, 0.5])  # 4·0.01, 3·0.03, max(2·0.04, .09), 0.5


def test_folds_of_a_seed_are_averaged_so_seeds_are_the_units():
    table = bf.against_floor(frame_18())
    row = table[(table["dataset"] == "beeline/STRING/hHEP/500") & (table["protocol"] == "heldout-tf")
                & (table["name"] == "h")].iloc[0]
    assert row["seeds"] == 3 and row["delta_auroc"] == pytest.approx(0.05)


def test_worst_settings_and_the_goal_table_judge_the_worst_case_with_holm():
    worst = bf.worst_settings(frame_18(), ["m"]).set_index("protocol")
    assert worst.loc["heldout-tf", "worst auroc setting"] == "subsample/STRING/hHEP/500/150-1"
    assert worst.loc["heldout-tf", "Δ auroc"] == pytest.approx(-0.02)
    sized = bf.worst_settings(frame_18().assign(n_test=lambda f: 100 + 10 * f["seed"]), ["m"]).set_index("protocol")
    assert sized.loc["heldout-tf", "worst auroc n_test"] == 100
    goals = bf.goal_table_18(frame_18(), best="m", best_heldout="h", aliases={"m": ("heldout-tf",), "h": ("heldout-tf",)})
    rows = goals[goals["goal"].str.startswith("no alias")].set_index(["model", "goal"])
    assert not rows.loc[("m", "no alias below the higher floor: pooled AUROC"), "met"]
    assert rows.loc[("h", "no alias below the higher floor: pooled AUROC"), "met"]
    assert rows.loc[("m", "no alias below the higher floor: pooled AUROC"), "units"] == "3 seeds"
    released = goals[goals["goal"].str.startswith("released: best pooled AUROC")].set_index("scope")
    assert released.loc["STRING", "measured"] == pytest.approx(0.04) and released.loc["STRING", "units"] == "1 settings"
    assert (goals["p_holm"].dropna() >= goals["p"].dropna()).all()
    control = goals[goals["goal"].str.contains("target_only")].set_index("scope")
    assert control.loc["STRING", "measured"] == pytest.approx(0.01) and not control.loc["STRING", "met"]
    assert control.loc["STRING", "units"] == "3 settings"  # the full network and its two subsamples


def test_control_table_reports_gains_over_the_floor_and_over_target_only():
    table = bf.control_table(frame_18(), ["h", "m"]).set_index(["protocol", "model"])
    assert table.loc[("heldout-tf", "h"), "Δ vs higher floor"] == pytest.approx(0.05)
    assert table.loc[("heldout-tf", "h"), "Δ vs target_only"] == pytest.approx(0.01)
    assert table.loc[("heldout-tf", "h"), "settings"] == 6


def test_aliases_are_chosen_by_their_worst_validation_setting_not_the_mean():
    from grnlib.benchmark import sweep

    summary = sweep.summarize_frame(frame_18())
    ranking = sweep.select_by_worst_case(summary, ("heldout-tf",), ("m", "h", "target_only"), quantile=0.0)
    assert list(ranking.index) == ["h", "target_only", "m"]
    assert ranking.loc["m", "minimum"] == pytest.approx(-0.02) and ranking.loc["m", "settings"] == 6
    by_mean = sweep.select_by_validation(summary, ("heldout-tf",), ("m", "h"))
    assert list(by_mean.index) == ["h", "m"]
    with pytest.raises(ValueError, match="run them in a sweep"):
        sweep.select_by_worst_case(summary, ("heldout-tf",), ("m", "absent"))


def test_the_choice_reads_nested_validation_not_the_plain_one():
    # plain validation favours m (its best epoch was chosen there), nested validation favours h
    frame = frame_18()
    frame.loc[frame["model"] == "m", "val_auroc"] += 0.2
    frame.loc[frame["model"] == "h", "val_nested_auroc"] += 0.05
    from grnlib.benchmark import sweep

    summary = sweep.summarize_frame(frame)
    assert "val_nested_auroc_mean" in summary
    plain = sweep.select_by_worst_case(summary, ("heldout-tf",), ("m", "h"), quantile=0.0)
    nested = sweep.select_by_worst_case(summary, ("heldout-tf",), ("m", "h"), quantile=0.0, metric="val_nested_auroc")
    assert plain.index[0] == "m" and nested.index[0] == "h"


def test_goal_display_and_verdicts_name_every_alias_and_scope():
    goals = bf.goal_table_18(frame_18(), best="m", best_heldout="h")
    shown = bf.goal_display(goals)
    assert shown.index.names == ["goal", "scope"] and set(shown["met"]) <= {"yes", "no"}
    assert not shown["interval"].isna().any()
    text = bf.goal_verdicts_18(goals)
    assert "(`m`)" in text and "(`h`)" in text and "Holm p" in text
    assert text.count("\n") + 1 == goals.groupby(["goal", "model"]).ngroups
    controls = bf.control_table(frame_18(), ["h"])
    assert "TF-specific" in bf.control_verdicts(controls)


@pytest.fixture
def committed_style(tmp_path, monkeypatch):
    """Summaries of a robust_tf, a robust_released and a choice sweep of :func:`frame_18`, written as the sweep
    writes them."""
    from grnlib.benchmark import sweep
    from grnlib.evaluation import presets

    monkeypatch.setattr(presets, "BEST_CANDIDATES", {"best": ("m", "h"), "best_heldout": ("m", "h")})
    monkeypatch.setattr(presets, "STACK_CANDIDATES", {"best": (), "best_heldout": ()})

    for name, protocols in (("robust_tf", ("heldout-tf",)), ("robust_released", ("released",)),
                            (presets.CHOICE_SWEEP, ("heldout-tf", "released"))):
        raw = tmp_path / "raw" / name
        raw.mkdir(parents=True)
        rows = frame_18()
        rows = rows[rows["protocol"].isin(protocols)]
        cells = [{"key": f"{d}|{p}|{s}|{f}", "results": part.to_dict(orient="records"), "seconds": 1.0}
                 for (d, p, s, f), part in rows.groupby(["dataset", "protocol", "seed", "fold"])]
        (raw / sweep.CELL_FILE).write_text("".join(json.dumps(c) + "\n" for c in cells))
        sweep.summarize(raw, tmp_path / "bench", name)
    return tmp_path / "bench"


def test_robust_report_reads_committed_style_summaries(committed_style):
    report = bf.robust_report(committed_style, ["robust_tf", "robust_released"], quantile=0.0)
    assert report["judged"] == {"best": "h", "best_heldout": "h"}  # m falls below the floor on one subsample
    assert report["choice"].loc[("best_heldout", "m"), "minimum"] == pytest.approx(-0.02)
    assert report["coverage"].loc["robust_tf", "cells"] == 6 * 3 * 3 and report["coverage"].loc["robust_tf", "folds"] == "0,1,2"
    assert set(report["units"]) == {"choice", "worst", "controls", "gains"}
    assert len(report["goals"]) and "p_holm" in report["goals"]
    assert "ci_low" not in report["goal_display"] and "floor_low" not in report["controls"]


def test_robust_report_has_a_figure_for_each_table_and_a_computed_conclusion(committed_style):
    from grnlib import plots, tables

    report = bf.robust_report(committed_style, ["robust_tf", "robust_released"], quantile=0.0)
    figures = plots.panels(report["figures"])
    assert set(figures) == {"coverage", "choice", "worst", "controls", "gains", "goals"}
    assert all(f.axes and f.axes[0].get_title() for f in figures.values())
    main = ~report["goals"]["goal"].str.startswith("stretch")
    assert len(figures["goals"].axes[0].get_yticklabels()) == main.sum()  # one row per goal row
    assert report["figures"]["coverage"]["table"].loc["robust_tf: beeline"].to_dict() == {0: 6, 1: 6, 2: 6}
    findings = report["findings"]
    assert any(line.startswith("**heldout-tf**, `h` (`best_heldout`)") for line in findings)
    assert any(line.startswith("Controls: heldout-tf, `h`") and "TF-specific" in line for line in findings)
    assert any(line.startswith("Tried on **heldout-tf**: `h` falling back") for line in findings)
    assert report["fallback"].loc[("heldout-tf", "h_fallback"), "Δ auroc"] == pytest.approx(0.05)  # h never falls back
    goals = report["goals"][~report["goals"]["goal"].str.startswith("stretch")]
    assert any(line.startswith(f"Goals: {int(goals['met'].sum())} of {len(goals)} goal rows met") for line in findings)
    text = tables.conclusion("09_beyond_the_floor", found=findings)
    assert text.startswith("## Conclusion") and "Holm p" in text and "**For a user.**" in text


def test_falling_back_where_validation_says_so_takes_the_higher_floor_split_by_split():
    frame = frame_18()
    gated = bf.fallback_rows(frame, ["m", "h"])
    assert len(gated) == 2 * len(frame[frame["model"] == "m"])  # one row per split and model
    bad = frame["dataset"] == "subsample/STRING/hHEP/500/150-1"
    m = gated[(gated["model"] == "m_fallback") & (gated["dataset"] == "subsample/STRING/hHEP/500/150-1")]
    assert m["fell_back"].all()  # m's validation AUROC is under degree's there
    assert sorted(m["auroc"]) == sorted(frame.loc[bad & (frame["model"] == "degree"), "auroc"])
    assert not gated.loc[gated["model"] == "h_fallback", "fell_back"].any()
    worst = bf.worst_settings(pd.concat([frame, gated.drop(columns="fell_back")]), ["m_fallback"]).set_index("protocol")
    assert worst.loc["heldout-tf", "Δ auroc"] == pytest.approx(0.0)  # the floor itself where m fell back
    assert bf.fallback_rows(frame, ["h"], margin=0.2)["fell_back"].all()  # a margin no split reaches: the floor


def test_control_verdicts_read_the_interval_of_the_gain_over_target_only():
    row = {"protocol": "heldout-tf", "model": "x", "settings": 9, "Δ vs higher floor": 0.03, "floor CI": "[+0.01, +0.05]",
           "Δ vs target_only": 0.01, "target_only CI": "[-0.01, +0.03]", "control_low": -0.01}
    rows = [row, {**row, "model": "y", "control_low": 0.002}, {**row, "model": "z", "settings": 1, "control_low": np.nan},
            {**row, "model": "w", "Δ vs target_only": -0.01}, {**row, "model": "v", "Δ vs higher floor": -0.01}]
    lines = bf.control_verdicts(pd.DataFrame(rows)).splitlines()
    assert lines[0].endswith("a TF-specific part within noise (its interval includes 0).")
    assert lines[1].endswith("the gain is TF-specific.")
    assert lines[2].endswith("TF-specific on its point estimate (one setting: no interval).")
    assert lines[3].endswith("no TF-specific gain beyond the target's popularity.")
    assert lines[4].endswith("not above the floor.")
