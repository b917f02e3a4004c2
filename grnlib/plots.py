"""Figures for the notebooks. Each function takes ``ax=`` (or creates one) and returns the figure."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve


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
    roc_ax.legend(loc="lower right", fontsize=8)
    pr_ax.legend(loc="upper right", fontsize=8)
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
        ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
    return fig


def metric_bars(table: pd.DataFrame, metric: str = "auroc", hue: str | None = None, ax=None,
                floor_model: str = "degree", title: str = ""):
    """Mean ± std of ``metric`` per model (rows of a long table with columns model, seed, metric).

    The degree floor's mean is drawn as a dashed line so every bar is read against it.
    """
    fig, ax = _axes(ax, size=(7, 4.2))
    order = table.groupby("model")[metric].mean().sort_values().index
    sns.barplot(data=table, x="model", y=metric, hue=hue, order=order, errorbar="sd", ax=ax)
    if floor_model in set(table["model"]):
        ax.axhline(table.loc[table["model"] == floor_model, metric].mean(), ls="--", c="black",
                   label=f"{floor_model} floor")
        ax.legend(fontsize=8)
    ax.set(xlabel="", ylabel=metric.upper(), title=title)
    ax.tick_params(axis="x", rotation=30)
    return fig


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
    ax.legend(fontsize=8)
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
