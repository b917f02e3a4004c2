"""Tables and text for the notebooks: what a chapter displays, formatted to fit the book's column.

Every table here has short headers, three decimals, and mean ± std in one cell
(:func:`mean_std`); a single measurement never shows a NaN spread.
Paths are printed relative to the repository (results) or to the data root (data files), never
as absolute paths of the machine that built the book. :func:`setup_notebook` is the first call of
every chapter: pandas display options and one-line warnings.

Figures live in :mod:`grnlib.plots`; this module only builds frames and strings.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.evaluation.metrics import METRIC_LABELS
from grnlib.paths import project_root

METRIC_COLUMNS = ("auroc", "auprc", "auprc_ratio", "accuracy", "f1", "mcc", "early_precision_ratio")


# -- mean ± std -------------------------------------------------------------------------------
def summary_table(metrics: pd.DataFrame, columns=METRIC_COLUMNS, by="name") -> pd.DataFrame:
    """Mean ± std over seeds in one cell per metric (three decimals), one row per ``by`` group in
    order of first appearance, with the number of seeds first. Headers are the readable labels of
    :data:`METRIC_LABELS`. A group measured once has no spread: its cells read ``0.812 ± —``, never NaN,
    and a table of single measurements shows plain means.
    """
    columns = [c for c in columns if c in metrics]
    grouped = metrics.groupby(by, sort=False)[columns]
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.size()
    if n.max() < 2:
        table = pd.DataFrame({METRIC_LABELS.get(c, c): mean[c].map("{:.3f}".format) for c in columns})
    else:
        table = pd.DataFrame({METRIC_LABELS.get(c, c): [mean_std(m, s, k) for m, s, k in zip(mean[c], std[c], n)]
                              for c in columns}, index=mean.index)
    table.insert(0, "seeds", n.to_numpy())
    return table


def mean_std(mean: float, std: float | None = None, n: int | None = None, digits: int = 3) -> str:
    """``"0.812 ± 0.004"``. Without a spread (``n`` < 2, or ``std`` missing/NaN) ``"0.812 ± —"``;
    a missing mean ``"—"``."""
    if mean is None or not np.isfinite(mean):
        return "—"
    spread = "—" if std is None or not np.isfinite(std) or (n is not None and n < 2) else f"{std:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread}"


# -- notebook setup and paths -----------------------------------------------------------------


def _roots() -> list[tuple[str, str]]:
    """(absolute prefix, replacement) pairs, longest first: the data root names files relative to
    itself, the repository root relative to itself, the home folder as ``~``."""
    roots = [(str(project_root()), "")]
    try:
        from grnlib.data.download import data_root

        roots.append((str(data_root()), ""))
    except Exception:  # noqa: BLE001 - a misconfigured data root must not break printing
        pass
    roots.append((str(Path.home()), "~"))
    return sorted(((p.rstrip("/"), r) for p, r in roots if len(p) > 1), key=lambda pr: -len(pr[0]))


def short_path(text) -> str:
    """``text`` (a path or a message) with machine-specific folder prefixes removed:
    ``/home/me/grnlib/results/x`` -> ``results/x``, ``<data root>/beeline/...`` -> ``beeline/...``."""
    text = str(text)
    for prefix, replacement in _roots():
        pattern = re.escape(prefix) + r"(/|\b)"
        text = re.sub(pattern, lambda m, r=replacement: (f"{r}/" if r else "") if m.group(1) else (r or "."), text)
    return text


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """``warnings.formatwarning`` for the book: ``DataWarning: <file>: <problem>`` on one line, without
    the source location or the source line that raised it. Other warnings keep Python's format."""
    from grnlib.errors import DataWarning

    if issubclass(category, DataWarning):
        return f"{category.__name__}: {short_path(message)}\n"
    return _DEFAULT_FORMAT(message, category, filename, lineno, line)


_DEFAULT_FORMAT = warnings.formatwarning


def setup_notebook(progress: bool = False) -> None:
    """Display settings every chapter shares: three decimals, wide frames wrapped, warnings on one line,
    and no progress lines (:mod:`grnlib.progress`: they belong in a terminal, not in the book)."""
    from grnlib import progress as progress_lines

    progress_lines.set_quiet(not progress)
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 12)
    pd.set_option("display.max_rows", 200)  # long tables whole: "..." would hide rows the figure summarises
    pd.set_option("display.max_colwidth", 60)
    warnings.formatwarning = one_line_warning


def wrote(folder, names=()) -> str:
    """``"wrote results/01_baseline (params.json, metrics.json)"``: the folder relative to the repository."""
    listed = f" ({', '.join(names)})" if names else ""
    return f"wrote {short_path(Path(folder).resolve())}{listed}"


# -- data (00) --------------------------------------------------------------------------------

