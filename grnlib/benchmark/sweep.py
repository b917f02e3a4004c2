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
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from grnlib.entry import run_main
from grnlib.errors import DataError
from grnlib.evaluation.cells import Cell, environment_info, evaluate_cell
from grnlib.evaluation.spec import needs_expression, resolve_specs
from grnlib.benchmark.summary import (CELL_FILE, ERROR_FILE, META_FILE, against_floors,  # noqa: F401 (re-exported)
                                      aggregate, benchmark_figure, finished_keys, floor_table, floors_figure,
                                      load_summaries, load_summary, open_errors, read_cells, results_frame,
                                      select_by_validation,
                                      select_by_worst_case,
                                      summarize, summarize_frame)
from grnlib.io import append_jsonl, write_json



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
    datasets: tuple | None = None     # explicit ids (None = every setting of ``families``)
    folds: tuple = (0,)               # TF folds per seed under the TF protocols (the other protocols: fold 0)
    families: tuple = ("beeline",)    # dataset families of the plan (grnlib.data.catalog)
    without_expression: tuple = ()    # cells whose settings run although they have no expression (and
                                      # only_with_expression is set): expression-free scorers only


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
    # issue 18: the regimes users hit. The 18 settings with expression (released + TF protocols), each of
    # them subsampled to 150 and 300 edges (3 draws; TF protocols), and the cells without released
    # splits hESC and mHSC-E (TF protocols, scorers without expression); three TF folds per seed.
    "robust": PlanSpec(
        "issue 18: settings with expression x released/heldout-tf/degree-matched, their networks subsampled to "
        "150 and 300 edges (3 draws) and hESC/mHSC-E on the TF protocols; folds 0-2 per seed; the floors, the "
        "controls (target_only, tf_shuffled, expression_permuted) and the pair-evidence models, stacks and phase1 "
        "at 12 epochs", protocols=("released", "heldout-tf", "degree-matched"), genie3="none", heavy_models=(),
        baselines=("degree", "edge_prior"), fast_models=("target_only", "pair_evidence", "pair_evidence_heldout",
                                                         "tf_shuffled", "tf_shuffled_heldout", "expression_permuted",
                                                         "expression_permuted_heldout", "pair_evidence_residual",
                                                         "pair_evidence_residual_heldout", "stack", "stack_heldout",
                                                         "phase1", "pair_evidence_blend", "pair_evidence_heldout_blend",
                                                         "pair_evidence_residual_blend",
                                                         "pair_evidence_residual_heldout_blend", "phase1_blend"),
        only_with_expression=True, without_expression=("hESC", "mHSC-E"), epochs=12, optional_presets=(),
        folds=(0, 1, 2), families=("beeline", "subsample")),
    # issues 18/19: the alias candidates and the floors on the robust grid, for the worst-case choice on nested
    # validation (every choice made on one half of the validation TFs, scored on the other; the val_nested_*
    # columns, grnlib.evaluation.nested): single models, blends and stacks on one footing. Fold 0 per seed.
    "choice": PlanSpec(
        "issues 18/19: the alias candidates (pair-evidence models with and without knowledge, phase1, their blends, "
        "the stacks), the target_only control and the floors on the robust grid's settings with expression, fold 0 "
        "per seed, scored by nested validation for the alias choice", protocols=("released", "heldout-tf", "degree-matched"), genie3="none", heavy_models=(),
        baselines=("degree", "edge_prior"),
        fast_models=("target_only", "pair_evidence", "pair_evidence_heldout", "pair_evidence_residual",
                     "pair_evidence_residual_heldout",
                     "phase1", "stack", "stack_heldout", "pair_evidence_blend", "pair_evidence_heldout_blend",
                     "pair_evidence_residual_blend", "pair_evidence_residual_heldout_blend", "phase1_blend",
                     "pair_evidence_knowledge", "pair_evidence_knowledge_heldout", "pair_evidence_knowledge_blend",
                     "pair_evidence_knowledge_heldout_blend", "stack_knowledge", "stack_knowledge_heldout"),
        only_with_expression=True, epochs=12, optional_presets=(), folds=(0,), families=("beeline", "subsample")),
    "reserved": PlanSpec(
        "reserved sets only (mHSC-L, Lofgof): released (mHSC-L) + heldout-tf + degree-matched, seeds 0-4",
        protocols=("released", "heldout-tf", "degree-matched"), genie3="none", heavy_sizes=(500, 1000),
        epochs=15),
}


def _defined_presets(names) -> tuple:
    from grnlib.evaluation.presets import PRESETS

    return tuple(n for n in names if n in PRESETS)


def _settings(reserved: bool, datasets=None, root=None, families=("beeline",)) -> pd.DataFrame:
    from grnlib.data.catalog import as_table, describe, list_datasets

    if datasets is not None:
        # Explicit ids may be of any registered family (seed/..., dream4/...), listed or not.
        return as_table([describe(d, root) for d in dict.fromkeys(datasets)])
    # --reserved runs only the reserved sets: they are for the final chapter, never mixed in.
    table = list_datasets(root, families=families)
    return table[table["reserved"] == bool(reserved)]


