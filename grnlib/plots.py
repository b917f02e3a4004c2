"""Figures for the notebooks. Each function takes ``ax=`` (or ``axes=``, or creates them) and returns the figure.

Tables and text for the same chapters are in :mod:`grnlib.tables`; a chapter shows the figure first and
the table with the numbers after it.
"""
from __future__ import annotations

import textwrap
import warnings
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve


def outside_legend(ax, **kwargs):
    """The legend of ``ax`` to its right, outside the data (the book's tight bounding box and constrained layout
    keep it in the image); nothing when ``ax`` has no labelled artist."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False, **kwargs)


def _axes(ax, n=1, size=(5.5, 4.2)):
    if ax is not None:
        first = ax[0] if isinstance(ax, (list, tuple, np.ndarray)) else ax
        return first.figure, ax
    fig, ax = plt.subplots(1, n, figsize=(size[0] * n, size[1]), layout="constrained")
    return fig, ax


def roc_pr_curves(y_true: np.ndarray, scores: Mapping[str, np.ndarray], axes=None, title: str = ""):
    """ROC (left) and precision-recall (right) curves of several scorers on the same test pairs."""
    fig, axes = _axes(axes, n=2)
    roc_ax, pr_ax = axes
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y_true, score)
        roc_ax.plot(fpr, tpr, label=f"{name} (AUROC {roc_auc_score(y_true, score):.3f})")
        precision, recall, _ = precision_recall_curve(y_true, score)
        pr_ax.plot(recall, precision, label=f"{name} (AUPRC {average_precision_score(y_true, score):.3f})")
    roc_ax.plot([0, 1], [0, 1], ls=":", c="grey")
    pr_ax.axhline(np.mean(y_true), ls=":", c="grey", label=f"random ({np.mean(y_true):.3f})")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC {title}".strip())
    pr_ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall {title}".strip(), ylim=(0, 1.02))
    outside_legend(roc_ax, fontsize=8)
    outside_legend(pr_ax, fontsize=8)
    return fig


def training_curves(histories: Mapping[str, pd.DataFrame] | pd.DataFrame, axes=None,
                    metric: str = "val_auroc", floor: float | None = None):
    """Training loss (left) and a validation metric (right) per epoch, one line per run.

    ``floor`` draws the degree baseline's value of ``metric`` as a dashed line.
    """
    if isinstance(histories, pd.DataFrame):
        histories = {"model": histories}
    fig, axes = _axes(axes, n=2)
    for name, h in histories.items():
        axes[0].plot(h["epoch"], h["loss"], label=name)
        axes[1].plot(h["epoch"], h[metric], label=name)
    if floor is not None:
        axes[1].axhline(floor, ls="--", c="black", label="degree floor")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="Training loss")
    axes[1].set(xlabel="epoch", ylabel=metric.replace("_", " "), title=f"Validation {metric.split('_')[-1].upper()}")
    for ax in axes:
        outside_legend(ax, fontsize=8)
    return fig


def degree_distributions(edges: pd.DataFrame, ax=None, title: str = ""):
    """TF out-degree and gene in-degree histograms (log-scaled counts) of an edge table."""
    fig, axes = _axes(ax, n=2)
    for axis, column, label in ((axes[0], "tf", "TF out-degree"), (axes[1], "target", "gene in-degree")):
        degree = edges[column].value_counts()
        sns.histplot(degree, bins=40, ax=axis, log_scale=(True, False))
        axis.set(xlabel=f"{label} (log scale)", ylabel="count", title=f"{label} {title}".strip())
    return fig


def reliability_curves(y_true: np.ndarray, probabilities: Mapping[str, np.ndarray], ax=None, n_bins: int = 10):
    """Calibration: mean predicted probability against the observed positive fraction per bin."""
    fig, ax = _axes(ax)
    for name, p in probabilities.items():
        observed, predicted = calibration_curve(y_true, p, n_bins=n_bins, strategy="quantile")
        ax.plot(predicted, observed, marker="o", label=name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey", label="perfect calibration")
    ax.set(xlabel="mean predicted probability", ylabel="observed positive fraction", title="Reliability")
    outside_legend(ax, fontsize=8)
    return fig


def metric_bars(table: pd.DataFrame, metric: str = "auroc", hue: str | None = None, ax=None,
                floor_model: str = "degree", title: str = ""):
    """Mean ± std of ``metric`` per model (rows of a long table with columns model or name, seed, metric).

    The degree floor's mean is drawn as a dashed line so every bar is read against it.
    """
    if "model" not in table and "name" in table:  # evaluate_split's metrics name their scorers "name"
        table = table.rename(columns={"name": "model"})
    fig, ax = _axes(ax, size=(7, 4.2))
    order = table.groupby("model")[metric].mean().sort_values().index
    sns.barplot(data=table, x="model", y=metric, hue=hue, order=order, errorbar="sd", ax=ax)
    if floor_model in set(table["model"]):
        ax.axhline(table.loc[table["model"] == floor_model, metric].mean(), ls="--", c="black",
                   label=f"{floor_model} floor")
        outside_legend(ax, fontsize=8)
    ax.set(xlabel="", ylabel=metric.upper(), title=title)
    ax.tick_params(axis="x", rotation=30)
    return fig


def _no_data(ax, title: str = ""):
    """An empty panel that says the run has no such data (instead of a blank or an error)."""
    ax.text(0.5, 0.5, "not in this run", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set(title=title, xticks=[], yticks=[])
    return ax.figure


def _row(n: int, size=(5.5, 4.2)):
    """A figure with ``n`` panels side by side (a flat array of axes)."""
    fig, axes = plt.subplots(1, n, figsize=(size[0] * n, size[1]), layout="constrained", squeeze=False)
    return fig, axes[0]


def metric_panels(table: pd.DataFrame, by: str, metric: str = "auroc", floor_model: str = "degree",
                  ylim=None, size=(6, 4.5)):
    """One :func:`metric_bars` panel per value of ``by`` (protocol, setting), in order of appearance."""
    groups = list(dict.fromkeys(table[by]))
    fig, axes = _row(len(groups), size)
    for ax, group in zip(axes, groups):
        metric_bars(table[table[by] == group], metric=metric, ax=ax, floor_model=floor_model, title=str(group))
        if ylim is not None:
            ax.set_ylim(*ylim)
    return fig


def degree_grid(datasets: Mapping):
    """:func:`degree_distributions` of each dataset (``{id: GRNDataset}``), one row per dataset."""
    fig, axes = plt.subplots(len(datasets), 2, figsize=(11, 3.2 * len(datasets)), layout="constrained",
                             squeeze=False)
    for (name, ds), row in zip(datasets.items(), axes):
        degree_distributions(ds.edges, ax=row, title=name.split("/", 1)[-1])
    return fig


def library_sizes(datasets: Mapping, axes=None):
    """Histogram of per-cell library size (sum of expression over genes), one panel per dataset."""
    fig, axes = (axes[0].figure, axes) if axes is not None else _row(len(datasets), (5.5, 3.6))
    for (name, ds), ax in zip(datasets.items(), axes):
        sns.histplot(ds.expression_matrix().sum(axis=0), bins=40, ax=ax)
        ax.set(xlabel="library size (sum of log expression per cell)", ylabel="cells", title=name)
    return fig


def catalogue_counts(catalogue: pd.DataFrame, ax=None):
    """Datasets per family and network (rows of :func:`grnlib.data.list_datasets`), split by
    whether they have expression."""
    fig, ax = _axes(ax, size=(7, 0.35 * catalogue[["family", "network"]].drop_duplicates().shape[0] + 1.5))
    label = catalogue["family"] + "/" + catalogue["network"].fillna("—").astype(str)
    counts = (catalogue.assign(group=label, expression=catalogue["has_expression"].map({True: "with expression",
                                                                                       False: "without"}))
              .groupby(["group", "expression"]).size().unstack(fill_value=0))
    counts.plot.barh(stacked=True, ax=ax, width=0.7)
    ax.set(xlabel="datasets", ylabel="", title="Datasets by family and network")
    outside_legend(ax, fontsize=8)
    return fig


def prior_coverage(overlap: pd.DataFrame, ax=None):
    """Fraction of each prior resource's edges whose TF and target are both measured, per expression set
    (rows of :func:`grnlib.tables.prior_overlap`)."""
    fig, ax = _axes(ax, size=(7, 3.8))
    sns.barplot(data=overlap.reset_index(), x="resource", y="fraction", hue="expression set", ax=ax)
    ax.set(ylabel="edges with both genes measured", xlabel="", ylim=(0, 1), title="Prior edges expression can use")
    outside_legend(ax, fontsize=8)
    return fig


def ablation_points(metrics: pd.DataFrame, metric: str = "auroc", floor_model: str = "degree", ax=None):
    """Width x depth ablation: ``metric`` of runs named ``... w<width> d<depth>`` (one point per width,
    one line per depth, ± std over seeds), the floor as a dashed line."""
    fig, ax = _axes(ax, size=(6, 4))
    named = metrics["name"].str.extract(r"w([\d.]+) d(\d+)$").astype(float)
    part = metrics.assign(width=named[0], depth=named[1]).dropna(subset=["width", "depth"])
    sns.pointplot(data=part.assign(depth=part["depth"].astype(int)), x="width", y=metric, hue="depth",
                  errorbar="sd", ax=ax)
    ax.axhline(metrics.loc[metrics["name"] == floor_model, metric].mean(), ls="--", c="black",
               label=f"{floor_model} floor")
    ax.set(title=f"Width and depth ablation (test {metric.upper()})", ylabel=metric.upper())
    outside_legend(ax, title="depth", fontsize=8)
    return fig


def lr_schedules(histories: Mapping[str, pd.DataFrame], ax=None):
    """Learning rate per epoch of each run's history."""
    fig, ax = _axes(ax, size=(6, 3.5))
    for name, history in histories.items():
        ax.plot(history["epoch"], history["lr"], label=name)
    ax.set(xlabel="epoch", ylabel="learning rate", title="Learning-rate schedule")
    outside_legend(ax, fontsize=8)
    return fig


