"""Legends sit outside the data: a legend box never overlaps the axes it describes, in the book's figures
(grnlib.plots and the benchmark figures), so no point or bar hides behind it."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from grnlib import plots  # noqa: E402
from grnlib.benchmark import summary as bench  # noqa: E402


def legends_clear_of_axes(fig) -> bool:
    fig.canvas.draw()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    assert legends, "the figure has no legend to check"
    boxes = [legend.get_window_extent() for legend in legends]
    return not any(box.overlaps(ax.get_window_extent()) for box in boxes for ax in fig.axes)


def toy_summary():
    rows = []
    for dataset, network in (("beeline/Specific/a/500", "Specific"), ("beeline/STRING/b/500", "STRING")):
        for protocol in ("released", "heldout-tf"):
            for model, value in (("degree", 0.8), ("edge_prior", 0.79), ("random", 0.5), ("m", 0.82)):
                rows.append(dict(dataset=dataset, network=network, protocol=protocol, model=model, auroc_mean=value,
                                 per_tf_auroc_mean=value - 0.05, val_auroc_mean=value))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("make", [
    lambda: plots.roc_pr_curves(np.r_[np.ones(20), np.zeros(20)], {"a": np.linspace(0, 1, 40),
                                                                     "b": np.linspace(1, 0, 40)}),
    lambda: plots.metric_bars(pd.DataFrame({"name": ["degree", "m"] * 3, "seed": [0, 0, 1, 1, 2, 2],
                                            "auroc": [0.8, 0.82, 0.81, 0.83, 0.79, 0.8]})),
    lambda: bench.benchmark_figure(bench.aggregate(toy_summary(), ("protocol", "network"), "auroc")),
    lambda: bench.floors_figure(toy_summary()),
], ids=["roc_pr", "metric_bars", "benchmark_figure", "floors_figure"])
def test_legend_is_outside_the_data(make):
    assert legends_clear_of_axes(make())
