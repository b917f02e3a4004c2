"""Benchmark sweep: every (dataset, protocol, seed, fold) *cell* of a plan, scored by a list of
models and baselines on the same test pairs, run in parallel on Dask and resumable.

A *cell* is one split: ``(dataset, protocol, seed, fold)`` plus the scorer names to run on it.
Its result is one JSON line per cell in ``<out>/cells.jsonl`` (written by the client process
only, flushed and fsync'ed), so an interrupted sweep restarts with the cells that have no line
yet. A failed cell is logged to ``<out>/errors.jsonl`` and retried on the next run.

Command line::

    python -m grnlib.benchmark.sweep plan --plan full                      # list cells + time estimate
    python -m grnlib.benchmark.sweep run --plan reduced --out results/sweep/reduced [--workers 2]
    python -m grnlib.benchmark.sweep run --plan full --scheduler tcp://host:8786 --out ...
    python -m grnlib.benchmark.sweep summarize results/sweep/reduced --out results/benchmark

Scorer names (the same ones ``grnlib evaluate --models`` takes) are resolved by
:func:`grnlib.evaluation.spec.resolve_spec`; each cell runs through
:func:`grnlib.evaluation.cells.evaluate_cell`, the function ``grnlib evaluate`` uses.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import DataError
from grnlib.evaluation.cells import Cell, environment_info, evaluate_cell
from grnlib.evaluation.spec import needs_expression, resolve_specs
from grnlib.io import append_jsonl, write_json, write_table

CELL_FILE = "cells.jsonl"
ERROR_FILE = "errors.jsonl"
META_FILE = "sweep.json"
SUMMARY_METRICS = ("auroc", "auprc", "auprc_ratio", "per_tf_auroc", "per_tf_auprc", "pos_rate", "val_auroc")


# -- plans -------------------------------------------------------------------------------------

FAST_MODELS = ("baseline", "phase1")
HEAVY_MODELS = ("phase3", "phase4")


@dataclass
class PlanSpec:
    """What a named plan runs; :func:`make_plan` turns it into cells for the available settings."""

    description: str
    protocols: tuple = ("released", "seed", "heldout-tf", "degree-matched")
    seeds: tuple = (0, 1, 2, 3, 4)
    baselines: tuple = ("degree", "edge_prior", "correlation", "spearman", "random")
    genie3: str = "500"              # "500": TFs+500 settings with expression; "all"; "none"
    genie3_seeds: tuple = (0,)       # GENIE3 needs no training pairs and costs ~45 s a cell: one seed
    fast_models: tuple = FAST_MODELS
    heavy_models: tuple = HEAVY_MODELS
    heavy_sizes: tuple = (500,)
    optional_presets: tuple = ("best",)  # run like fast models when grnlib.evaluation.presets defines them
    only_with_expression: bool = False
    epochs: int | None = 8
    datasets: tuple | None = None     # explicit ids (None = every BEELINE setting)


PLANS: dict[str, PlanSpec] = {
    "full": PlanSpec(
        "every non-reserved BEELINE setting x 4 protocols x seeds 0-4: degree/correlation/spearman/random "
        "everywhere they apply, GENIE3 on TFs+500 with expression (seed 0), baseline+phase1 wherever they "
        "apply (and the `best` preset once defined), phase3 on TFs+500 (phase4 differs only by its loss: "
        "see its chapter); 8 epochs", epochs=8, heavy_models=("phase3",)),
    "reduced": PlanSpec(
        "settings with expression x released/heldout-tf/degree-matched x seeds 0-4: degree, correlation, "
        "spearman, random, baseline and phase1 presets at 8 epochs (fits ~35 min on 2 shared cores)",
        protocols=("released", "heldout-tf", "degree-matched"), genie3="none", heavy_models=(),
        only_with_expression=True, epochs=8, optional_presets=()),
    "reserved": PlanSpec(
        "reserved sets only (mHSC-L, Lofgof): released (mHSC-L) + heldout-tf + degree-matched, seeds 0-4",
        protocols=("released", "heldout-tf", "degree-matched"), genie3="none", heavy_sizes=(500, 1000),
        epochs=15),
}


def _defined_presets(names) -> tuple:
    from grnlib.evaluation.presets import PRESETS

    return tuple(n for n in names if n in PRESETS)


def _settings(reserved: bool, datasets=None, root=None) -> pd.DataFrame:
    from grnlib.data.catalog import as_table, describe, list_datasets

    if datasets is not None:
        # Explicit ids may be of any registered family (seed/..., dream4/...), listed or not.
        return as_table([describe(d, root) for d in dict.fromkeys(datasets)])
    # --reserved runs only the reserved sets: they are for the final chapter, never mixed in.
    table = list_datasets(root, families=("beeline",))
    return table[table["reserved"] == bool(reserved)]


def make_plan(plan: str | PlanSpec = "reduced", reserved: bool = False, seeds=None, epochs: int | None = None,
              protocols=None, datasets=None, models=None, root=None) -> list[Cell]:
    """The cells of a named plan (or a :class:`PlanSpec`), with scorers chosen per setting.

    Rules: expression scorers (correlation, spearman, genie3, phase1, ...) only where the setting
    has expression; ``released`` only where released splits exist; reserved settings
    (mHSC-L, Lofgof) only with ``reserved=True`` (and then only those).

    Args:
        plan: a key of :data:`PLANS` or a PlanSpec.
        reserved: run the reserved sets instead of the development sets.
        seeds, epochs, protocols, datasets: override the plan's values.
        models: replace the plan's scorer list with these names (still filtered by expression).
    """
    if isinstance(plan, str):
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; valid plans: {sorted(PLANS)}")
        plan = PLANS[plan]
    seeds = tuple(plan.seeds if seeds is None else seeds)
    protocols = tuple(plan.protocols if protocols is None else protocols)
    epochs = plan.epochs if epochs is None else epochs
    from grnlib.evaluation.protocols import PROTOCOLS

    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise ValueError(f"unknown protocol(s) {bad}; valid protocols: {sorted(PROTOCOLS)}")
    if models is not None:
        resolve_specs(models)  # fail early on unknown names
    cells = []
    for row in _settings(reserved, datasets or plan.datasets, root).itertuples():
        if plan.only_with_expression and not row.has_expression:
            continue
        if models is not None:
            names = [m for m in models if row.has_expression or not needs_expression(m)]
        else:
            names = [b for b in plan.baselines if row.has_expression or not needs_expression(b)]
            with_genie3 = row.has_expression and (plan.genie3 == "all" or (plan.genie3 == "500" and row.size == 500))
            names += [m for m in plan.fast_models + _defined_presets(plan.optional_presets)
                      if row.has_expression or not needs_expression(m)]
            if row.size in plan.heavy_sizes:
                names += [m for m in plan.heavy_models if row.has_expression or not needs_expression(m)]
        for protocol in protocols:
            if protocol == "released" and row.n_splits == 0:
                continue
            for seed in seeds:
                if protocol == "released" and seed + 1 > row.n_splits:
                    continue
                cell_names = list(names)
                if models is None and with_genie3 and seed in plan.genie3_seeds:
                    cell_names.insert(len(plan.baselines), "genie3")
                cells.append(Cell(row.id, protocol, int(seed), 0, tuple(cell_names), epochs))
    # Seed-major order (then protocol, dataset): a partial run covers every setting evenly.
    order = {p: i for i, p in enumerate(protocols)}
    return sorted(cells, key=lambda c: (c.seed, order[c.protocol]))


# -- results file ------------------------------------------------------------------------------

def read_cells(out_dir) -> list[dict]:
    """Finished cells of a sweep folder (a torn last line from a killed run is ignored)."""
    path = Path(out_dir) / CELL_FILE
    if not path.is_file():
        return []
    cells = []
    with open(path) as fh:
        for line in fh:
            try:
                cells.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # an interrupted append; that cell is simply run again
    return cells


def finished_keys(out_dir) -> set[str]:
    return {c["key"] for c in read_cells(out_dir)}


def results_frame(out_dir) -> pd.DataFrame:
    """Every record of every finished cell, one row per (cell, scorer)."""
    rows = [r for c in read_cells(out_dir) for r in c["results"]]
    return pd.DataFrame(rows)


# -- running -----------------------------------------------------------------------------------

def _run_cell_task(cell: Cell, root, device) -> dict:
    started = time.perf_counter()
    records = evaluate_cell(cell, root=root, device=device)
    return {"key": cell.key, "cell": asdict(cell), "results": records,
            "seconds": round(time.perf_counter() - started, 3), "host": socket.gethostname(), "pid": os.getpid()}


def run_sweep(cells: list[Cell], out_dir, *, scheduler: str | None = None, n_workers: int | None = None,
              processes: bool = True, root=None, device: str | None = "cpu", progress: bool = True,
              meta: dict | None = None) -> dict:
    """Run the cells that ``out_dir`` does not hold yet; returns counts (done, skipped, failed, seconds).

    Args:
        cells: from :func:`make_plan`.
        out_dir: sweep folder; ``cells.jsonl`` there is appended to, never rewritten.
        scheduler: address of a running Dask scheduler; None starts a LocalCluster.
        n_workers: LocalCluster workers (default: CPU cores), one thread each. 0 runs the cells
            in this process without Dask (debugging, tests).
        processes: LocalCluster with worker processes (False: threads of this process).
        device: TrainConfig device for every model (default "cpu").
        meta: extra fields for ``sweep.json`` (e.g. the command line).
    """

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = finished_keys(out_dir)
    todo = [c for c in cells if c.key not in done]
    if todo and n_workers != 0:
        require_dask()
    started = time.perf_counter()
    write_json(out_dir / META_FILE, {**(meta or {}), **environment_info(), "n_cells_planned": len(cells),
                                            "n_cells_done_before": len(cells) - len(todo),
                                            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    counts = {"planned": len(cells), "skipped": len(cells) - len(todo), "done": 0, "failed": 0}

    def record(cell: Cell, result: dict | None, error: BaseException | None) -> None:
        if error is None:
            append_jsonl(out_dir / CELL_FILE, result)
            counts["done"] += 1
        else:
            append_jsonl(out_dir / ERROR_FILE, {"key": cell.key, "error": f"{type(error).__name__}: {error}"})
            counts["failed"] += 1

    if todo and n_workers == 0:
        bar = _bar(len(todo), progress)
        for cell in todo:
            try:
                record(cell, _run_cell_task(cell, root, device), None)
            except Exception as exc:  # noqa: BLE001 - one bad cell must not stop the sweep
                record(cell, None, exc)
            bar.update(1)
        bar.close()
    elif todo:
        _run_on_dask(todo, record, scheduler, n_workers, processes, root, device, progress)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    info = json.loads((out_dir / META_FILE).read_text())
    write_json(out_dir / META_FILE, {**info, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                            "last_run": counts})
    return counts


def require_dask() -> None:
    """DataError unless Dask's distributed scheduler can be imported (the ``[sweep]`` extra): a plain
    ``pip install grnlib`` has no Dask, and only parallel sweeps need it."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError as exc:
        raise DataError(None, f"running sweep cells in parallel needs Dask, which is not installed ({exc})",
                        "pip install 'grnlib[sweep]' (dask[distributed]), or pass --workers 0 to run the cells "
                        "in this process") from None


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc="cells", unit="cell", smoothing=0.05)