def reliability_panels(evaluations: Mapping, names):
    """:func:`reliability_curves` of the models ``names``, one panel per evaluation (``{title: Evaluation}``)."""
    fig, axes = _row(len(evaluations))
    for ax, (title, evaluation) in zip(axes, evaluations.items()):
        reliability_curves(evaluation.y_test, {n: evaluation.test_probabilities(n) for n in names}, ax=ax)
        ax.set_title(f"Reliability, {title}")
    return fig


def count_heatmap(table: pd.DataFrame, ax=None, title: str = "", fmt: str = "g", cmap: str = "Blues",
                  center: float | None = None):
    """An annotated heatmap of a small numeric table (rows x columns), e.g. settings run per
    protocol and scorer, or an audit's fractions per setting; ``center`` for a diverging ``cmap``."""
    fig, ax = _axes(ax, size=(0.75 * table.shape[1] + 3, 0.4 * table.shape[0] + 1.8))
    with warnings.catch_warnings():  # seaborn's own use of a matplotlib API about to change
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(table.astype(float), annot=True, fmt=fmt, cmap=cmap, center=center, cbar=False, ax=ax,
                    annot_kws={"fontsize": 8})
    ax.set(title=title, xlabel="", ylabel="")
    ax.tick_params(axis="x", rotation=45)
    return fig


