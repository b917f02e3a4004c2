"""Summaries of a sweep folder: per-setting means over seeds, aggregates by protocol x network with
95 % intervals and paired deltas against the floor, the committed CSV/JSON files the book reads, and
the validation-only choice of the ``best`` aliases."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.errors import DataError
from grnlib.io import write_json, write_table

CELL_FILE = "cells.jsonl"
ERROR_FILE = "errors.jsonl"
META_FILE = "sweep.json"
SUMMARY_METRICS = ("auroc", "auprc", "auprc_ratio", "per_tf_auroc", "per_tf_auprc", "accuracy", "accuracy_at_val_max",
                   "pos_rate", "val_auroc", "val_auprc", "val_nested_auroc", "val_nested_auprc")
CI_METHOD = ("mean ± t(0.975, n - 1) · sem over the n independent units (settings, or seeds within a setting); "
             "for a mean of a bounded metric on the logit scale, mapped back")
FLOORS = ("degree", "edge_prior")  # the two zero-training floors every model is judged against


# -- results file ------------------------------------------------------------------------------

def read_jsonl(path) -> list[dict]:
    """The records of a JSON-lines log written by :func:`grnlib.io.append_jsonl`; a torn last line from a
    killed run is ignored (that cell is simply run again)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    with open(path) as fh:
        for line in fh:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def read_cells(out_dir) -> list[dict]:
    """Finished cells of a sweep folder (a torn last line from a killed run is ignored)."""
    return read_jsonl(Path(out_dir) / CELL_FILE)


def finished_keys(out_dir) -> set[str]:
    return {c["key"] for c in read_cells(out_dir)}


def open_errors(out_dir) -> dict[str, str]:
    """The last error of each cell in ``errors.jsonl`` that has no result yet. A failed cell is retried on the
    next run, and its old error line stays in the log; only the cells still without a result failed."""
    errors = {row["key"]: row["error"] for row in read_jsonl(Path(out_dir) / ERROR_FILE)}
    done = finished_keys(out_dir)
    return {key: error for key, error in errors.items() if key not in done}


def results_frame(out_dir) -> pd.DataFrame:
    """Every record of every finished cell, one row per (cell, scorer)."""
    rows = [r for c in read_cells(out_dir) for r in c["results"]]
    return pd.DataFrame(rows)


def seed_means(results: pd.DataFrame, columns=None) -> pd.DataFrame:
    """One row per (dataset, protocol, model, seed): the mean over that seed's TF folds. The folds of one
    seed share its TF partition, so the seeds, not the folds, are the independent units."""
    keys = [k for k in ("dataset", "protocol", "model", "name", "seed") if k in results]
    columns = [c for c in (columns or SUMMARY_METRICS) if c in results]
    if "fold" not in results:
        return results
    grouped = results.groupby(keys, sort=False, dropna=False)
    out = grouped[columns].mean()
    out.insert(0, "n_folds", grouped.size())
    return out.reset_index()