SCHEDULER_TIMEOUT = 30  # seconds to reach a running scheduler, and again for its first worker


def _connect(scheduler: str):
    """A Client of the running scheduler at ``scheduler`` with at least one worker; DataError
    (one line) when it cannot be reached or has no worker, instead of a hang or a traceback."""
    from dask.distributed import Client

    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DataError(None, f"cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}: {exc})",
                        "start one with `dask scheduler` and `dask worker ADDRESS` on each machine, "
                        "or leave out --scheduler for a local cluster") from None
    try:
        client.wait_for_workers(1, timeout=SCHEDULER_TIMEOUT)
    except TimeoutError:
        client.close()
        raise DataError(None, f"the Dask scheduler at {scheduler!r} has no worker after {SCHEDULER_TIMEOUT} s",
                        f"start workers with `dask worker {scheduler}`") from None
    # Cells are rescheduled when a worker dies (a lost cell is recomputed on another worker), so
    # the sweep finishes as long as one worker lives; results are written by this process only.
    return client


def _run_on_dask(todo, record, scheduler, n_workers, processes, root, device, progress) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        n_workers = n_workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        client = _connect(scheduler)
    try:
        # Earlier cells get higher priority: with the seed-major order of make_plan an interrupted
        # sweep holds whole seeds of every setting rather than every seed of a few settings.
        futures = {client.submit(_run_cell_task, cell, root, device, key=f"cell-{cell.key}-{i}", pure=False,
                                 priority=len(todo) - i): cell
                   for i, cell in enumerate(todo)}
        bar = _bar(len(futures), progress)
        for future in as_completed(futures):
            cell = futures[future]
            try:
                record(cell, future.result(), None)
            except Exception as exc:  # noqa: BLE001
                record(cell, None, exc)
            future.release()
            bar.update(1)
        bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- time estimate -----------------------------------------------------------------------------