def labelled_bars(table: pd.DataFrame, value: str, label: str, hue: str | None = None, ax=None,
                  title: str = "", xlabel: str = "", log: bool = False, line: float | None = None):
    """Horizontal bars of ``value`` per ``label`` (and ``hue``), optionally log-scaled, with a
    reference line at ``line`` (a target, a floor). An empty table gives a panel that says so."""
    lines = max([str(name).count("\n") + 1 for name in table[label]] or [1])  # wrapped labels need more height
    fig, ax = _axes(ax, size=(7, 0.3 * lines * table[label].nunique() * (1 if hue is None else 1.5) + 1.6))
    if table[value].isna().all():
        return _no_data(ax, title)
    sns.barplot(data=table, y=label, x=value, hue=hue, orient="h", ax=ax)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())  # a short span: no crowded minor-tick labels
    if hue is None:
        for bars in ax.containers:  # the value at each bar's end: short log spans show few ticks
            ax.bar_label(bars, fmt="%.3g", fontsize=8, padding=2)
    if line is not None:
        ax.axvline(line, ls="--", c="black")
    ax.set(title=title, xlabel=xlabel or value, ylabel="")
    if hue is not None:
        outside_legend(ax, fontsize=8)
    return fig


def scaling_curves(curves: Mapping[str, pd.DataFrame], x: str, panels: Mapping[str, str], log: bool = False):
    """One panel per ``{column: axis label}`` of ``panels``: that column of every curve against ``x``.
    Empty curves are left out; with none left the panels say so."""
    curves = {name: frame for name, frame in curves.items() if len(frame)}
    fig, axes = _row(len(panels), (5, 3.8))
    if not curves:
        for ax, column in zip(axes, panels):
            _no_data(ax, column)
        return fig
    for ax, (column, ylabel) in zip(axes, panels.items()):
        for name, frame in curves.items():
            frame = frame.sort_values(x)
            ax.plot(frame[x], frame[column], marker="o", label=name)
        ax.set(xlabel=x, ylabel=ylabel, ylim=(0, None) if not log else (None, None))
        if log:
            ax.set(xscale="log", yscale="log")
        outside_legend(ax, fontsize=8)
    return fig