def catalogue_overview(catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per family and network of :func:`grnlib.data.list_datasets`: how many datasets,
    how many with expression, with published splits and reserved, and the gene range."""
    catalogue = catalogue.assign(network=catalogue["network"].fillna("—"))
    table = catalogue.groupby(["family", "network"], sort=False).agg(
        datasets=("id", "size"), expression=("has_expression", "sum"),
        splits=("n_splits", lambda s: int((s > 0).sum())), reserved=("reserved", "sum"),
        genes_min=("n_genes", "min"), genes_max=("n_genes", "max"))
    low, high = table.pop("genes_min").astype(int), table.pop("genes_max").astype(int)
    table["genes"] = low.astype(str) + "–" + high.astype(str)
    return table


def dataset_summary(datasets: dict) -> pd.DataFrame:
    """Size and degree skew of each loaded dataset (``{id: GRNDataset}``)."""
    rows = []
    for name, ds in datasets.items():
        out_degree = ds.edges["tf"].value_counts()
        rows.append({"dataset": name.removeprefix("beeline/"), "genes": ds.n_genes, "TFs": ds.n_tfs,
                     "edges": ds.n_edges, "density": round(ds.density, 4), "TFs with targets": len(out_degree),
                     "max out-degree": int(out_degree.max()), "median out-degree": float(out_degree.median()),
                     "cells": ds.expression.n_obs if ds.has_expression else 0})
    return pd.DataFrame(rows).set_index("dataset")


def expression_qc(datasets: dict) -> pd.DataFrame:
    """Sparsity, library size and silent genes of each dataset's expression (genes x cells)."""
    rows = []
    for name, ds in datasets.items():
        x = ds.expression_matrix()
        rows.append({"dataset": name, "cells": x.shape[1], "genes": x.shape[0],
                     "zero fraction": round(float((x == 0).mean()), 3),
                     "median library size": round(float(np.median(x.sum(axis=0))), 1),
                     "never expressed": int((x.max(axis=1) == 0).sum()),
                     "zero variance": int((x.std(axis=1) == 0).sum())})
    return pd.DataFrame(rows).set_index("dataset")


def prior_overlap(priors: pd.DataFrame, datasets: dict) -> pd.DataFrame:
    """Per expression set and prior resource: edges, TFs, and the edges whose TF and target are
    both measured (the ones expression features can use)."""
    rows = []
    for name, ds in datasets.items():
        genes = set(ds.genes.str.upper())
        for resource, edges in priors.groupby("resource"):
            both = edges["source"].isin(genes) & edges["target"].isin(genes)
            rows.append({"expression set": name, "resource": resource, "edges": len(edges),
                         "TFs": edges["source"].nunique(), "both genes measured": int(both.sum()),
                         "fraction": round(float(both.mean()), 3)})
    return pd.DataFrame(rows).set_index(["expression set", "resource"])


def recipe(train: dict, width: int = 100) -> str:
    """A training recipe (a run spec's ``train`` section) as wrapped ``key=value`` text."""
    import textwrap

    return textwrap.fill(", ".join(f"{k}={v}" for k, v in train.items()), width=width, subsequent_indent="  ")


def split_sizes(split: dict) -> str:
    """One line: pairs, positives and positive rate of each part of a split."""
    parts = [f"{name} {len(p):,} pairs ({int(p['label'].sum()):,} positive, rate {p['label'].mean():.3f})"
             for name, p in split.items()]
    return "; ".join(parts)


# -- models and comparisons (03, 05, 06, 10) --------------------------------------------------

#: The order protocols appear in throughout the book.
PROTOCOL_ORDER = {"released": 0, "heldout-tf": 1, "degree-matched": 2, "seed": 3}

def parameter_counts(ds, runs) -> pd.Series:
    """Trainable parameters of each run spec's model built for ``ds`` (index: run name), as text with
    thousands separators (baselines have none: join, then fill with "—")."""
    from grnlib.evaluation.spec import as_spec
    from grnlib.models import build_model, count_parameters

    specs = [as_spec(run) for run in runs]
    return pd.Series({s.name: f"{count_parameters(build_model(s.model, n_genes=ds.n_genes, **s.model_cfg)):,}"
                      for s in specs if s.kind == "model"}, name="parameters")


def comparison_table(metrics: pd.DataFrame, paired: pd.DataFrame, floor: str = "degree",
                     columns=("auroc", "auprc", "per_tf_auroc")) -> pd.DataFrame:
    """Per protocol and scorer: mean ± std of ``columns`` over seeds (pooled, and per TF: which targets,
    not how many), the bootstrap 95 % CI of AUROC
    on the first seed, the mean paired AUROC gap to ``floor`` and the largest paired p-value.

    ``metrics`` has columns protocol, name, seed, the metrics and ``auroc_ci_low/high`` (first seed);
    ``paired`` has protocol, name, delta, p_value (one row per seed).
    """
    parts = {}
    for protocol, part in metrics.groupby("protocol", sort=False):
        table = summary_table(part, columns=columns)
        ci = part.dropna(subset=["auroc_ci_low"]).drop_duplicates("name").set_index("name")
        table["AUROC 95% CI"] = (ci["auroc_ci_low"].map("{:.3f}".format) + "–"
                                 + ci["auroc_ci_high"].map("{:.3f}".format))
        tests = paired[paired["protocol"] == protocol].groupby("name")
        table[f"Δ vs {floor}"] = tests["delta"].mean().map("{:+.3f}".format)
        table["p (max)"] = tests["p_value"].max().map("{:.3f}".format)
        if floor in table.index:
            table.loc[floor, [f"Δ vs {floor}", "p (max)"]] = "floor"
        parts[protocol] = table.fillna("—")
    return pd.concat(parts, names=["protocol", "scorer"])


def floor_pivot(summary: pd.DataFrame, metric: str = "auroc", order=(), floor: str = "degree") -> pd.DataFrame:
    """Rows (protocol, setting), one column per scorer with mean ± std over seeds, the floor first.

    ``summary`` is :func:`grnlib.benchmark.sweep.summarize_frame` output (``<metric>_mean/_std``, n_seeds).
    """
    cells = summary.assign(
        setting=summary["dataset"].str.replace("beeline/", "", regex=False),
        text=[mean_std(m, s, n) for m, s, n in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"],
                                                   summary["n_seeds"])])
    table = cells.pivot_table(index=["protocol", "setting"], columns="model", values="text", aggfunc="first")
    models = [floor] + [m for m in dict.fromkeys([*order, *table.columns]) if m != floor and m in table]
    table = table[[m for m in models if m in table]].fillna("—")
    table.insert(0, "seeds", cells.groupby(["protocol", "setting"])["n_seeds"].max())
    table.columns.name = None
    return table