# Seconds per scorer per 1000 training pairs per epoch at 1 thread, measured on this project's
# 2-core machine while it was lightly shared (hHEP/mESC/mDC, released + TF protocols): baseline
# 0.021, phase1 0.045 (+ ~5 s PCA features and set-up per cell), phase3 0.107. Under heavy sharing
# the reduced sweep measured about 3-4x these; see the sweep report.
COST_PER_KPAIR = {"baseline": 0.021, "phase1": 0.045, "phase2": 0.1, "phase3": 0.107, "phase4": 0.107,
                  "hybrid": 0.05, "cross_encoder": 0.04, "default_model": 0.06}
FEATURE_SECONDS = 5.0  # PCA features + set-up of an expression model, per cell
FIXED_COST = {"genie3": 45.0, "correlation": 0.3, "spearman": 0.3, "degree": 0.05, "random": 0.05}


def estimate_seconds(cells: list[Cell], n_workers: int = 2, root=None) -> dict:
    """Rough wall time of ``cells`` on ``n_workers`` single-thread workers from per-pair costs.

    Training pairs per cell are estimated from the dataset's edge count (~1.2 x edges for the TF
    protocols, ~2 x edges for the released splits).
    """
    from grnlib.data.catalog import describe

    edges = {d: describe(d, root)["n_edges"] for d in {c.dataset for c in cells}}
    total = 0.0
    by_model: dict[str, float] = {}
    for cell in cells:
        kpairs = edges[cell.dataset] * (2.0 if cell.protocol == "released" else 1.2) / 1000
        for name in cell.models:
            if name in FIXED_COST:
                cost = FIXED_COST[name]
            else:
                cost = COST_PER_KPAIR.get(name, COST_PER_KPAIR["default_model"]) * kpairs * (cell.epochs or 40)
                cost += FEATURE_SECONDS if needs_expression(name) else 0.5
            by_model[name] = by_model.get(name, 0.0) + cost
            total += cost
    return {"cells": len(cells), "cpu_seconds": round(total), "wall_seconds": round(total / max(1, n_workers)),
            "by_model_cpu_seconds": {k: round(v) for k, v in sorted(by_model.items())}}