#: How :func:`bench_chart` draws each section of ``results/bench/bench.json`` (frames of ``grnlib.tables.bench_table``).
BENCH_CHARTS = {
    "training": dict(value="epoch s", label="model", hue="dataset", log=True, title="One training epoch",
                     xlabel="seconds (log scale)"),
    "reference": dict(value="seconds", label="dataset", hue="model", log=True, title="One training epoch",
                      xlabel="seconds (log scale)"),
    "phase4_fit": dict(value="fit s", label="dataset", title="Phase-4 fit to convergence", xlabel="seconds"),
    "targets": dict(value="miss ×", label="target", line=1.0, log=True, title="Missed targets (met ones have no bar)",
                    xlabel="miss factor (log scale)"),
    "profile": dict(value="% of epoch", label="op", title="Where a phase-4 epoch spends its time",
                    xlabel="% of epoch (CPU)"),
}


def bench_chart(table: pd.DataFrame, section: str, ax=None):
    """The figure of one benchmark section (:data:`BENCH_CHARTS`); the GENELink-style reference is
    drawn beside the phase-4 epoch on the same dataset, and the ``scale`` section as train and predict
    cost against the non-zeros of the matrix."""
    if section == "scale":
        table = _numeric(table, [c for c in table if c != "dataset"])
        return scaling_curves({step: table.rename(columns={f"{step} s": "seconds", f"{step} MB": "MB"})
                               for step in ("train", "predict")}, x="non-zeros",
                              panels={"seconds": "seconds", "MB": "peak RSS (MB)"})
    if section == "targets":  # only the missed ones have a bar; their long names wrapped, so the bars keep room
        table = _numeric(table, ["miss ×"]).dropna(subset=["miss ×"])
        table = table.assign(target=table["target"].map(lambda name: textwrap.fill(str(name), 48)))
    if section == "reference":
        table = _numeric(table, ["reference s", "phase-4 s"])
        table = table.melt(id_vars="dataset", value_vars=["reference s", "phase-4 s"], var_name="model",
                           value_name="seconds")
    return labelled_bars(_numeric(table, [BENCH_CHARTS[section]["value"]]), ax=ax, **BENCH_CHARTS[section])


def _numeric(table: pd.DataFrame, columns) -> pd.DataFrame:
    """``columns`` as numbers: display frames write "—" where a run has no value."""
    return table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in columns if c in table})


