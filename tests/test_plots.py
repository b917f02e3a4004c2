"""grnlib.plots: every figure helper draws what its chapter needs and returns the figure."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from grnlib import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def long_metrics():
    rows = []
    for protocol in ("released", "heldout-tf"):
        for seed in (0, 1):
            for name, auroc in (("degree", 0.8), ("deep w0.5 d2", 0.7), ("deep w1 d2", 0.72), ("deep w1 d4", 0.75),
                                ("deep w1 d4 cosine", 0.6)):
                rows.append({"protocol": protocol, "seed": seed, "name": name, "auroc": auroc + 0.01 * seed,
                             "auprc": auroc / 2})
    return pd.DataFrame(rows)


class FakeDataset:
    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.edges = pd.DataFrame({"tf": rng.choice(["A", "B", "C"], 50, p=[0.7, 0.2, 0.1]),
                                   "target": rng.choice(list("defghij"), 50)})
        self._x = rng.poisson(1.0, size=(20, 30)).astype(float)

    def expression_matrix(self):
        return self._x


def test_metric_panels_draws_one_panel_per_group_with_the_floor():
    fig = plots.metric_panels(long_metrics(), by="protocol", metric="auroc", ylim=(0.3, 1.0))
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["released", "heldout-tf"]
    assert axes[0].get_ylim() == (0.3, 1.0)
    assert any("floor" in t.get_text() for t in axes[0].get_legend().get_texts())


def test_ablation_points_reads_width_and_depth_from_names():
    fig = plots.ablation_points(long_metrics())
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1.0"]  # the cosine run is left out
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"2", "4", "degree floor"}


def test_data_figures_have_one_panel_per_dataset():
    datasets = {"beeline/A/x/500": FakeDataset(0), "beeline/B/y/500": FakeDataset(1)}
    assert len(plots.degree_grid(datasets).get_axes()) == 4
    assert len(plots.library_sizes(datasets).get_axes()) == 2
    catalogue = pd.DataFrame({"family": ["beeline", "beeline", "dream4"], "network": ["A", "A", None],
                              "has_expression": [True, False, True]})
    ax = plots.catalogue_counts(catalogue).get_axes()[0]
    assert {t.get_text() for t in ax.get_yticklabels()} == {"beeline/A", "dream4/—"}
    overlap = pd.DataFrame({"expression set": ["x", "x"], "resource": ["trrust", "dorothea"], "fraction": [0.3, 0.5]})
    assert plots.prior_coverage(overlap).get_axes()[0].get_ylim() == (0, 1)


def test_lr_schedules_and_reliability_panels():
    histories = {"a": pd.DataFrame({"epoch": [1, 2, 3], "lr": [0.1, 0.05, 0.01]})}
    ax = plots.lr_schedules(histories).get_axes()[0]
    assert len(ax.get_lines()) == 1

    class FakeEvaluation:
        y_test = np.array([0, 1] * 50)

        def test_probabilities(self, name):
            return np.linspace(0.01, 0.99, 100)

    fig = plots.reliability_panels({"balanced": FakeEvaluation(), "imbalanced": FakeEvaluation()}, ["m"])
    assert [ax.get_title() for ax in fig.get_axes()] == ["Reliability, balanced", "Reliability, imbalanced"]


def test_count_heatmap_annotates_every_cell():
    table = pd.DataFrame([[1, 2], [3, np.nan]], index=["r1", "r2"], columns=["a", "b"])
    ax = plots.count_heatmap(table, fmt="+.2f", cmap="RdBu", center=0).get_axes()[0]
    assert sorted(t.get_text() for t in ax.texts) == ["+1.00", "+2.00", "+3.00"]


def test_labelled_bars_and_bench_charts():
    table = pd.DataFrame({"model": ["a", "b"], "epoch s": [0.5, 2.0], "dataset": ["x", "x"]})
    ax = plots.bench_chart(table, "training").get_axes()[0]
    assert ax.get_xscale() == "log" and len(ax.patches) >= 2
    reference = pd.DataFrame({"dataset": ["x"], "reference s": [10.0], "phase-4 s": [1.0]})
    assert len(plots.bench_chart(reference, "reference").get_axes()[0].patches) >= 2
    empty = plots.bench_chart(pd.DataFrame(columns=["target", "miss ×"]), "targets").get_axes()[0]
    assert empty.texts[0].get_text() == "not in this run"


def test_scaling_curves_one_panel_per_column_and_empty_runs():
    frame = pd.DataFrame({"genes": [100, 10, 1000], "seconds": [0.2, 0.1, 1.0], "peak_rss_mb": [10, 5, 50]})
    fig = plots.scaling_curves({"live": frame}, x="genes", panels={"seconds": "s", "peak_rss_mb": "MB"})
    axes = fig.get_axes()
    assert len(axes) == 2 and list(axes[0].get_lines()[0].get_xdata()) == [10, 100, 1000]  # sorted by x
    scale = pd.DataFrame(columns=["non-zeros", "train s", "train MB", "predict s", "predict MB"])
    assert all(ax.texts for ax in plots.bench_chart(scale, "scale").get_axes())


def test_metric_bars_accepts_evaluate_split_metrics():
    fig = plots.metric_bars(long_metrics()[lambda t: t["protocol"] == "released"], metric="auroc")
    assert len(fig.get_axes()[0].patches) >= 5