# -- summaries ---------------------------------------------------------------------------------

def summarize_frame(results: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x protocol x model: mean and std over seeds/folds of the summary metrics.

    Columns: dataset, network, cell, size, protocol, model, n_seeds, <metric>_mean, <metric>_std.
    """
    metrics = [m for m in SUMMARY_METRICS if m in results]
    grouped = results.groupby(["dataset", "protocol", "model"], sort=True)[metrics]
    table = grouped.agg(["mean", "std"])
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    table.insert(0, "n_seeds", grouped.size())
    table = table.reset_index()
    parts = [_id_parts(d) for d in table["dataset"]]
    for position, column in enumerate(("network", "cell", "size"), start=1):
        table.insert(position, column, [p[position - 1] for p in parts])
    return table


def _id_parts(dataset: str) -> tuple:
    """(network, cell, size) of a BEELINE id; (family, rest, None) for any other id."""
    parts = dataset.split("/")
    if parts[0] == "beeline" and len(parts) == 4:
        return parts[1], parts[2], int(parts[3])
    return parts[0], "/".join(parts[1:]), None


def aggregate(summary: pd.DataFrame, by=("protocol", "network"), metric: str = "auroc",
              floor: str = "degree") -> pd.DataFrame:
    """Mean over settings of per-setting seed means, with a 95 % interval, and the gap to ``floor``.

    The interval is mean ± 1.96 · sem over settings (sem = std of the per-setting means / sqrt(n)),
    i.e. it describes how much the mean moves between BEELINE settings, not seed noise alone.
    ``delta_vs_<floor>`` is the paired mean of (model - floor) over the settings where both ran,
    with its own ± 1.96 · sem.

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
        row.update(n_settings=len(values), **_mean_ci(values, ""), **_mean_ci(diff, "delta_"))
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_ci(values: np.ndarray, prefix: str) -> dict:
    """``{mean|delta, <prefix>ci_low, <prefix>ci_high}``: mean ± 1.96 · sem (NaN half-width for n < 2)."""
    name = "delta" if prefix else "mean"
    if len(values) == 0:
        return {name: np.nan, f"{prefix}ci_low": np.nan, f"{prefix}ci_high": np.nan}
    mean = float(np.mean(values))
    half = 1.96 * float(np.std(values, ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else np.nan
    return {name: mean, f"{prefix}ci_low": mean - half, f"{prefix}ci_high": mean + half}


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
    keep = ["dataset", "protocol", "seed", "fold", "model", "kind", "auroc", "auprc", "auprc_ratio",
            "per_tf_auroc", "per_tf_auprc", "early_precision_ratio", "f1", "mcc", "pos_rate", "val_auroc",
            "val_auprc", "prior_correction", "n_test", "n_train", "seconds"]
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
                n_errors=len((raw_dir / ERROR_FILE).read_text().splitlines()) if (raw_dir / ERROR_FILE).is_file() else 0,
                ci_method="mean ± 1.96·sem over settings of per-setting seed means")
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


def floor_table(aggregated: pd.DataFrame, by=("protocol", "network"), floor: str = "degree") -> pd.DataFrame:
    """Display form of :func:`aggregate`: one row per group and model, ``mean [low, high]`` text,
    the paired gap to the floor, and the floor's own mean beside every row."""
    by = list(by)
    table = aggregated.copy()
    floor_mean = table[table["model"] == floor].set_index(by)["mean"].rename(f"{floor} (floor)")
    fmt = "{:.3f} [{:.3f}, {:.3f}]".format
    table["mean [95% CI]"] = [fmt(m, lo, hi) for m, lo, hi in table[["mean", "ci_low", "ci_high"]].to_numpy()]
    table[f"Δ vs {floor} [95% CI]"] = [fmt(d, lo, hi) if np.isfinite(d) else "" for d, lo, hi in
                                       table[["delta", "delta_ci_low", "delta_ci_high"]].to_numpy()]
    table = table.join(floor_mean, on=by)
    return table.set_index(by + ["model"])[["n_settings", "mean [95% CI]", f"{floor} (floor)",
                                            f"Δ vs {floor} [95% CI]"]]


def benchmark_figure(aggregated: pd.DataFrame, metric_label: str = "AUROC", floor: str = "degree",
                     chance: float | None = 0.5):
    """One panel per protocol: mean ± 95 % CI per model (x = network), the floor drawn as a line."""
    import matplotlib.pyplot as plt

    protocols = list(dict.fromkeys(aggregated["protocol"]))
    networks = list(dict.fromkeys(aggregated["network"]))
    models = list(dict.fromkeys(aggregated["model"]))
    fig, axes = plt.subplots(1, len(protocols), figsize=(4.2 * len(protocols), 3.8), sharey=True, squeeze=False)
    width = 0.8 / max(1, len(models))
    for ax, protocol in zip(axes[0], protocols):
        part = aggregated[aggregated["protocol"] == protocol]
        for i, model in enumerate(models):
            rows = part[part["model"] == model].set_index("network").reindex(networks)
            x = np.arange(len(networks)) + (i - (len(models) - 1) / 2) * width
            err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
            style = dict(color="black", marker="s") if model == floor else dict(marker="o")
            ax.errorbar(x, rows["mean"], yerr=np.nan_to_num(err), ls="none", capsize=2, label=model, **style)
        if chance is not None:
            ax.axhline(chance, color="grey", lw=0.8, ls=":")
        ax.set_xticks(np.arange(len(networks)), networks)
        ax.set_title(protocol)
        ax.set_ylabel(f"{metric_label} (mean over settings, 95% CI)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


# -- command line ------------------------------------------------------------------------------

def _csv(text: str | None, cast=str):
    return None if text is None else tuple(cast(v) for v in text.split(",") if v.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grnlib.benchmark.sweep", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("run", "plan"):
        p = sub.add_parser(action, help="run the sweep" if action == "run" else "list the cells and estimate time")
        p.add_argument("--plan", default="reduced", choices=sorted(PLANS))
        p.add_argument("--reserved", action="store_true",
                       help="run ONLY the reserved sets (mHSC-L, Lofgof); for the final chapter")
        p.add_argument("--seeds", help="comma list, e.g. 0,1,2 (default: the plan's)")
        p.add_argument("--epochs", type=int, help="training epochs of every model (default: the plan's)")
        p.add_argument("--protocols", help="comma list (default: the plan's)")
        p.add_argument("--datasets", help="comma list of dataset ids (default: every setting of the plan)")
        p.add_argument("--models", help="comma list of scorer names replacing the plan's")
        p.add_argument("--workers", type=int, help="LocalCluster workers (default: CPU cores; 0 = no Dask)")
        if action == "run":
            p.add_argument("--out", required=True, help="sweep folder (cells.jsonl is appended to; resumable)")
            p.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
            p.add_argument("--device", default="cpu", help="torch device for training (default cpu)")
            p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("summarize", help="write committed summaries of a sweep folder")
    p.add_argument("raw_dir")
    p.add_argument("--out", default="results/benchmark")
    p.add_argument("--name", help="file prefix (default: the sweep folder's name)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.action == "summarize":
            for path in summarize(args.raw_dir, args.out, args.name).values():
                print("wrote", path)
            return 0
        cells = make_plan(args.plan, reserved=args.reserved, seeds=_csv(args.seeds, int), epochs=args.epochs,
                          protocols=_csv(args.protocols), datasets=_csv(args.datasets), models=_csv(args.models))
        workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
        if args.action == "plan":
            print(json.dumps(estimate_seconds(cells, max(1, workers)), indent=1))
            frame = pd.DataFrame([asdict(c) for c in cells])
            if len(frame):
                frame["models"] = frame["models"].map(",".join)
                print(frame.groupby(["protocol", "models"]).size().rename("cells").to_string())
            return 0
        meta = {"command": " ".join(["python -m grnlib.benchmark.sweep", *(argv if argv is not None else sys.argv[1:])]),
                "plan": args.plan, "reserved": args.reserved}
        counts = run_sweep(cells, args.out, scheduler=args.scheduler, n_workers=args.workers,
                           device=args.device, progress=not args.quiet, meta=meta)
        print(json.dumps(counts))
        return 1 if counts["failed"] else 0
    except DataError as exc:
        print(f"grnlib.benchmark.sweep: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