def scores_by_role(scores, roles, ax=None, bins: int = 60):
    """Score densities of ranked pairs by what they were in training (``roles`` from
    :func:`grnlib.user.prior_roles`: ``train``/``test`` prior edges against ``not in priors``)."""
    fig, ax = _axes(ax, size=(7, 4.2))
    scores, roles = np.asarray(scores, dtype=float), np.asarray(roles)
    edges = np.linspace(scores.min(), scores.max(), bins)
    for role, colour in (("not in priors", "grey"), ("train", "tab:blue"), ("test", "tab:orange")):
        values = scores[roles == role]
        if len(values):
            ax.hist(values, bins=edges, density=True, histtype="step", lw=1.8, color=colour,
                    label=f"{role} ({len(values):,} pairs)")
    ax.set(xlabel="score (logit)", ylabel="density", title="Scores of prior edges and all other candidate pairs")
    outside_legend(ax, fontsize=8)
    return fig


def tf_activities(activities: pd.DataFrame, n_tfs: int = 20, ax=None, title: str = ""):
    """Heatmap of TF activities per cell (cells x TFs, e.g. decoupler's ``obsm["score_ulm"]``): the
    ``n_tfs`` TFs whose activity varies most, cells ordered along the first principal axis of the
    activities so cells with similar regulation sit together."""
    values = activities.astype(float)
    shown = values[values.var().sort_values(ascending=False).index[:n_tfs]]
    centred = shown - shown.mean()
    order = np.argsort(np.linalg.svd(centred.to_numpy(), full_matrices=False)[0][:, 0]) if shown.shape[1] > 1 \
        else np.argsort(shown.iloc[:, 0].to_numpy())
    fig, ax = _axes(ax, size=(8, 0.25 * shown.shape[1] + 2.2))
    limit = float(np.nanpercentile(np.abs(shown.to_numpy()), 99)) or 1.0
    image = ax.imshow(shown.iloc[order].T.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                      interpolation="nearest")
    ax.set_yticks(range(shown.shape[1]), shown.columns, fontsize=8)
    ax.set(xlabel=f"cells ({len(shown):,}, ordered by their main activity pattern)", xticks=[],
           title=title or f"TF activity per cell ({shown.shape[1]} most variable TFs)")
    fig.colorbar(image, ax=ax, label="activity (t-value)", shrink=0.8)
    return fig


def scale_costs(table: pd.DataFrame):
    """Train and predict cost of the benchmark's ``scale`` records against each size measure: seconds
    (top row) and peak RSS (bottom row) against cells, genes and non-zeros, log-log, one point per
    measured size (``table``: ``grnlib.tables.bench_table(bench, "scale")``). A sparse path shows cost
    following the non-zeros; a dense one, cells x genes. Filled markers: the in-memory path; hollow: out of
    core (column ``path``). Rows whose ``how`` column says extrapolated (``bench_table(bench, "scale_all")``)
    are drawn as stars labelled *extrapolated, not run*; a dotted line marks issue 23's 4 GB memory goal."""
    table = _numeric(table, ["cells", "genes", "non-zeros", "train s", "train MB", "predict s", "predict MB"])
    guessed = table["how"].astype(str).str.startswith("extrapolated") if "how" in table else \
        pd.Series(False, index=table.index)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.2), layout="constrained", squeeze=False)
    rows = (("s", "seconds"), ("MB", "peak RSS (MB)"))
    for (unit, ylabel), row in zip(rows, axes):
        for x, ax in zip(("cells", "genes", "non-zeros"), row):
            shown = False
            paths = table["path"].unique() if "path" in table and len(table) else [None]
            for path in paths:
                on_path = table if path is None else table[table["path"] == path]
                for step, color, marker in (("train", "tab:blue", "o"), ("predict", "tab:orange", "s")):
                    label = step if len(paths) < 2 else f"{step}, {path}"
                    for extrapolated in (False, True):
                        rows = on_path[guessed.loc[on_path.index] == extrapolated]
                        points = rows[[x, f"{step} {unit}"]].dropna() if len(rows) else rows
                        if not len(points):
                            continue
                        if extrapolated:
                            style = dict(marker="*", s=140, facecolors="none", edgecolors=color, linewidths=1.2,
                                         label=f"{label}, extrapolated (not run)")
                        else:
                            style = dict(marker=marker, label=label, **(
                                dict(facecolors="none", edgecolors=color) if path == "out-of-core" else dict(color=color)))
                        ax.scatter(points[x], points[f"{step} {unit}"], **style)
                        shown = True
            if not shown:
                _no_data(ax, f"{ylabel} vs {x}")
                continue
            ax.set(xscale="log", yscale="log", xlabel=x, ylabel=ylabel)
            if unit == "MB" and guessed.any():
                ax.axhline(4096, color="grey", linestyle=":", linewidth=1, label="4 GB goal")
            for axis in (ax.xaxis, ax.yaxis):  # spans of about a decade: no crowded minor-tick labels
                axis.set_minor_formatter(plt.NullFormatter())
    legend = {}  # one legend for the six panels, below them: the panels keep the width
    for ax in axes.ravel():
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    if legend:
        fig.legend(legend.values(), legend.keys(), loc="outside lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Cost against matrix size (grnlib train / grnlib predict, one point per size)")
    return fig