def _variants_for(names, protocol: str) -> list[str]:
    """A plan's scorers for ``protocol``: the ``_heldout`` variants (trained as if every TF were unseen;
    ``<name>_heldout``, ``<name>_heldout_blend``) under the TF protocols in place of their plain twins, and
    only the plain ones elsewhere."""
    from grnlib.evaluation.protocols import tf_protocols

    heldout = {n: n.replace("_heldout", "") for n in names if "_heldout" in n}  # variant -> its plain twin
    if protocol in tf_protocols():
        return [n for n in names if n not in set(heldout.values())]
    return [n for n in names if n not in heldout]


def make_plan(plan: str | PlanSpec = "reduced", reserved: bool = False, seeds=None, epochs: int | None = None,
              protocols=None, datasets=None, models=None, root=None, folds=None, families=None) -> list[Cell]:
    """The cells of a named plan (or a :class:`PlanSpec`), with scorers chosen per setting.

    Rules: expression scorers (correlation, spearman, genie3, phase1, ...) only where the setting
    has expression; ``released`` only where released splits exist; reserved settings
    (mHSC-L, Lofgof) only with ``reserved=True`` (and then only those).

    Args:
        plan: a key of :data:`PLANS` or a PlanSpec.
        reserved: run the reserved sets instead of the development sets.
        seeds, epochs, protocols, datasets, folds, families: override the plan's values (``folds``: the
            TF folds of each seed under the TF protocols; the other protocols have one split per seed).
        models: replace the plan's scorer list with these names (still filtered by expression).
    """
    if isinstance(plan, str):
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; valid plans: {sorted(PLANS)}")
        plan = PLANS[plan]
    seeds = tuple(plan.seeds if seeds is None else seeds)
    protocols = tuple(plan.protocols if protocols is None else protocols)
    epochs = plan.epochs if epochs is None else epochs
    folds = tuple(plan.folds if folds is None else folds)
    from grnlib.evaluation.protocols import PROTOCOLS, tf_protocols

    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise ValueError(f"unknown protocol(s) {bad}; valid protocols: {sorted(PROTOCOLS)}")
    # each scorer name resolved once, here where the plan's input enters (unknown names fail early); a cell
    # carries the names and resolves them once more where it runs (a Dask worker), with the plan's epochs
    candidates = models if models is not None else (*plan.baselines, *plan.fast_models, *plan.heavy_models,
                                                    *_defined_presets(plan.optional_presets))
    reads = {spec.name: needs_expression(spec) for spec in resolve_specs(candidates)}
    cells = []
    for row in _settings(reserved, datasets or plan.datasets, root, families or plan.families).itertuples():
        if plan.only_with_expression and not row.has_expression and row.cell not in plan.without_expression:
            continue
        if models is not None:
            names = [m for m in models if row.has_expression or not reads[m]]
        else:
            names = [b for b in plan.baselines if row.has_expression or not reads[b]]
            with_genie3 = row.has_expression and (plan.genie3 == "all" or (plan.genie3 == "500" and row.size == 500))
            names += [m for m in plan.fast_models + _defined_presets(plan.optional_presets)
                      if row.has_expression or not reads[m]]
            if not pd.isna(row.size) and row.size in plan.heavy_sizes:  # seed/... ids have no gene budget
                names += [m for m in plan.heavy_models if row.has_expression or not reads[m]]
        for protocol in protocols:
            if protocol == "released" and row.n_splits == 0:
                continue
            for seed in seeds:
                if protocol == "released" and seed + 1 > row.n_splits:
                    continue
                cell_names = list(names) if models is not None else _variants_for(names, protocol)
                if models is None and with_genie3 and seed in plan.genie3_seeds:
                    cell_names.insert(len(plan.baselines), "genie3")
                for fold in folds if protocol in tf_protocols() else (0,):
                    cells.append(Cell(row.id, protocol, int(seed), int(fold), tuple(cell_names), epochs))
    # Seed-major order (then fold, protocol, dataset): a partial run covers every setting evenly.
    order = {p: i for i, p in enumerate(protocols)}
    return sorted(cells, key=lambda c: (c.seed, c.fold, order[c.protocol]))


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
        p.add_argument("--folds", help="comma list of TF folds per seed under the TF protocols (default: the plan's)")
        p.add_argument("--families", help="comma list of dataset families, e.g. beeline,subsample (default: the plan's)")
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
    if args.action == "summarize":
        for path in summarize(args.raw_dir, args.out, args.name).values():
            print("wrote", path)
        return 0
    cells = make_plan(args.plan, reserved=args.reserved, seeds=_csv(args.seeds, int), epochs=args.epochs,
                      protocols=_csv(args.protocols), datasets=_csv(args.datasets), models=_csv(args.models),
                      folds=_csv(args.folds, int), families=_csv(args.families))
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


if __name__ == "__main__":
    sys.exit(run_main("grnlib.benchmark.sweep", main,
                      kept="the finished cells are kept in --out; the same command resumes"))