def grid_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The beyond-the-floor grid (``results/beyond_floor/summary.csv``): per setting, protocol and
    scorer, AUROC and AUPRC as mean ± std over seeds and the AUROC margin over the degree floor
    (the training seconds stay in the CSV: the table has to fit the book's column).
    Protocols come in the book's order (:data:`PROTOCOL_ORDER`)."""
    summary = summary.sort_values("protocol", key=lambda p: p.map(PROTOCOL_ORDER).fillna(len(PROTOCOL_ORDER)),
                                  kind="stable")
    table = pd.DataFrame({
        "setting": summary["dataset"].str.replace("beeline/", "", regex=False), "protocol": summary["protocol"],
        "scorer": summary["name"], "seeds": summary["seeds"],
        "AUROC": [mean_std(m, s, n) for m, s, n in zip(summary["auroc"], summary["auroc_std"], summary["seeds"])],
        "AUPRC": [mean_std(m, s, n) for m, s, n in zip(summary["auprc"], summary["auprc_std"], summary["seeds"])],
        "Δ AUROC vs degree": summary["auroc_margin"].map("{:+.3f}".format)})
    return table.set_index(["setting", "protocol", "scorer"])


def gains_display(gains: pd.DataFrame) -> pd.DataFrame:
    """Pooled paired gains (:func:`grnlib.benchmark.beyond_floor.gain_table` with ``pooled=True``): rows
    ``model − reference`` and protocol, one column per metric with ``Δ [95% CI]``."""
    text = gains.assign(pair=gains["model"] + " − " + gains["reference"], cell=[  # one unit has no interval
        f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" if np.isfinite(lo) else f"{d:+.3f} [n = 1]"
        for d, lo, hi in gains[["delta", "ci_low", "ci_high"]].to_numpy()])
    table = text.pivot_table(index=["pair", "protocol"], columns="metric", values="cell", aggfunc="first", sort=False)
    table.columns.name = None
    return table.fillna("—")


def goal_verdicts(goals: pd.DataFrame) -> str:
    """Markdown bullets, one per goal of :func:`grnlib.benchmark.beyond_floor.goal_table`: where it
    is met, and by how much it is missed elsewhere."""
    lines = []
    for goal, part in goals.groupby("goal"):
        met, missed = part[part["met"]], part[~part["met"]]
        line = f"- **Goal {goal}**: met in {len(met)} of {len(part)} scope(s)"
        if len(met):
            line += " (" + "; ".join(f"{r.scope}: {r.model}, {r.measured}" for r in met.itertuples()) + ")"
        if len(missed):
            line += "; missed in " + "; ".join(f"{r.scope} by {r.short_by} ({r.model}, {r.measured})"
                                                for r in missed.itertuples())
        lines.append(line + ".")
    return "\n".join(lines)


# -- the committed benchmark summaries (07) ---------------------------------------------------

def sweep_runs(benches: dict) -> str:
    """Markdown bullets: each sweep's command, cell count, git commit and CPUs
    (``{name: grnlib.benchmark.sweep.load_summary(...)}``)."""
    # each command in its own code block: a long inline command would widen the page past its column.
    # Early sweeps recorded the module under its former name, grnlib.sweep: shown as the command to run today.
    return "\n".join(f"- **{name}**: {b['meta'].get('n_cells')} cells, git `{str(b['meta'].get('git_commit'))[:10]}`, "
                     f"{b['meta'].get('cpu_count')} CPUs\n\n  ```\n  "
                     f"{str(b['meta'].get('command')).replace('-m grnlib.sweep ', '-m grnlib.benchmark.sweep ')}\n  ```\n"
                     for name, b in benches.items())


def collapsed_table(table: pd.DataFrame, title: str, csv: str | Path | None = None) -> str:
    """HTML for a long table: a collapsed ``<details>`` block (closed until the reader opens it), naming the CSV
    file that holds the same rows (written by the caller), so a chapter shows a figure and a compact table
    and keeps every row one click away."""
    import html

    where = f" (also in <code>{html.escape(short_path(csv))}</code>)" if csv else ""
    return (f"<details><summary>{html.escape(title)}: {len(table)} rows{where}</summary>\n"
            f"{table.to_html(classes='dataframe', border=0, na_rep='—')}\n</details>")


def data_findings(summary: pd.DataFrame, overlap: pd.DataFrame) -> list[str]:
    """Sentences for 00_data's conclusion: how skewed each setting's out-degrees are, and how many prior edges
    an expression set measures (from :func:`dataset_summary` and :func:`prior_overlap`)."""
    lines = [f"`{name}`: {int(r['TFs with targets'])} TFs hold {int(r['edges']):,} edges; the busiest TF has "
             f"{int(r['max out-degree'])} targets, the median TF {r['median out-degree']:g} "
             f"({r['max out-degree'] / max(r['median out-degree'], 1):.0f}× more)."
             for name, r in summary.iterrows()]
    fractions = overlap["fraction"]
    lines.append(f"Human priors: {fractions.min():.0%} to {fractions.max():.0%} of a resource's edges have both genes "
                 f"measured in an expression set ({len(overlap)} resource × set pairs); only those can use expression.")
    return lines


def anchor_table(published: pd.DataFrame, ours: dict, n_settings: int) -> pd.DataFrame:
    """Published AUROC/AUPRC (``grnlib.reference.PUBLISHED_RELEASED``) above our means
    (``{metric: sweep.aggregate(...)}`` by protocol), each row saying where its numbers come from."""
    mine = pd.concat([t.set_index("model")["mean"].rename(m) for m, t in ours.items()], axis=1)
    table = pd.concat([published.assign(source="reported by the authors"),
                       mine.assign(source=f"this sweep ({n_settings} TFs+500 settings, released splits)")])
    return table.rename_axis("scorer").round(3)


def released_audit(settings="all", sample: int = 1) -> pd.DataFrame:
    """:func:`grnlib.evaluation.audit.audit_split` fractions of one released sample per setting (rows:
    settings without the ``beeline/`` prefix, columns: checks). ``"all"`` means every non-reserved
    BEELINE setting with published splits."""
    from grnlib.data import list_datasets, load_dataset, load_split
    from grnlib.evaluation.audit import audit_split

    if settings == "all":
        table = list_datasets()
        settings = table[(table["family"] == "beeline") & (table["n_splits"] > 0) & ~table["reserved"]]["id"]
    return pd.concat([audit_split(load_split(d, sample=sample), load_dataset(d, with_expression=False))
                      .set_index("check")["fraction"].rename(d.removeprefix("beeline/")) for d in settings], axis=1).T


# -- the benchmark run (11) -------------------------------------------------------------------

def bench_host(bench: dict, path: str = "results/bench/bench.json") -> str:
    """Markdown: where and when the committed benchmark ran, and how loaded the host was (or that
    there is no committed run at ``path``)."""
    if not bench:
        return (f"**No committed benchmark run at `{path}`**: run `make bench` to create it. Only the live "
                "measurement below is shown.")
    host = bench["host"]
    dirty = " (uncommitted changes)" if host.get("git_dirty") else ""
    return (f"**Committed run** ({bench['mode']}): {host['date']} on {host['cores']} cores ({host['cpu']}), "
            f"device `{host['device']}`, torch {host['torch']} with {host['torch_threads']} threads, git "
            f"`{(host.get('git_commit') or '?')[:10]}`{dirty}; load average {host['loadavg_start'][0]} at the "
            f"start and {host['loadavg_end'][0]} at the end (a load above {host['cores']} means the cores "
            "were shared).")


_BENCH_COLUMNS = {
    "training": {"dataset": "dataset", "model": "model", "features": "features", "epoch_s": "epoch s",
                 "epoch_cpu_s": "CPU s", "pairs_per_s": "pairs/s", "peak_rss_mb": "peak MB",
                 "speedup_vs_naive": "vs per-pair"},
    "reference": {"dataset": "dataset", "epoch_s": "reference s", "epoch_cpu_s": "reference CPU s",
                  "phase4_epoch_s": "phase-4 s", "speedup": "speed-up", "speedup_cpu": "speed-up (CPU)",
                  "val_auroc_after": "reference val AUROC"},
    "phase4_fit": {"dataset": "dataset", "fit_seconds": "fit s", "fit_cpu_seconds": "CPU s", "epochs": "epochs",
                   "best_epoch": "best epoch", "best_val_auroc": "val AUROC", "degree_val_auroc": "degree val AUROC",
                   "peak_rss_mb": "peak MB"},
    "targets": {"target": "target", "goal": "goal", "measured": "measured", "met": "met", "miss_factor": "miss ×"},
    "scale": {"path": "path", "cells": "cells", "genes": "genes", "nnz": "non-zeros", "train_seconds": "train s",
              "train_peak_rss_mb": "train MB", "predict_seconds": "predict s", "predict_peak_rss_mb": "predict MB"},
}
_BENCH_COLUMNS["scale_extrapolated"] = {**_BENCH_COLUMNS["scale"], "how": "how"}
_BENCH_COLUMNS["scale_all"] = {**_BENCH_COLUMNS["scale"], "train_cpu_seconds": "train CPU s",
                               "predict_cpu_seconds": "predict CPU s", "how": "how"}


def bench_table(bench: dict, section: str) -> pd.DataFrame:
    """A section of ``results/bench/bench.json`` as a display frame with short headers (empty when the
    run has no such section). Sections: training, reference, phase4_fit, targets, scale, profile,
    scale_extrapolated (the issue-23 sizes extrapolated from the out-of-core records, labelled by ``how``), and
    scale_all (the measured records, ``how`` "measured", then the extrapolated ones, with CPU seconds)."""
    if section == "profile":
        ops = pd.DataFrame((bench.get("phase4_profile") or {}).get("top_ops") or [], columns=["op", "share", "calls"])
        return ops.assign(share=(100 * ops["share"].astype(float)).round(1)).rename(columns={"share": "% of epoch"})
    records = {"training": [r for r in bench.get("training") or [] if "error" not in r],
               "reference": (bench.get("genelink_reference") or {}).get("by_dataset") or [],
               "scale": [{"path": "in-memory", **r} for r in bench.get("scale") or []],  # records before paths
               "scale_extrapolated": _extrapolated(bench),
               "scale_all": [{"path": "in-memory", **r, "how": "measured"} for r in bench.get("scale") or []
                             if "error" not in r]
               + [{**r, "how": "extrapolated"} for r in _extrapolated(bench)]}.get(section, bench.get(section) or [])
    columns = _BENCH_COLUMNS[section]
    table = pd.DataFrame(records).reindex(columns=list(columns)).rename(columns=columns)
    if "dataset" in table:
        table["dataset"] = table["dataset"].str.replace("beeline/Specific/", "", regex=False)
    # Three decimals, and "—" where a run has no value (a model without a per-pair variant, a met target).
    numeric = table.select_dtypes("number").columns
    whole = [c for c in numeric if "MB" in c or c in ("pairs/s", "non-zeros", "cells", "genes", "epochs", "best epoch")]
    table = table.round({c: 0 if c in whole else 3 for c in numeric}).astype({c: "Int64" for c in whole}).astype(object)
    return table.where(table.notna(), "—")


def _extrapolated(bench: dict) -> list[dict]:
    return ((bench.get("scale_growth") or {}).get("out_of_core") or {}).get("extrapolated") or []


def scale_goals(bench: dict, agreement: dict | None = None) -> list[str]:
    """One finding per goal of issue 23 (atlas scale, out of core), met or missed with its number, from the
    committed run's targets (``benchmarks/scale.py``: measured at a goal size when the run reached it, else
    extrapolated, as each target's name says) and from ``agreement`` (:func:`grnlib.features_ooc.agreement`)."""
    rows = [t for t in bench.get("targets") or [] if t["target"].startswith("out of core")]
    goals = (("500,000 x 20,000", "Goal 1, 500,000 x 20,000 (train <= 15 min, peak RSS <= 4 GB, predict <= 5 min)"),
             ("growth", "Goal 2, peak RSS flat in the cells (< 1 byte per non-zero)"),
             ("1,000,000 x 30,000", "Goal 4 (stretch), 1,000,000 x 30,000 measured (<= 30 min, <= 4 GB)"))
    lines = []
    for key, title in goals:
        part = [t for t in rows if key in t["target"]]
        if not part:
            lines.append(f"**{title}**: not in the committed run (`make bench` with `--scale-paths out-of-core`).")
            continue
        measured = all("extrapolated" not in t["target"] for t in part)
        verdict = "met" if measured and all(t["met"] for t in part) else "missed"
        if not measured and all(t["met"] for t in part):
            verdict = "missed as a measurement (not run); the extrapolation is within every limit"
        figures = "; ".join(f"{t['target'].split(': ', 1)[-1]} {t['measured']:,.4g} {t['goal'].split()[-1]} (goal "
                            f"{t['goal']}: {'met' if t['met'] else 'missed'})" for t in part)
        size = tuple(int(n.replace(",", "")) for n in key.split(" x ")) if " x " in key else None
        run = next((r for r in bench.get("scale") or [] if r.get("path") == "out-of-core" and "error" not in r
                    and (r["cells"], r["genes"]) == size), None)
        if measured and run and run.get("train_cpu_seconds"):  # wall time follows other people's load; CPU time not
            figures += (f"; CPU seconds of the same commands (wall time on an idle core): train "
                        f"{run['train_cpu_seconds']:,.0f} s, predict {run.get('predict_cpu_seconds') or 0:,.0f} s")
        lines.append(f"**{title}**: {verdict}. {figures}.")
    if agreement:
        verdict = "met" if agreement["equal"] else "missed"
        lines.insert(2, f"**Goal 3, gene features out of core equal to in-memory within float32 rounding**: "
                        f"{verdict}, computed on this page: {agreement['cells']:,} cells x {agreement['genes']:,} "
                        f"genes in {agreement['chunks']} row chunks, largest difference "
                        f"{agreement['relative']:.1e} of the largest feature (tolerance {agreement['tolerance']:.0e}).")
    return lines


def bench_genome(bench: dict) -> str:
    """Markdown: the committed genome-wide scoring run in one sentence (or that there is none)."""
    g = bench.get("genome_scoring") or {}
    if not g:
        return "No genome-wide scoring in the committed run."
    text = (f"{g['tfs']:,} TFs x {g['genes']:,} genes = {g['pairs']:,} pairs scored and the top {g['top_k']:,} "
            f"written in **{g['seconds']:.2f} s**, peak RSS {g['peak_rss_mb']:.0f} MB")
    if g.get("speedup_vs_naive"):
        text += (f"; the per-pair reference would take about {g['naive_seconds_estimated']:.0f} s "
                 f"(**{g['speedup_vs_naive']:.0f}x** slower, estimated from a sample of pairs)")
    return text + "."


def scoring_curves(live: dict, bench: dict) -> dict[str, pd.DataFrame]:
    """Scoring time and memory against genes: the live run (``benchmarks/run.py --only scoring``), and the
    committed run's curve when it has one (for shape, not to compare machines), each labelled with its
    date and TF count."""
    curves = {}
    for name, run in (("live", live), ("committed run", bench)):
        if run and run.get("scoring_scaling"):
            frame = pd.DataFrame(run["scoring_scaling"])
            curves[f"{name} ({run['host']['date'][:10]}), {frame['tfs'].iloc[0]} TFs"] = frame
    return curves


def bench_notes(bench: dict) -> str:
    """Markdown: the thread comparison and the timed CI report run of the committed benchmark."""
    notes = []
    threads = bench.get("threads_comparison")
    if threads:
        notes.append(f"Threads (same run): a phase-4 epoch on `{threads['dataset']}` took "
                     + ", ".join(f"{s:.2f} s with {n} thread(s)" for n, s in threads["phase4_epoch_s"].items() if s)
                     + "; genome-wide scoring took "
                     + ", ".join(f"{s:.2f} s with {n} thread(s)" for n, s in threads["genome_scoring_s"].items() if s)
                     + ". Training batches are small matrices, so extra intra-op threads help little there.")
    report = bench.get("report") or {}
    if report and not report.get("skipped"):
        notes.append(f"`{report['command']}` (what `make report` does, with the CI parameters) took "
                     f"**{report['seconds']:.0f} s** (exit code {report['returncode']}).")
    return "\n\n".join(notes)


__all__ = ["METRIC_LABELS", "PROTOCOL_ORDER", "anchor_table", "bench_genome", "bench_host", "bench_notes",
           "bench_table", "catalogue_overview", "comparison_table", "dataset_summary", "expression_qc",
           "floor_pivot", "goal_verdicts", "grid_table", "mean_std", "one_line_warning", "parameter_counts",
           "prior_overlap", "recipe", "released_audit", "scale_goals", "scoring_curves", "setup_notebook", "short_path",
           "split_sizes", "summary_table", "sweep_runs", "wrote"]


# -- chapter conclusions -----------------------------------------------------------------------

#: Per chapter: the question it asks, why a model below the floor is there, and what a user takes from it
#: (``if_above`` when every model chosen on validation is above the floor, else ``if_not``). The numbers and the
#: verdicts come from the chapter's own results (:func:`grnlib.evaluation.verdicts.conclusion`).
CONCLUSIONS = {
    "00_data": dict(
        asked="How large and how skewed are the settings the chapters use, and how much of the human priors can "
              "expression features reach?",
        takeaway="A few TFs hold most known edges in every setting, so a score that only counts training edges ranks "
                 "their test pairs first without any biology. Every later chapter therefore scores the floors on the "
                 "same test pairs as the models: a model has to beat them, not chance."),
    "01_baseline": dict(
        asked="Does the earlier code's baseline (a learnable vector per gene, two towers, plain SGD) beat the degree "
              "floor on a released split?",
        below_reason="A free vector per gene learns only from training edges, so at best it re-learns each TF's and "
                     "gene's popularity, which the floor has exactly; with plain SGD it does not get that far.",
        if_above="On this split the embeddings add something beyond popularity; the next chapters check whether "
                 "that survives other splits and held-out TFs.",
        if_not="Do not use a learnable-embedding model on its own: it cannot score a gene or TF without training "
               "edges, and here it does not beat counting them."),
    "02_phase1_expression": dict(
        asked="Do expression features (per-cell profiles, or PCA of them) lift the two-tower model above the degree "
              "floor on the released splits?",
        below_reason="On the released splits the test TFs are training TFs, so the floor knows each TF's number of "
                     "targets; an expression model has to learn that popularity from the labels in a few epochs.",
        if_above="Expression helps on this split: prefer an expression model to the embedding baseline.",
        if_not="Expression alone does not beat counting known edges here; the later chapters combine the model with "
               "the floor instead of competing with it."),
    "03_phase2_architecture": dict(
        asked="Do deeper or wider towers, or cosine scoring, move the deeper architecture above the floor?",
        below_reason="Size gives the towers no information the floor lacks: every variant sees the same embeddings "
                     "and labels.",
        if_above="A larger architecture pays off here; the parameter counts show its cost.",
        if_not="Architecture is not the bottleneck: take the smallest variant level with the best and spend the "
               "effort on features and evaluation."),
    "04_phase3_training": dict(
        asked="Which of the five training techniques (momentum, weight decay, warm-up and cosine decay, clipping, "
              "early stopping) matter, and does the full recipe beat the floor?",
        below_reason="Training techniques change how fast and how stably a model fits, not what it can know: a model "
                     "limited to popularity stays at or under the floor.",
        if_above="Use the full recipe (the `phase3` preset); the rows with one technique off show which carries "
                 "the gain.",
        if_not="The recipe trains more stably but does not cross the floor: keep it for stability, not accuracy."),
    "05_phase4_focal_loss": dict(
        asked="Does focal loss rank better than plain or class-weighted BCE, on balanced and imbalanced pairs, and "
              "what does it do to the probabilities?",
        below_reason="A loss reweights pairs the model already separates; it cannot add the information the floor "
                     "holds.",
        if_above="The chosen loss beats the floor in every setting; check its Brier score before reading its "
                 "outputs as probabilities.",
        if_not="Changing the loss does not move the model above the floor; choose it for its calibration (the "
               "Brier table) instead."),
    "06_comparison": dict(
        asked="On the same test pairs, which preset beats both floors under each protocol, and does any beat them "
              "for TFs with no known targets?",
        below_reason={
            "released": "On the released splits the test TFs are training TFs, so the floors know each TF's number "
                        "of targets; a preset trained for a few epochs has to learn that popularity and falls short.",
            "": "Under the held-out-TF protocols the model has no training edge of the test TF, while the gene's "
                "number of known regulators still ranks popular targets first; a model that must learn popularity "
                "from expression in a few epochs falls under it."},
        if_above="Use the preset chosen on validation for your case: `best` for TFs with known targets, "
                 "`best_heldout` for new TFs.",
        if_not="Where the chosen preset is not above the floor, rank with the floor, or with a stack that can fall "
               "back to it (see the chapter on going beyond the floor)."),
    "07_benchmark": dict(
        asked="Across every non-reserved BEELINE setting, does the model chosen on validation beat both floors, "
              "per protocol and network type?",
        below_reason="Under held-out TFs the gene's count of known regulators still ranks popular targets first, and "
                     "the model has to learn that popularity from expression alone.",
        if_above="The chosen presets beat both floors on every protocol and network type: use them.",
        if_not="Trust a model only where its row is above the floor: for TFs with known targets, and where "
               "popularity is taken away (degree-matched); for new TFs in popular-gene networks, the floor ranks "
               "as well."),
    "08_your_data": dict(
        asked="Trained on your own cells and priors, does the model rank held-out prior edges above the degree "
              "floor, and does it keep that on cells it was not trained on?",
        takeaway="Read the verdict line before using the ranking: where the model is not above the floor, the floor "
                 "ranks your held-out edges as well, and its top edges are mostly popular TFs and targets. The "
                 "per-group networks and TF activities are exploratory: their edges were never checked against a "
                 "reference."),
    "11_performance": dict(
        asked="Does an atlas-size matrix (500,000 cells x 20,000 genes, about 10^9 non-zeros) train and predict "
              "out of core on a 2-core machine within the time and memory goals, with peak memory flat in the "
              "cells and the same gene features as in memory?",
        takeaway="Keep the automatic choice: in memory while the matrix fits half the available memory (it is "
                 "faster), out of core beyond (`--out-of-core` / `--in-memory` force either; the progress line "
                 "says which). Times here are wall seconds on a shared machine: upper bounds; figures marked "
                 "extrapolated were not run."),
    "09_beyond_the_floor": dict(
        asked="Judged by their worst development setting, on a grid that includes small networks and cell types "
              "without released splits, do the aliases stay above the higher floor under every protocol, and how "
              "much of their gain over the floor is about the TF rather than the target's popularity?",
        takeaway="Read the worst setting before the mean: a user gets one model on one network. Where an alias's worst "
                 "setting is outside the tolerance, the floor ranks as well there: check the verdict line of "
                 "`grnlib train` on your own held-out edges. Only the gain over `target_only` is about the TF; the "
                 "rest is which genes are popular targets."),
    "10_reserved": dict(
        asked="On the reserved sets, never used for any choice, do the models chosen on validation keep their place "
              "against both floors?",
        below_reason="The reserved cell type and network differ from the development settings; a model chosen there "
                     "can fall below floors that transfer without training, as it may on a user's new cell type.",
        if_above="The choices transfer to settings never looked at: the development numbers are not an artefact of "
                 "choosing on them.",
        if_not="Expect the same on a new cell type: compare the model with the floor on your own validation pairs "
               "(`grnlib evaluate`) before trusting its ranking."),
    "12_knowledge": dict(
        asked="For TFs with no known targets, and on the released splits, does annotation knowledge (GO, Pfam "
              "DNA-binding domains, JASPAR families, the real-TF list) lift the ranking above the degree floor, net "
              "of a shuffled-annotation and a TF-identity-blind control?",
        takeaway="Use `--knowledge auto` for human or mouse TFs without known targets on ChIP-seq-like (Non-Specific) "
                 "or STRING networks, and the `pair_evidence_knowledge` features to rank with a model: both rank "
                 "targets above counting known edges there. Do not credit the TF's own annotations with the gain: "
                 "the identity-blind control, which borrows targets from real, annotated TFs without knowing which "
                 "TF it scores, keeps most of it. On the cell-type-specific networks knowledge does not help (the "
                 "features cost a little, within noise): leave it off there. STRING's gains are inflated by the "
                 "knowledge it was built from."),
}


def conclusion(chapter: str, metrics: pd.DataFrame | None = None, *, out=None, files=(), **kwargs) -> str:
    """The closing section of ``chapter`` as Markdown (show it with ``display(Markdown(...))``): its question and
    advice from :data:`CONCLUSIONS`, the findings and verdicts from its own ``metrics`` (or ``table=`` /
    ``found=``, see :func:`grnlib.evaluation.verdicts.conclusion`), and where its files went (``out``)."""
    from grnlib.evaluation.verdicts import conclusion as write

    text = write(metrics=metrics, **{**CONCLUSIONS[chapter], **kwargs})
    if out is not None:
        text += f"\n*Files: {wrote(out, files).removeprefix('wrote ')}.*\n"
    return text


def show_conclusion(chapter: str, metrics: pd.DataFrame | None = None, **kwargs) -> None:
    """Display :func:`conclusion` as Markdown in the notebook."""
    from IPython.display import Markdown, display

    display(Markdown(conclusion(chapter, metrics, **kwargs)))


def show_long(table: pd.DataFrame, title: str, csv, keep: dict | None = None):
    """Display a long table as a compact one (the rows whose index levels hold the values of ``keep``) and the
    full one collapsed (:func:`collapsed_table`); the full table is written to ``csv`` too."""
    from IPython.display import HTML, display

    from grnlib.io import write_table

    write_table(table.reset_index(), csv, sep=",", float_format=None)
    compact = table
    for level, values in (keep or {}).items():
        compact = compact[compact.index.get_level_values(level).isin(values)]
    display(compact)
    display(HTML(collapsed_table(table, title, csv)))