def forest(table: pd.DataFrame, label: str, value: str, low: str | None = None, high: str | None = None,
           group: str | None = None, reference: float | None = 0.0, ax=None, title: str = "", xlabel: str = ""):
    """One row per ``label`` (in the table's order): a point at ``value`` with a bar from ``low`` to ``high``
    (an interval, or a range the title names), one colour per ``group`` (offset within a row), and a dashed
    line at ``reference`` (0 for a gap, or a target). Rows without a bound get the point alone; an empty table
    gives a panel that says so."""
    labels = list(dict.fromkeys(table[label])) if len(table) else []
    width = 4.5 + 0.065 * max((len(str(v)) for v in labels), default=0)  # the data keeps ~4.5 in beside long labels
    fig, ax = _axes(ax, size=(min(width, 14), 0.32 * len(labels) + 1.6))
    if not labels or table[value].isna().all():
        return _no_data(ax, title)
    groups = list(dict.fromkeys(table[group])) if group else [None]
    step = 0.6 / len(groups)
    for index, name in enumerate(groups):
        part = table if name is None else table[table[group] == name]
        y = np.array([labels.index(v) for v in part[label]]) + (index - (len(groups) - 1) / 2) * step
        x = part[value].to_numpy(dtype=float)
        if low and high:
            lower = np.nan_to_num(x - part[low].to_numpy(dtype=float), nan=0.0)
            upper = np.nan_to_num(part[high].to_numpy(dtype=float) - x, nan=0.0)
            ax.errorbar(x, y, xerr=[np.clip(lower, 0, None), np.clip(upper, 0, None)], fmt="o", ms=4, capsize=2,
                        label=None if name is None else str(name))
        else:
            ax.plot(x, y, "o", ms=4, label=None if name is None else str(name))
    if reference is not None:
        ax.axvline(reference, ls="--", c="black", lw=1)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set(title=title, xlabel=xlabel or value, ylabel="")
    outside_legend(ax, fontsize=8)
    return fig


PANEL_KINDS = {"forest": forest, "heatmap": count_heatmap}  # what a chapter's figure list may ask for by name


def panels(specs: Mapping[str, Mapping]) -> dict:
    """One figure per ``{name: {"kind": "forest" | "heatmap", **keyword arguments}}`` (:data:`PANEL_KINDS`;
    default kind: :func:`forest`). The figures are closed, so each shows where a chapter ``display``s it,
    before its table, instead of at the end of the cell."""
    figures = {}
    for name, spec in specs.items():
        kwargs = dict(spec)
        figures[name] = PANEL_KINDS[kwargs.pop("kind", "forest")](**kwargs)
        plt.close(figures[name])
    return figures