def summarize_frame(results: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x protocol x model: mean and std over seeds of the summary metrics (each seed's TF
    folds averaged first: :func:`seed_means`).

    Columns: dataset, network, cell, size, protocol, model, n_seeds, n_folds (folds per seed),
    <metric>_mean, <metric>_std.
    """
    metrics = [m for m in SUMMARY_METRICS if m in results]
    per_seed = seed_means(results, metrics)
    grouped = per_seed.groupby(["dataset", "protocol", "model"], sort=True)[metrics]
    table = grouped.agg(["mean", "std"])
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    table.insert(0, "n_seeds", grouped.size())
    if "n_folds" in per_seed:
        table.insert(1, "n_folds", per_seed.groupby(["dataset", "protocol", "model"], sort=True)["n_folds"].max())
    table = table.reset_index()
    parts = [_id_parts(d) for d in table["dataset"]]
    for position, column in enumerate(("network", "cell", "size"), start=1):
        table.insert(position, column, [p[position - 1] for p in parts])
    return table


def _id_parts(dataset: str) -> tuple:
    """(network, cell, size) of a BEELINE id or a subsample of one; (family, rest, None) for any other id."""
    parts = dataset.split("/")
    if (parts[0] == "beeline" and len(parts) == 4) or (parts[0] == "subsample" and len(parts) == 5):
        return parts[1], parts[2], int(parts[3])
    return parts[0], "/".join(parts[1:]), None


def regime(dataset: str) -> str:
    """The regime of a development setting: ``"subsample <edges>"`` for a subsampled network, else ``"full"``."""
    parts = dataset.split("/")
    return f"subsample {parts[4].split('-')[0]}" if parts[0] == "subsample" and len(parts) == 5 else "full"


def aggregate(summary: pd.DataFrame, by=("protocol", "network"), metric: str = "auroc",
              floor: str = "degree") -> pd.DataFrame:
    """Mean over settings of per-setting seed means, with a 95 % interval, and the gap to ``floor``.

    The interval is a Student-t interval over settings (df = n - 1, n = ``n_settings``, the independent
    units), i.e. it describes how much the mean moves between settings, not seed noise alone. The metrics
    are bounded, so the interval is computed on the logit scale and mapped back (:func:`bounded_ci`): it
    never leaves [0, 1], which mean ± t · sem does for a few settings near 1. ``delta`` is the paired mean
    of (model - floor) over the settings where both ran, with its own t interval.

    Returns:
        DataFrame[*by, model, n_settings, mean, ci_low, ci_high, delta, delta_ci_low, delta_ci_high].
    """
    by = list(by)
    column = f"{metric}_mean"
    rows = []
    base = summary[summary["model"] == floor].set_index(["dataset", "protocol"])[column]
    for keys, group in summary.groupby(by + ["model"], sort=True):
        values = group[column].dropna().to_numpy()
        paired = group.set_index(["dataset", "protocol"])[column]
        diff = (paired - base.reindex(paired.index)).dropna().to_numpy()
        row = dict(zip(by + ["model"], keys))
        row.update(n_settings=len(values), **_mean_ci(values, "", bounded=True), **_mean_ci(diff, "delta_"))
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_ci(values: np.ndarray, prefix: str, bounded: bool = False) -> dict:
    """``{mean|delta, <prefix>ci_low, <prefix>ci_high}``: mean ± t(0.975, n - 1) · sem over the n values
    (the independent units; NaN half-width for n < 2); ``bounded``: values in [0, 1], interval from
    :func:`bounded_ci`."""
    name = "delta" if prefix else "mean"
    if len(values) == 0:
        return {name: np.nan, f"{prefix}ci_low": np.nan, f"{prefix}ci_high": np.nan}
    mean = float(np.mean(values))
    if bounded:
        low, high = bounded_ci(values)
        return {name: mean, f"{prefix}ci_low": low, f"{prefix}ci_high": high}
    half = t_half_width(values)
    return {name: mean, f"{prefix}ci_low": mean - half, f"{prefix}ci_high": mean + half}


def bounded_ci(values, level: float = 0.95, eps: float = 1e-4) -> tuple[float, float]:
    """95 % interval of the mean of ``values`` in [0, 1] (AUROC, AUPRC): the Student-t interval of the
    mean logit (df = n - 1), mapped back through the logistic function, so it stays inside (0, 1); it is
    widened where needed to hold the arithmetic mean. (NaN, NaN) for n < 2."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan"), float("nan")
    logits = np.log(np.clip(values, eps, 1 - eps)) - np.log1p(-np.clip(values, eps, 1 - eps))
    centre, half = float(logits.mean()), t_half_width(logits, level)
    low, high = (float(1 / (1 + np.exp(-x))) for x in (centre - half, centre + half))
    mean = float(values.mean())
    return min(low, mean), max(high, mean)


