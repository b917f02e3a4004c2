"""Plots of your network, in the scanpy style (``grnlib.pl``): each function takes ``ax=`` (or makes
the figure) and returns the figure.

>>> import grnlib
>>> ranked = model.rank(adata, top_k=1000)
>>> grnlib.pl.targets(ranked, "HNF4A")                  # a TF's top targets as a small network
>>> grnlib.pl.scores(ranked)                            # scores of prior edges against new ones
>>> dc.mt.ulm(adata, model.rank(adata, top_k=1000, format="decoupler"))
>>> grnlib.pl.activities(adata, groupby="cell_type")    # decoupler's TF activities per group

Tables from :meth:`grnlib.GRNModel.rank` in any format are accepted (grnlib's own has the
``score``/``in_prior``/``sign`` columns that colour the plots).

The chapters' figures are here too (:mod:`grnlib.plots`, the sweep figures of
:mod:`grnlib.benchmark.summary`): ``grnlib.pl.roc_pr_curves``, ``pl.metric_panels``, ``pl.benchmark_figure`` ...
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from grnlib.benchmark.summary import benchmark_figure, floors_figure
from grnlib.formats import written_as
from grnlib.errors import DataError
from grnlib.plots import (_axes, _no_data, ablation_points, bench_chart, catalogue_counts, count_heatmap,
                          degree_distributions, degree_grid, forest, labelled_bars, library_sizes, lr_schedules,
                          metric_bars, metric_panels, outside_legend, panels, prior_coverage, reliability_curves, reliability_panels,
                          roc_pr_curves, scale_costs, scaling_curves, scores_by_role, tf_activities, training_curves)

__all__ = ["activities", "scores", "targets",  # your network
           # the chapters' figures
           "ablation_points", "bench_chart", "benchmark_figure", "catalogue_counts", "count_heatmap",
           "degree_distributions", "degree_grid", "floors_figure", "forest", "labelled_bars", "library_sizes",
           "lr_schedules",
           "metric_bars", "metric_panels", "outside_legend", "panels", "prior_coverage", "reliability_curves",
           "reliability_panels", "roc_pr_curves", "scale_costs", "scaling_curves", "scores_by_role", "tf_activities",
           "training_curves"]


def _edges(ranked: pd.DataFrame) -> pd.DataFrame:
    """``tf, target, value`` (+ ``in_prior``/``sign`` when present) of a ranked table in any format."""
    if isinstance(ranked, dict):
        raise DataError(None, "got one table per group", "pass one group's table, e.g. ranked['hepatocyte']")
    written = written_as(ranked.columns)
    if written is not None:
        out = pd.DataFrame({"tf": ranked[written.source].astype(str), "target": ranked[written.target].astype(str),
                            "value": ranked[written.weight_column].astype(float)})
        for extra in ("in_prior", "sign"):
            if extra in ranked:
                out[extra] = ranked[extra].to_numpy()
        return out.assign(label=written.weight_column)
    raise DataError(None, f"not a ranked table (columns {list(ranked.columns)})",
                    "pass a table from GRNModel.rank (tf, target, score ... or source, target, weight)")


def targets(ranked: pd.DataFrame, tf: str, n: int = 15, ax=None, title: str = ""):
    """``tf`` and its ``n`` best-ranked targets as a small star network: the TF in the centre, targets
    around it from the best (at twelve o'clock) clockwise, edge width by score; prior edges solid,
    new ones dashed; red/blue edges for activation/repression when the table has a ``sign``."""
    edges = _edges(ranked)
    mine = edges[edges["tf"] == str(tf)].sort_values("value", ascending=False).head(n)
    fig, ax = _axes(ax, size=(5.5, 5.5))
    if mine.empty:  # e.g. a group whose best edges belong to other TFs: say so in the panel
        _no_data(ax, title or f"{tf}: no edge among these {len(edges):,}")
        return fig
    angles = np.pi / 2 - 2 * np.pi * np.arange(len(mine)) / len(mine)
    xs, ys = np.cos(angles), np.sin(angles)
    values = mine["value"].to_numpy()
    spread = values.max() - values.min()
    widths = 1.0 + 4.0 * ((values - values.min()) / spread if spread > 0 else np.ones_like(values))
    prior = mine["in_prior"].to_numpy() == 1 if "in_prior" in mine else np.zeros(len(mine), bool)
    signs = mine["sign"].to_numpy() if "sign" in mine else np.zeros(len(mine))
    for x, y, width, known, sign in zip(xs, ys, widths, prior, signs):
        colour = "tab:red" if sign > 0 else "tab:blue" if sign < 0 else "grey"
        ax.plot([0, 0.82 * x], [0, 0.82 * y], color=colour, lw=width, ls="-" if known else "--", alpha=0.8,
                zorder=1)
    ax.scatter(xs, ys, s=600, color="white", edgecolor="black", zorder=2)
    for x, y, gene in zip(xs, ys, mine["target"]):
        ax.annotate(gene, (x, y), ha="center", va="center", fontsize=7, zorder=3)
    ax.scatter([0], [0], s=1400, color="gold", edgecolor="black", zorder=2)
    ax.annotate(str(tf), (0, 0), ha="center", va="center", fontsize=9, weight="bold", zorder=3)
    legend = "solid: in the priors, dashed: new" + ("; red: activation, blue: repression" if "sign" in mine else "")
    ax.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3), aspect="equal", xticks=[], yticks=[],
           title=title or f"{tf}: top {len(mine)} targets (width: {mine['label'].iloc[0]})")
    ax.set_xlabel(legend, fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig


def scores(ranked: pd.DataFrame, ax=None, bins: int = 50, title: str = ""):
    """Score distribution of the ranked edges that are in the priors against the new ones (the
    ``in_prior`` column): how far above the rest the model puts what it was told about."""
    edges = _edges(ranked)
    if "in_prior" not in edges:
        raise DataError(None, "the ranked table has no in_prior column",
                        "pass a table in grnlib's format (model.rank(adata), format='grnlib')")
    fig, ax = _axes(ax, size=(6.5, 4.2))
    values = edges["value"].to_numpy()
    grid = np.linspace(values.min(), values.max(), bins) if values.max() > values.min() else bins
    for known, name, colour in ((0, "new (not in the priors)", "grey"), (1, "in the priors", "tab:orange")):
        chosen = values[edges["in_prior"].to_numpy() == known]
        if len(chosen):
            ax.hist(chosen, bins=grid, density=True, histtype="step", lw=1.8, color=colour,
                    label=f"{name}: {len(chosen):,} edges")
    ax.set(xlabel=edges["label"].iloc[0] + (" (logit)" if edges["label"].iloc[0] == "score" else ""),
           ylabel="density", title=title or f"Scores of {len(edges):,} ranked edges")
    ax.legend(fontsize=8)
    return fig


def activities(data, groupby: str | None = None, key: str = "score_ulm", n_tfs: int = 20, ax=None,
               title: str = ""):
    """TF activities from decoupler (``dc.mt.ulm(adata, net)`` writes ``adata.obsm["score_ulm"]``):
    with ``groupby`` (an ``adata.obs`` column) the mean activity of the ``n_tfs`` TFs that differ most
    between groups, as a TFs x groups heatmap; without it, cells x TFs
    (:func:`grnlib.plots.tf_activities`). ``data``: the AnnData, or the activity table itself
    (cells x TFs, then ``groupby`` is a per-cell label sequence)."""
    if isinstance(data, pd.DataFrame):
        table, labels = data, groupby
    else:
        if key not in data.obsm:
            raise DataError(None, f"adata.obsm has no {key!r} (keys: {list(data.obsm)})",
                            "run decoupler first, e.g. dc.mt.ulm(adata, network), or pass key=")
        table = pd.DataFrame(np.asarray(data.obsm[key]), index=data.obs_names,
                             columns=getattr(data.obsm[key], "columns", None))
        if groupby is not None and groupby not in data.obs:
            raise DataError(None, f"adata.obs has no column {groupby!r}", f"use one of {list(data.obs.columns)[:10]}")
        labels = None if groupby is None else data.obs[groupby].to_numpy()
    table = table.astype(float)
    if labels is None or isinstance(labels, str):
        return tf_activities(table, n_tfs=n_tfs, ax=ax, title=title)
    means = table.groupby(np.asarray(labels)).mean()  # groups x TFs
    shown = means[means.var().sort_values(ascending=False).index[:n_tfs]].T  # TFs x groups
    fig, ax = _axes(ax, size=(1.0 * shown.shape[1] + 3.5, 0.25 * shown.shape[0] + 2.2))
    limit = float(np.nanmax(np.abs(shown.to_numpy()))) or 1.0
    image = ax.imshow(shown.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                      interpolation="nearest")
    ax.set_yticks(range(shown.shape[0]), shown.index, fontsize=8)
    ax.set_xticks(range(shown.shape[1]), [str(c) for c in shown.columns], rotation=45, ha="right", fontsize=8)
    ax.set(title=title or f"Mean TF activity per group ({shown.shape[0]} TFs that differ most)")
    fig.colorbar(image, ax=ax, label="mean activity", shrink=0.8)
    return fig
