"""The book's first table (grnlib.benchmark.headline): re-derived from the committed sweep summaries, the README
shows the same table, intervals stay inside [0, 1], and the model of each protocol is the validation choice."""
import numpy as np
import pandas as pd
import pytest

from grnlib.benchmark import headline
from grnlib.benchmark.summary import aggregate, bounded_ci, load_summaries, select_by_validation
from grnlib.evaluation.presets import BEST_CANDIDATES, BEST_PROTOCOLS, BEST_SELECTED
from grnlib.paths import project_root

ROOT = project_root()
SUMMARIES = ROOT / "results" / "benchmark"


@pytest.fixture(scope="module")
def summary():
    return load_summaries(SUMMARIES, headline.HEADLINE_SWEEPS)


def test_the_readme_shows_the_headline_of_the_committed_summaries():
    readme = (ROOT / "README.md").read_text()
    assert headline.readme_block(SUMMARIES) in readme, \
        "README's headline table is stale: run `python -m grnlib.benchmark.headline --readme README.md`"


def test_each_protocol_shows_its_validation_choice(summary):
    """The alias a user trains (chosen on validation, re-derived by tests/test_presets_selection.py); a summary
    without it shows the candidate with the highest mean validation AUROC."""
    chosen = headline.chosen_models(summary)
    for alias, protocols in BEST_PROTOCOLS.items():
        assert {chosen[p] for p in protocols} == {BEST_SELECTED[alias]}
    without = headline.chosen_models(summary[~summary["model"].isin(BEST_SELECTED.values())])
    for alias, protocols in BEST_PROTOCOLS.items():
        present = [c for c in BEST_CANDIDATES[alias] if c in set(summary["model"]) - set(BEST_SELECTED.values())]
        expected = select_by_validation(summary, protocols, present).index[0]
        assert {without[p] for p in protocols} == {expected}


def test_every_interval_holds_its_mean_inside_0_1(summary):
    frame = headline.headline_frame(summary)
    assert set(frame["protocol"]) == {"released", "heldout-tf", "degree-matched"}
    for name in ("chosen", "degree", "edge_prior"):
        assert (frame[f"{name}_low"] >= 0).all() and (frame[f"{name}_high"] <= 1).all()
        assert (frame[f"{name}_low"] <= frame[name]).all() and (frame[name] <= frame[f"{name}_high"]).all()
    assert "nan" not in headline.headline_table(frame).lower()


def test_the_text_says_below_where_a_gap_is_below_zero():
    row = dict(protocol="heldout-tf", network="X", metric="pooled AUROC", model="m", settings=4, chosen=0.7,
               chosen_low=0.6, chosen_high=0.8, degree=0.8, degree_low=0.7, degree_high=0.9, edge_prior=0.75,
               edge_prior_low=0.7, edge_prior_high=0.8, gap=-0.1, gap_low=-0.15, gap_high=-0.05)
    frame = pd.DataFrame([row])
    assert headline.verdict(frame.iloc[0]) == "below"
    assert "below it in 1" in headline.headline_text(frame)


def test_a_bounded_interval_never_leaves_0_1():
    values = np.array([0.98, 0.40])  # mean ± t · sem would be [-2.99, 4.37]
    low, high = bounded_ci(values)
    assert 0 <= low <= values.mean() <= high <= 1
    summary = pd.DataFrame({"dataset": ["a", "b"], "protocol": "p", "network": "n", "model": "m",
                            "auroc_mean": values})
    table = aggregate(summary, ("protocol", "network"), "auroc", floor="m")
    assert table["ci_low"].iloc[0] >= 0 and table["ci_high"].iloc[0] <= 1


def test_the_figure_keeps_its_legend_outside_the_panels(summary):
    import matplotlib

    matplotlib.use("Agg")
    fig = headline.headline_figure(headline.headline_frame(summary))
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert not any(legend.overlaps(ax.get_window_extent()) for ax in fig.axes)


def test_panel_titles_never_run_into_each_other(summary):
    import matplotlib

    matplotlib.use("Agg")
    frame = headline.headline_frame(summary)
    from grnlib.evaluation.presets import BLEND_CANDIDATES, STACK_CANDIDATES

    names = [n for pool in (BEST_CANDIDATES, BLEND_CANDIDATES, STACK_CANDIDATES) for c in pool.values() for n in c]
    frame = frame.assign(model=max(names, key=len))  # the longest name an alias can take
    fig = headline.headline_figure(frame)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for row in range(len(headline.METRICS)):
        titles = [ax.title.get_window_extent(renderer) for ax in fig.axes[row * 3:(row + 1) * 3]]
        assert not any(a.overlaps(b) for a, b in zip(titles, titles[1:])), "panel titles overlap"