def t_half_width(values, level: float = 0.95) -> float:
    """Half-width of the Student-t interval of the mean of ``values`` (df = n - 1); NaN for n < 2."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def summarize(raw_dir, out_dir="results/benchmark", name: str | None = None) -> dict[str, Path]:
    """Write the committed summaries of a sweep folder into ``out_dir``.

    Files (``name`` prefix, default the sweep folder's name):
        ``<name>_cells.csv.gz``: one row per (cell, scorer) with the key metrics (small);
        ``<name>_summary.csv``: :func:`summarize_frame`;
        ``<name>_by_network.csv``: :func:`aggregate` by protocol x network, AUROC and AUPRC;
        ``<name>_meta.json``: the sweep's command, git commit, host, plan, cell counts.
    """

    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    name = name or raw_dir.name
    results = results_frame(raw_dir)
    if results.empty:
        raise DataError(raw_dir / CELL_FILE, "no finished cells to summarise",
                        "run `python -m grnlib.benchmark.sweep run ... --out RAW_DIR` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    keep = ["dataset", "protocol", "seed", "fold", "model", "kind", "auroc", "auprc", "auprc_ratio", "accuracy",
            "accuracy_at_val_max", "per_tf_auroc", "per_tf_auprc", "early_precision_ratio", "f1", "mcc", "pos_rate", "val_auroc",
            "val_auprc", "val_nested_auroc", "val_nested_auprc", "prior_correction", "n_test", "n_train", "seconds"]
    paths = {"cells": out_dir / f"{name}_cells.csv.gz", "summary": out_dir / f"{name}_summary.csv",
             "by_network": out_dir / f"{name}_by_network.csv", "meta": out_dir / f"{name}_meta.json"}
    write_table(results[[c for c in keep if c in results]].round(5), paths["cells"], sep=",", float_format=None)
    summary = summarize_frame(results)
    write_table(summary.round(5), paths["summary"], sep=",", float_format=None)
    tables = []
    for metric in ("auroc", "auprc"):
        table = aggregate(summary, ("protocol", "network"), metric)
        table.insert(0, "metric", metric)
        tables.append(table)
    write_table(pd.concat(tables, ignore_index=True).round(5), paths["by_network"], sep=",", float_format=None)
    meta = json.loads((raw_dir / META_FILE).read_text()) if (raw_dir / META_FILE).is_file() else {}
    cell_seconds = [c["seconds"] for c in read_cells(raw_dir)]
    meta.update(summarized=time.strftime("%Y-%m-%dT%H:%M:%S%z"), n_cells=len(cell_seconds),
                cell_cpu_seconds_total=round(float(np.sum(cell_seconds)), 1),
                cell_seconds_median=round(float(np.median(cell_seconds)), 2),
                n_errors=len(open_errors(raw_dir)),
                ci_method=CI_METHOD)
    write_json(paths["meta"], meta)
    return paths


def load_summary(folder="results/benchmark", name: str = "reduced") -> dict:
    """The committed summaries of sweep ``name``: dict(cells=, summary=, by_network= DataFrames, meta=dict)."""
    folder = Path(folder)
    paths = {"cells": folder / f"{name}_cells.csv.gz", "summary": folder / f"{name}_summary.csv",
             "by_network": folder / f"{name}_by_network.csv"}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise DataError(missing[0], "benchmark summary not found",
                        f"run `python -m grnlib.benchmark.sweep summarize results/sweep/{name} --out {folder}`")
    out = {key: pd.read_csv(path) for key, path in paths.items()}
    meta_path = folder / f"{name}_meta.json"
    out["meta"] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return out


def load_summaries(folder, names, part: str = "summary") -> pd.DataFrame:
    """The per-setting summaries (``part="cells"``: the per-seed rows) of several committed sweeps in one
    table. Every sweep scores the floors on its own cells; where two sweeps share a split those rows are
    equal and kept once."""
    keys = ["dataset", "protocol", "model"] + (["seed", "fold"] if part == "cells" else [])
    frames = [load_summary(folder, name)[part] for name in names]
    return pd.concat(frames, ignore_index=True).drop_duplicates(keys)


def select_by_validation(summary: pd.DataFrame, protocols, candidates) -> pd.Series:
    """Mean validation AUROC of each candidate over the (dataset, protocol) settings of ``protocols``
    where every candidate ran, best first. Test metrics play no part in the choice.

    Raises:
        ValueError when a candidate has no validation AUROC in ``summary``.
    """
    part = summary[summary["protocol"].isin(protocols) & summary["model"].isin(candidates)]
    table = part.pivot_table(index=["dataset", "protocol"], columns="model", values="val_auroc_mean")
    missing = sorted(set(candidates) - set(table.columns))
    if missing:
        raise ValueError(f"no validation AUROC for {missing} under {list(protocols)}: run them in a sweep first")
    return table.dropna()[list(candidates)].mean().sort_values(ascending=False).rename("val_auroc")


def select_by_worst_case(summary: pd.DataFrame, protocols, candidates, quantile: float = 0.1,
                         metric: str = "val_auroc") -> pd.DataFrame:
    """Candidates ranked by their *worst* settings, on validation only: per (dataset, protocol) of
    ``protocols`` where every candidate and both floors ran, the candidate's mean validation ``metric``
    minus the higher floor's (the floor with the higher mean validation AUROC there, :func:`higher_floor`),
    and per candidate the ``quantile`` of that gap over the settings (0: the minimum). Best first.

    A user gets one model; the mean over settings hides the settings where it falls below the floor.
    Returns a DataFrame indexed by candidate: ``worst`` (the quantile, the ranking key), ``minimum``,
    ``mean`` and ``settings``. Test metrics play no part in the choice.

    Raises:
        ValueError when a candidate has no validation ``metric`` in ``summary``.
    """
    column = f"{metric}_mean"
    part = summary[summary["protocol"].isin(protocols)]
    table = part.pivot_table(index=["dataset", "protocol"], columns="model", values=column)
    missing = sorted(set(candidates) - set(table.columns))
    if missing:
        raise ValueError(f"no {metric} for {missing} under {list(protocols)}: run them in a sweep first")
    floors = [f for f in FLOORS if f in table]
    table = table.dropna(subset=[*candidates, *floors])
    choice = higher_floor(part).reindex(table.index)
    floor_value = np.array([table.at[key, name] for key, name in zip(table.index, choice)])
    gaps = table[list(candidates)].sub(floor_value, axis=0)
    ranking = pd.DataFrame({"worst": gaps.quantile(quantile), "minimum": gaps.min(), "mean": gaps.mean(),
                            "settings": len(gaps)})
    return ranking.sort_values(["worst", "mean"], ascending=False)


def floor_table(aggregated: pd.DataFrame, by=("protocol", "network"), floor: str = "degree") -> pd.DataFrame:
    """Display form of :func:`aggregate`: one row per group and model, ``mean [low, high]`` text,
    the paired gap to the floor, and the floor's own mean beside every row."""
    by = list(by)
    table = aggregated.copy()
    floor_mean = table[table["model"] == floor].set_index(by)["mean"].rename(f"{floor} (floor)")
    table["mean [95% CI]"] = [_with_interval(m, lo, hi) for m, lo, hi in table[["mean", "ci_low", "ci_high"]].to_numpy()]
    # a difference is signed, so it never reads as a bounded metric
    table[f"Δ vs {floor} [95% CI]"] = [_with_interval(d, lo, hi, "+") if np.isfinite(d) else "" for d, lo, hi in
                                       table[["delta", "delta_ci_low", "delta_ci_high"]].to_numpy()]
    table = table.join(floor_mean, on=by)
    table[f"{floor} (floor)"] = table[f"{floor} (floor)"].map(lambda v: f"{v:.3f}" if np.isfinite(v) else "—")
    return table.set_index(by + ["model"])[["n_settings", "mean [95% CI]", f"{floor} (floor)",
                                            f"Δ vs {floor} [95% CI]"]]


def _with_interval(value: float, low: float, high: float, sign: str = "") -> str:
    """``"0.812 [0.790, 0.833]"``; one setting has no interval: ``"0.812 [n = 1]"``."""
    if not np.isfinite(low):
        return f"{value:{sign}.3f} [n = 1]"
    return f"{value:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"


def higher_floor(summary: pd.DataFrame) -> pd.Series:
    """Per (dataset, protocol): the floor of :data:`FLOORS` with the higher mean *validation* AUROC (ties
    and settings without an edge prior go to degree). Test numbers play no part in the choice."""
    val = summary[summary["model"].isin(FLOORS)].pivot_table(index=["dataset", "protocol"], columns="model",
                                                             values="val_auroc_mean")
    val = val.reindex(columns=list(FLOORS)).fillna(-1.0)
    return pd.Series(np.where(val[FLOORS[1]] > val[FLOORS[0]], FLOORS[1], FLOORS[0]), index=val.index,
                     name="higher_floor")


def _trained(summary: pd.DataFrame) -> list[str]:
    """Scorers of ``summary`` other than the floors and the uncorrected ablation rows, in order of appearance."""
    return [m for m in dict.fromkeys(summary["model"]) if m not in FLOORS and not m.endswith("(uncorrected)")]


def against_floors(summary: pd.DataFrame, models=None, metrics=("auroc", "auprc", "per_tf_auroc"),
                   by=("protocol", "network")) -> pd.DataFrame:
    """Per metric (its readable label), group and model (default: every trained scorer), over the ``n``
    settings where both floors ran: the model's mean (column ``mean``) beside both floors' (columns
    ``degree``, ``edge_prior``) on the same settings, and the paired gap to the higher floor of each
    setting (:func:`higher_floor`) as mean ± the half-width of its 95 % t interval over the ``n``
    settings (df = n - 1). Display strings, 3 decimals."""
    from grnlib.evaluation.metrics import METRIC_LABELS

    by, keys = list(by), ["dataset", "protocol"]
    models = _trained(summary) if models is None else models
    choice = higher_floor(summary)
    rows = []
    for metric in [metrics] if isinstance(metrics, str) else metrics:
        column = f"{metric}_mean"
        floors = {f: summary[summary["model"] == f].set_index(keys)[column] for f in FLOORS}
        for model in models:
            part = summary[summary["model"] == model].set_index(keys)
            part = part[np.logical_and.reduce([part.index.isin(floors[f].index) for f in FLOORS])]
            if part.empty:
                continue
            higher = np.array([floors[f][k] for k, f in zip(part.index, choice.reindex(part.index))])
            part = part.assign(**{f: floors[f].reindex(part.index).to_numpy() for f in FLOORS},
                               gap=part[column].to_numpy() - higher)
            for group, values in part.reset_index().groupby(by, sort=False):
                gap = _mean_ci(values["gap"].dropna().to_numpy(), "delta_")
                rows.append({"metric": METRIC_LABELS.get(metric, metric),
                             **dict(zip(by, group if isinstance(group, tuple) else (group,))),
                             "model": model, "n": len(values), "mean": f"{values[column].mean():.3f}",
                             **{f: f"{values[f].mean():.3f}" for f in FLOORS},
                             "Δ vs higher floor": _plus_minus(gap["delta"], gap["delta_ci_high"] - gap["delta"])})
    columns = ["metric", *by, "model", "n", "mean", *FLOORS, "Δ vs higher floor"]
    return pd.DataFrame(rows, columns=columns).set_index(["metric", *by, "model"])


def _plus_minus(value: float, half_width: float) -> str:
    """``"+0.015 ± 0.006"`` (a 95 % interval's half-width); ``"+0.015 ± —"`` without one."""
    return f"{value:+.3f} ± " + (f"{half_width:.3f}" if np.isfinite(half_width) else "—")


def _dodged(ax, networks: list, series: list) -> None:
    """Points (with error bars where given) per network on ``ax``, one dodged column per
    ``(label, y, yerr, style)`` of ``series``."""
    width = 0.8 / max(1, len(series))
    for i, (label, y, err, style) in enumerate(series):
        x = np.arange(len(networks)) + (i - (len(series) - 1) / 2) * width
        ax.errorbar(x, y, yerr=err, ls="none", capsize=2, label=label, **style)
    ax.set_xticks(np.arange(len(networks)), networks)


def floors_figure(summary: pd.DataFrame, models=None, metrics=("auroc", "per_tf_auroc")):
    """Rows: ``metrics``; panels: protocols. Mean over the settings where both floors ran, per network,
    of the floors (black and grey squares) and each of ``models`` (default: every trained scorer; the
    data of :func:`against_floors`)."""
    import matplotlib.pyplot as plt

    keys = ["dataset", "protocol"]
    both = set.intersection(*[set(map(tuple, summary.loc[summary["model"] == f, keys].to_numpy())) for f in FLOORS])
    part = summary[[k in both for k in map(tuple, summary[keys].to_numpy())]]
    models = _trained(part) if models is None else models
    part = part[part["model"].isin([*FLOORS, *models])]
    protocols, networks = list(dict.fromkeys(part["protocol"])), list(dict.fromkeys(part["network"]))
    names = [*FLOORS, *[m for m in models if m in set(part["model"])]]
    fig, axes = plt.subplots(len(metrics), len(protocols), figsize=(4.2 * len(protocols), 3.3 * len(metrics)),
                             sharey="row", squeeze=False)
    styles = {FLOORS[0]: dict(color="black", marker="s"), FLOORS[1]: dict(color="grey", marker="s")}
    for row, metric in zip(axes, metrics):
        means = part.groupby(["protocol", "network", "model"])[f"{metric}_mean"].mean()
        for ax, protocol in zip(row, protocols):
            _dodged(ax, networks, [(name, [means.get((protocol, network, name), np.nan) for network in networks], None,
                                    styles.get(name, dict(marker="o"))) for name in names])
            ax.set_title(protocol)
            ax.set_ylabel(f"{metric.replace('_', ' ')} (mean over settings)")
    # outside the data: to the right of the last panel
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    return fig


def benchmark_figure(aggregated: pd.DataFrame, metric_label: str = "AUROC", floor: str = "degree",
                     chance: float | None = 0.5):
    """One panel per protocol: mean ± 95 % CI per model (x = network), the floor drawn as a line."""
    import matplotlib.pyplot as plt

    protocols = list(dict.fromkeys(aggregated["protocol"]))
    networks = list(dict.fromkeys(aggregated["network"]))
    models = list(dict.fromkeys(aggregated["model"]))
    fig, axes = plt.subplots(1, len(protocols), figsize=(4.2 * len(protocols), 3.8), sharey=True, squeeze=False)
    for ax, protocol in zip(axes[0], protocols):
        part = aggregated[aggregated["protocol"] == protocol]
        series = []
        for model in models:
            rows = part[part["model"] == model].set_index("network").reindex(networks)
            err = np.nan_to_num(np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]]))
            series.append((model, rows["mean"], err, dict(color="black", marker="s") if model == floor
                           else dict(marker="o")))
        _dodged(ax, networks, series)
        if chance is not None:
            ax.axhline(chance, color="grey", lw=0.8, ls=":")
        ax.set_title(protocol)
        ax.set_ylabel(f"{metric_label} (mean over settings, 95% CI)")
    # outside the data: to the right of the last panel
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    return fig


