"""grnlib.tables: what the chapters display fits the page, has no NaN spread and no machine paths."""
import warnings

import numpy as np
import pandas as pd
import pytest

from grnlib import tables
from grnlib.errors import DataWarning
from grnlib.paths import project_root
from grnlib.tables import mean_std, summary_table


def metrics_frame(seeds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    rows = [{"name": name, "seed": seed, "auroc": 0.6 + 0.1 * i + 0.01 * rng.random(), "auprc": 0.3 + 0.1 * i}
            for i, name in enumerate(["degree", "phase1"]) for seed in seeds]
    return pd.DataFrame(rows)


def test_mean_std_has_three_decimals_and_a_dash_without_spread():
    assert mean_std(0.81234, 0.00456, 5) == "0.812 ± 0.005"
    assert mean_std(0.81234, np.nan, 1) == "0.812 ± —"
    assert mean_std(0.81234, 0.1, 1) == "0.812 ± —"  # one seed: no spread, whatever std says
    assert mean_std(np.nan) == "—"


def test_summary_table_puts_mean_and_std_in_one_cell():
    table = summary_table(metrics_frame(), columns=("auroc", "auprc"))
    assert list(table.columns) == ["seeds", "AUROC", "AUPRC"]
    assert list(table.index) == ["degree", "phase1"]
    assert table.loc["degree", "seeds"] == 3
    assert all(" ± " in cell for cell in table["AUROC"])


def test_summary_table_never_shows_nan_for_a_single_seed():
    mixed = pd.concat([metrics_frame(), metrics_frame(seeds=(0,)).head(1).assign(name="once")], ignore_index=True)
    table = summary_table(mixed, columns=("auroc",))
    assert table.loc["once", "AUROC"].endswith("± —")
    single = summary_table(metrics_frame(seeds=(0,)), columns=("auroc",))
    assert "nan" not in single.to_string().lower() and "±" not in single.to_string()


def test_summary_table_groups_by_several_columns():
    frame = pd.concat([metrics_frame().assign(setting=s) for s in ("a", "b")], ignore_index=True)
    table = summary_table(frame, columns=("auroc",), by=["setting", "name"])
    assert table.index.names == ["setting", "name"] and len(table) == 4


def test_short_path_removes_the_repository_and_data_roots(no_data_env):
    from grnlib.data.download import data_root

    root = project_root()
    assert tables.short_path(root / "results" / "x") == "results/x"
    assert tables.short_path(root) == "."
    message = f"{data_root()}/beeline/Specific/mESC/TFs+500/BL--ExpressionData.csv.gz: expression lacks 5 genes"
    assert tables.short_path(message) == message.replace(f"{data_root()}/", "")
    assert tables.short_path(message).startswith("beeline/Specific/mESC/")
    assert tables.short_path(f"{root}2/x") == f"{root}2/x"  # a sibling folder is not the repository
    assert tables.wrote(root / "build" / "r").startswith("wrote build/r")


def test_data_warnings_print_on_one_line_without_source(no_data_env):
    from grnlib.data.download import data_root

    text = tables.one_line_warning(DataWarning(f"{data_root()}/priors/x.tsv: dropped 3 edges"), DataWarning,
                                   "/somewhere/module.py", 12, "warnings.warn(...)")
    assert text == "DataWarning: priors/x.tsv: dropped 3 edges\n"
    other = tables.one_line_warning(UserWarning("careful"), UserWarning, "m.py", 3, "x = 1")
    assert "m.py:3" in other  # other warnings keep Python's format


def test_setup_notebook_installs_the_one_line_format(no_data_env):
    original = warnings.formatwarning
    try:
        tables.setup_notebook()
        assert warnings.formatwarning is tables.one_line_warning
        assert pd.get_option("display.precision") == 3
    finally:
        warnings.formatwarning = original
        pd.reset_option("display.precision")


def test_comparison_table_joins_ci_and_paired_tests():
    metrics = pd.concat([metrics_frame().assign(protocol=p) for p in ("released", "heldout-tf")], ignore_index=True)
    metrics.loc[metrics["seed"] == 0, ["auroc_ci_low", "auroc_ci_high"]] = (0.5, 0.7)
    paired = pd.DataFrame([{"protocol": p, "seed": s, "name": "phase1", "delta": 0.1, "p_value": 0.01 * (s + 1)}
                           for p in ("released", "heldout-tf") for s in (0, 1, 2)])
    table = tables.comparison_table(metrics, paired)
    assert table.index.names == ["protocol", "scorer"]
    assert list(table.index.get_level_values(0).unique()) == ["released", "heldout-tf"]
    row = table.loc[("released", "phase1")]
    assert row["AUROC 95% CI"] == "0.500–0.700" and row["Δ vs degree"] == "+0.100" and row["p (max)"] == "0.030"
    assert table.loc[("released", "degree"), "Δ vs degree"] == "floor"
    assert not table.isna().any().any()


def test_floor_pivot_puts_the_floor_first_and_dashes_missing_cells():
    summary = pd.DataFrame([
        {"dataset": "beeline/STRING/mHSC-L/500", "protocol": "released", "model": m, "n_seeds": n,
         f"auroc_mean": v, "auroc_std": s}
        for m, n, v, s in (("random", 5, 0.5, 0.01), ("degree", 5, 0.8, 0.02), ("best", 1, 0.85, np.nan))])
    table = tables.floor_pivot(summary, "auroc", order=["best", "random"])
    assert list(table.columns) == ["seeds", "degree", "best", "random"]
    assert table.iloc[0]["best"] == "0.850 ± —" and table.iloc[0]["degree"] == "0.800 ± 0.020"
    assert table.index[0] == ("released", "STRING/mHSC-L/500")


def test_grid_table_orders_protocols_like_the_book():
    summary = pd.DataFrame([{"dataset": "beeline/Specific/hHEP/500", "protocol": p, "name": "pe", "seeds": 1,
                             "auroc": 0.7, "auroc_std": np.nan, "auprc": 0.5, "auprc_std": np.nan,
                             "auroc_margin": 0.05, "seconds": 1.234} for p in ("seed", "heldout-tf", "released")])
    table = tables.grid_table(summary)
    assert list(table.index.get_level_values("protocol")) == ["released", "heldout-tf", "seed"]
    assert table.iloc[0]["AUROC"] == "0.700 ± —" and table.iloc[0]["Δ AUROC vs degree"] == "+0.050"


def test_goal_verdicts_name_met_and_missed_scopes():
    goals = pd.DataFrame([
        {"goal": "1", "scope": "heldout-tf, STRING", "model": "phase1", "measured": "AUROC 0.7", "met": True,
         "short_by": "0"},
        {"goal": "1", "scope": "heldout-tf, Specific", "model": "phase1", "measured": "AUROC 0.6", "met": False,
         "short_by": "0.1"}])
    text = tables.goal_verdicts(goals)
    assert text.startswith("- **Goal 1**: met in 1 of 2 scope(s) (heldout-tf, STRING")
    assert "missed in heldout-tf, Specific by 0.1" in text


def test_catalogue_overview_counts_per_family_and_network():
    catalogue = pd.DataFrame([
        {"id": "beeline/A/x/500", "family": "beeline", "network": "A", "n_genes": 500, "has_expression": True,
         "n_splits": 5, "reserved": False},
        {"id": "beeline/A/y/500", "family": "beeline", "network": "A", "n_genes": 900, "has_expression": False,
         "n_splits": 0, "reserved": True},
        {"id": "dream4/1", "family": "dream4", "network": None, "n_genes": 10, "has_expression": True,
         "n_splits": 0, "reserved": False}])
    table = tables.catalogue_overview(catalogue)
    assert table.loc[("beeline", "A")].to_dict() == {"datasets": 2, "expression": 1, "splits": 1, "reserved": 1,
                                                    "genes": "500–900"}
    assert ("dream4", "—") in table.index


def test_recipe_and_split_sizes_are_short_text():
    text = tables.recipe({"optimizer": "sgd", "lr": 0.01, "momentum": 0.9} | {f"k{i}": i for i in range(30)})
    assert text.startswith("optimizer=sgd, lr=0.01") and max(map(len, text.splitlines())) <= 100
    split = {"train": pd.DataFrame({"label": [1, 0, 0, 0]}), "test": pd.DataFrame({"label": [1, 0]})}
    assert tables.split_sizes(split) == ("train 4 pairs (1 positive, rate 0.250); "
                                         "test 2 pairs (1 positive, rate 0.500)")


BENCH = {
    "mode": "full",
    "host": {"date": "2026-01-01T00:00:00", "cores": 2, "cpu": "x", "device": "cpu", "torch": "2", "torch_threads": 2,
             "git_commit": "abcdef123456", "git_dirty": False, "loadavg_start": [0.5], "loadavg_end": [1.0]},
    "training": [{"dataset": "beeline/Specific/hHEP/500", "model": "m", "features": None, "epoch_s": 0.123456,
                  "epoch_cpu_s": 0.2, "pairs_per_s": 1000.0, "peak_rss_mb": 400.0, "speedup_vs_naive": 1.5},
                 {"dataset": "x", "error": "boom"}],
    "genome_scoring": {"tfs": 10, "genes": 100, "pairs": 1000, "top_k": 50, "seconds": 0.5, "peak_rss_mb": 300.0},
    "scoring_scaling": [{"tfs": 10, "genes": 100, "seconds": 0.1, "peak_rss_mb": 10}],
}


def test_bench_tables_have_short_headers_and_skip_failed_rows():
    training = tables.bench_table(BENCH, "training")
    assert list(training.columns)[:2] == ["dataset", "model"] and len(training) == 1
    assert training.loc[0, "dataset"] == "hHEP/500" and training.loc[0, "epoch s"] == 0.123
    assert tables.bench_table(BENCH, "scale").empty and "cells" in tables.bench_table(BENCH, "scale")
    assert tables.bench_table({}, "profile").empty
    assert "1,000 pairs" in tables.bench_genome(BENCH) and "No genome-wide" in tables.bench_genome({})
    assert "2 cores" in tables.bench_host(BENCH) and "make bench" in tables.bench_host({}, "x.json")
    curves = tables.scoring_curves({"host": {"date": "2026-02-02"}, "scoring_scaling": BENCH["scoring_scaling"]},
                                   BENCH)
    assert list(curves) == ["live (2026-02-02), 10 TFs", "committed run (2026-01-01), 10 TFs"]


@pytest.mark.parametrize("name", tables.__all__)
def test_every_exported_name_exists(name):
    assert hasattr(tables, name)
