#!/usr/bin/env python
"""grnlib speed and scale benchmark (``make bench``): prints a table, writes ``bench.json``.

What it measures (each job in its own Python process, so every peak RSS is independent):

- ``train``: epoch time and labelled pairs per second of every registered model on each dataset
  (released split sample 1; the model's preset, PCA-64 features for models reading expression),
  and for two-tower models the same epochs with ``model.forward_per_pair`` (towers run once per
  pair: the naive reference);
- ``genelink``: one epoch of a GENELink-style graph-attention reference on the same split
  (``benchmarks/genelink_ref.py``; grnlib has no GAT model);
- ``phase4``: time to convergence of ``grnlib.evaluation.spec.preset("phase4")`` (early stopping);
- ``phase4_recipe``: the previous phase-4 recipe (batch 256) against the current preset, fitted
  alternately on released sample 1 (``benchmarks/phase4_speed.py``): the speed-up with its spread
  and the paired validation/test AUROC differences;
- ``profile``: where a phase-4 epoch spends its time (torch profiler);
- ``scoring``: every TF (1,639 Lambert 2018 human TFs) x every gene of a 20,000-gene universe
  scored in chunks with a running top-k, the top-k written as TSV; the same at fewer genes for
  scaling, and the naive per-pair forward on a sample of pairs;
- ``threads``: a phase-4 epoch and genome-wide scoring with 1 thread and with ``--threads``;
- ``report``: wall time of ``python -m grnlib.report --params ci`` (``make report`` with CI params);
- ``scale``: ``grnlib train --model phase1 --raw-counts`` and ``grnlib predict --top-k 100000`` as
  subprocesses on seeded sparse count matrices (``benchmarks/synth.py``) up to 50,000 x 20,000:
  seconds and peak RSS per size (``benchmarks/scale.py``; sizes from ``--scale-sizes``).

Every speed claim is a ratio of two measurements of this run. Threads: ``--threads`` (default
``os.cpu_count()``), with ``OMP_WAIT_POLICY=PASSIVE`` unless set, because spinning OpenMP
threads on a shared machine made 2-thread training up to 8x slower than 1 thread in our tests.

    python benchmarks/run.py                       # full run -> results/bench/bench.json
    python benchmarks/run.py --smoke --out /tmp/b  # seconds: the suite runs, JSON has its keys
    python benchmarks/run.py --only scoring --scaling 1000,5000 --no-naive --out build/scaling
"""
from __future__ import annotations

import os

_OMP_POLICY_SET_HERE = "OMP_WAIT_POLICY" not in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch starts OpenMP

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scale  # noqa: E402

DATASETS = ("beeline/Specific/hHEP/500", "beeline/Specific/mESC/500")
SECTIONS = ("train", "genelink", "phase4", "phase4_recipe", "profile", "scoring", "threads", "report", "scale")
SCALING_GENES = (1000, 2000, 5000, 10000, 20000)
TARGETS = {"phase4_fit_seconds": 20.0, "genelink_speedup": 10.0,
           "genome_seconds": 30.0, "genome_peak_rss_mb": 4096.0}
RESULT_MARK = "BENCH-RESULT "
REPORT_COMMAND = ["-m", "grnlib.report", "--params", "ci"]
NAIVE_REFERENCE = ("model.forward_per_pair: the same model and weights with its towers run once per "
                   "pair (duplicates included) instead of once per distinct gene")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="seconds-long run on the toy dataset (CI): checks the suite and the JSON keys")
    parser.add_argument("--out", type=Path, help="output folder (default results/bench)")
    parser.add_argument("--skip-report", action="store_true", help="do not time `grnlib.report --params ci`")
    parser.add_argument("--only", help=f"comma-separated sections to run, of {','.join(SECTIONS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--datasets", help=f"comma-separated dataset ids (default {','.join(DATASETS)})")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per throughput measurement (first is warm-up)")
    parser.add_argument("--genes", type=int, default=20000, help="genes of the genome-scale universe")
    parser.add_argument("--tfs", type=int, help="number of TFs (default: all 1,639 of the Lambert list)")
    parser.add_argument("--top-k", type=int, default=100_000, help="edges kept and written by genome scoring")
    parser.add_argument("--scaling", help="comma-separated gene counts for the scaling curve "
                                          f"(default {','.join(map(str, SCALING_GENES))})")
    parser.add_argument("--naive-pairs", type=int, default=65_536,
                        help="pairs timed with the per-pair forward at genome scale")
    parser.add_argument("--no-naive", action="store_true", help="skip the per-pair scoring reference")
    parser.add_argument("--keep-tsv", action="store_true", help="keep the genome-scale top-k TSV in --out")
    parser.add_argument("--scale-sizes", help="CELLSxGENES,... for the scale section (default: "
                                              "benchmarks/scale.py DEFAULT_SIZES; smoke: 300x800)")
    parser.add_argument("--scale-paths", default="in-memory",
                        help="paths of the scale section: in-memory, out-of-core or both, comma-separated; a partial "
                             "run (--only scale) keeps the previous records of the sizes and paths it does not run")
    parser.add_argument("--scale-epochs", type=int, help="training epochs in the scale section (default: the "
                                                         "phase1 preset's; smoke: 1)")
    parser.add_argument("--worker", choices=("train", "genelink", "phase4", "phase4_recipe", "profile", "scoring"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- jobs in child processes ----------------------------------------------------------------
def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


def worker_main(args: argparse.Namespace) -> int:
    """Run one job in this process and print its result as one marked JSON line."""
    set_threads(args.threads)
    result = job_function(args.worker)(**json.loads(args.job or "{}"))
    print(RESULT_MARK + json.dumps(result, default=float), flush=True)
    return 0


def job_function(name: str):
    """The function behind a job name: benchmarks/jobs.py, or phase4_speed.bench_job for ``phase4_recipe``."""
    if name == "phase4_recipe":
        from benchmarks.phase4_speed import bench_job

        return bench_job
    from benchmarks import jobs

    return jobs.JOBS[name]


def run_job(name: str, kwargs: dict, threads: int, isolate: bool = True) -> dict:
    """One job's result dict; ``{"error": ...}`` (with the job's arguments) when it failed."""
    started = time.perf_counter()
    if not isolate:
        try:
            return job_function(name)(**kwargs)
        except Exception as exc:  # a broken model must not sink the whole suite
            traceback.print_exc()
            return {**kwargs, "error": f"{type(exc).__name__}: {exc}"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--job", json.dumps(kwargs),
           "--threads", str(threads)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
    print(f"[bench] {name} {kwargs} failed after {time.perf_counter() - started:.0f}s:\n{tail}", file=sys.stderr)
    return {**kwargs, "error": tail or f"exit code {proc.returncode}"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- host -----------------------------------------------------------------------------------
def host_info(threads: int) -> dict:
    import torch

    from grnlib.training.loop import resolve_device

    device = resolve_device("auto")
    cpu_model = None
    try:
        cpu_model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                          if line.startswith("model name")), None)
    except OSError:
        pass
    info = {"cores": os.cpu_count(), "torch_threads": threads, "torch": torch.__version__,
            "device": str(device), "python": platform.python_version(), "platform": platform.platform(),
            "cpu": cpu_model or platform.processor(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": _git("rev-parse", "HEAD"), "git_dirty": bool(_git("status", "--porcelain")),
            "loadavg_start": _loadavg()}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    return info


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# -- the suite ------------------------------------------------------------------------------
def plan(args: argparse.Namespace) -> dict:
    """Sizes of everything, full or smoke."""
    from grnlib.models import MODELS

    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = only - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; valid: {', '.join(SECTIONS)}")
    if args.smoke:
        return {"sections": only - {"report", "threads"}, "datasets": ["toy"], "models": MODELS.names(), "epochs": 2,
                "phase4_epochs": 3, "recipe_repeats": 1, "genelink_epochs": 1, "tfs": 16, "genes": 400, "scaling": [200],
                "top_k": 50, "naive_pairs": 0 if args.no_naive else 2048, "isolate": False,
                **_scale_plan(args, scale.SMOKE_SIZES, 1)}
    scaling = [int(g) for g in args.scaling.split(",")] if args.scaling else list(SCALING_GENES)
    return {"sections": only - ({"report"} if args.skip_report else set()),
            "datasets": args.datasets.split(",") if args.datasets else list(DATASETS),
            "models": MODELS.names(), "epochs": args.epochs, "phase4_epochs": None, "recipe_repeats": 2, "genelink_epochs": 2,
            "tfs": args.tfs, "genes": args.genes, "scaling": sorted(set(scaling) - {args.genes}),
            "top_k": args.top_k, "naive_pairs": 0 if args.no_naive else args.naive_pairs, "isolate": True,
            **_scale_plan(args, scale.DEFAULT_SIZES, None)}


def _scale_plan(args: argparse.Namespace, sizes, epochs) -> dict:
    return {"scale_sizes": scale.parse_sizes(args.scale_sizes) if args.scale_sizes else list(sizes),
            "scale_epochs": args.scale_epochs if args.scale_epochs is not None else epochs,
            "scale_paths": scale.parse_paths(args.scale_paths)}


def run_suite(args: argparse.Namespace, p: dict) -> dict:
    threads, iso = args.threads, p["isolate"]
    out: dict = {"training": [], "genelink": [], "phase4": [], "profile": None, "scoring": [], "threads": None,
                 "report": None, "phase4_recipe": None, "scale": []}
    if "train" in p["sections"]:
        for dataset in p["datasets"]:
            for model in p["models"]:
                log(f"train {model} on {dataset}")
                out["training"].append(run_job("train", {"dataset": dataset, "model": model, "epochs": p["epochs"]},
                                               threads, iso))
    if "genelink" in p["sections"]:
        for dataset in p["datasets"]:
            log(f"GENELink-style reference epoch on {dataset}")
            out["genelink"].append(run_job("genelink", {"dataset": dataset, "epochs": p["genelink_epochs"]},
                                           threads, iso))
    if "phase4" in p["sections"]:
        for dataset in p["datasets"]:
            log(f"phase-4 fit to convergence on {dataset}")
            out["phase4"].append(run_job("phase4", {"dataset": dataset, "epochs": p["phase4_epochs"]}, threads, iso))
    if "phase4_recipe" in p["sections"]:
        log(f"previous vs current phase-4 recipe, alternating, on {p['datasets'][0]}")
        out["phase4_recipe"] = run_job("phase4_recipe", {"dataset": p["datasets"][0], "seeds": [0],
                                                         "repeats": p["recipe_repeats"],
                                                         "epochs": p["phase4_epochs"]}, threads, iso)
    if "profile" in p["sections"]:
        log(f"profile one phase-4 epoch on {p['datasets'][0]}")
        out["profile"] = run_job("profile", {"dataset": p["datasets"][0]}, threads, iso)
    if "scoring" in p["sections"]:
        tsv = str(args.out / "genome_top_edges.tsv") if args.keep_tsv else None
        for genes in [*p["scaling"], p["genes"]]:
            headline = genes == p["genes"]
            log(f"score {p['tfs'] or 'all'} TFs x {genes} genes, top {p['top_k']}")
            # Always a fresh process per size: peak RSS must not carry over from a larger size.
            out["scoring"].append(run_job("scoring", {
                "n_genes": genes, "n_tfs": p["tfs"], "top_k": p["top_k"], "smoke": args.smoke,
                "naive_pairs": p["naive_pairs"] if headline else 0, "tsv": tsv if headline else None},
                threads, isolate=True))
    if "threads" in p["sections"] and threads > 1:
        out["threads"] = thread_comparison(p, threads)
    if "scale" in p["sections"]:
        # Subprocesses, one size at a time (smallest first); full runs keep the matrices for the next.
        work = args.out / "scale" if args.smoke else ROOT / "build" / "bench" / "scale"
        out["scale"] = scale.run_scale(p["scale_sizes"], work, log=log,
                                       epochs=p["scale_epochs"], top_k=100 if args.smoke else 100_000,
                                       paths=p["scale_paths"],
                                       threads=threads)
    if "report" in p["sections"]:
        log("time `python -m grnlib.report --params ci` (make report with CI params)")
        out["report"] = time_report()
    return out


def thread_comparison(p: dict, threads: int) -> dict:
    """The same phase-4 epoch and genome-wide scoring at 1 thread and at ``threads``: whether
    intra-op threads pay for these matrix sizes on this host."""
    dataset, result = p["datasets"][0], {"threads": [1, threads], "phase4_epoch_s": {}, "genome_scoring_s": {}}
    for n in (1, threads):
        log(f"thread comparison: {n} thread(s)")
        epoch = run_job("train", {"dataset": dataset, "model": "deep_two_tower", "epochs": p["epochs"],
                                  "naive": False}, n)
        score = run_job("scoring", {"n_genes": p["genes"], "n_tfs": p["tfs"], "top_k": p["top_k"]}, n)
        result["phase4_epoch_s"][str(n)] = epoch.get("epoch_s")
        result["genome_scoring_s"][str(n)] = score.get("seconds")
    result["dataset"] = dataset
    return result


def time_report() -> dict:
    env = dict(os.environ)
    if _OMP_POLICY_SET_HERE:  # time the report as a user runs it
        env.pop("OMP_WAIT_POLICY", None)
    with tempfile.TemporaryFile("w+") as logfile:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, *REPORT_COMMAND], cwd=ROOT, env=env, stdout=logfile,
                              stderr=subprocess.STDOUT, text=True)
        seconds = time.perf_counter() - started
        logfile.seek(0)
        tail = logfile.read().strip().splitlines()[-8:]
    result = {"command": "python " + " ".join(REPORT_COMMAND), "seconds": seconds, "returncode": proc.returncode}
    if proc.returncode:
        result["log_tail"] = tail
    return result


# -- summary --------------------------------------------------------------------------------
def _ok(row) -> bool:
    return bool(row) and "error" not in row


# the raw results of each section, as run_suite returns them, and where a bench.json payload keeps them
SECTION_RESULTS = {"train": "training", "genelink": "genelink", "phase4": "phase4", "phase4_recipe": "phase4_recipe",
                   "profile": "profile", "scoring": "scoring", "threads": "threads", "report": "report",
                   "scale": "scale"}


def previous_results(payload: dict) -> dict:
    """``run_suite``'s results recovered from an earlier bench.json, so a run of some sections (``--only``)
    keeps every other section's measurements instead of writing them empty."""
    scoring = list(payload.get("scoring_scaling") or [])
    genome = payload.get("genome_scoring")
    if genome:  # the headline size's row keeps its per-pair reference numbers
        scoring = [genome if r.get("genes") == genome.get("genes") else r for r in scoring]
    report = payload.get("report") or {}
    return {"training": payload.get("training") or [],
            "genelink": (payload.get("genelink_reference") or {}).get("by_dataset") or [],
            "phase4": payload.get("phase4_fit") or [], "phase4_recipe": payload.get("phase4_recipe"),
            "profile": payload.get("phase4_profile"), "scoring": scoring, "threads": payload.get("threads_comparison"),
            "report": None if report.get("skipped") else report or None, "scale": payload.get("scale") or []}


def merge_results(out: dict, previous: dict, sections_run) -> dict:
    """``out`` for the sections run now, ``previous`` for the rest."""
    kept = {SECTION_RESULTS[s] for s in SECTION_RESULTS if s not in sections_run}
    return {key: previous.get(key, value) if key in kept else value for key, value in out.items()}


def summarise(host: dict, p: dict, out: dict, smoke: bool, seconds: float) -> dict:
    """The bench.json payload: headline numbers first, every measured row after."""
    training = [r for r in out["training"] if _ok(r)]
    primary = p["datasets"][0]
    by_dataset: dict = {}
    for r in training:
        by_dataset.setdefault(r["dataset"], {})[r["model"]] = r["pairs_per_s"]
    datasets = dict.fromkeys([*p["datasets"], *(r["dataset"] for r in training)])  # with sections kept from before
    speedup_naive = {d: {r["model"]: r["speedup_vs_naive"] for r in training
                         if r["dataset"] == d and "speedup_vs_naive" in r} for d in datasets}
    phase4_epoch = {r["dataset"]: r for r in training if r["model"] == "deep_two_tower"}
    genelink = []
    for ref in filter(_ok, out["genelink"]):
        ours = phase4_epoch.get(ref["dataset"])
        genelink.append({**ref, "phase4_epoch_s": ours["epoch_s"] if ours else None,
                         "speedup": ref["epoch_s"] / ours["epoch_s"] if ours else None,
                         "speedup_cpu": ref["epoch_cpu_s"] / ours["epoch_cpu_s"] if ours else None})
    phase4 = [r for r in out["phase4"] if _ok(r)]
    recipe = out["phase4_recipe"] if _ok(out["phase4_recipe"]) else None
    headline_phase4 = next((r for r in phase4 if r["dataset"] == primary), None)
    scoring = [r for r in out["scoring"] if _ok(r)]
    genome = next((r for r in scoring if r["genes"] == p["genes"]), None)
    payload = {
        "schema": 1,
        "mode": "smoke" if smoke else "full",
        "host": {**host, "loadavg_end": _loadavg(), "bench_seconds": seconds},
        "primary_dataset": primary,
        "train_pairs_per_s": by_dataset.get(primary, {}),
        "epoch_seconds": {r["model"]: r["epoch_s"] for r in training if r["dataset"] == primary},
        "train_pairs_per_s_by_dataset": by_dataset,
        "phase4_fit_seconds": headline_phase4["fit_seconds"] if headline_phase4 else (
            recipe["current_fit_seconds"]["median"] if recipe else None),
        # previous recipe's fit time / current's, fitted alternately in this run (median, min, max)
        "phase4_speedup_vs_previous_recipe": recipe["speedup"] if recipe else None,
        "speedup_vs_naive": {
            "reference": NAIVE_REFERENCE,
            "training_epoch": speedup_naive.get(primary, {}),
            "training_epoch_by_dataset": speedup_naive,
            "genome_scoring": genome.get("speedup_vs_naive") if genome else None,
        },
        "genelink_reference": {
            "implementation": "benchmarks/genelink_ref.py: compact GENELink-style model written for this "
                              "benchmark (grnlib has no GAT/GENELink model; graph_sage is GraphSAGE, timed "
                              "with the other models). Compared with deep_two_tower under the phase-4 preset, "
                              "epoch for epoch (training steps only, batch 256, same split).",
            "by_dataset": genelink,
        },
        "genome_scoring": genome,
        "scoring_scaling": [{k: r.get(k) for k in ("tfs", "genes", "pairs", "seconds", "cpu_seconds", "peak_rss_mb",
                                                   "rss_before_mb", "top_k")} for r in scoring],
        "phase4_fit": phase4,
        "peak_rss_mb": {"training": {f"{r['dataset']}|{r['model']}": r["peak_rss_mb"] for r in training},
                        "phase4_fit": {r["dataset"]: r["peak_rss_mb"] for r in phase4},
                        "genome_scoring": genome["peak_rss_mb"] if genome else None},
        "training": out["training"],
        "phase4_profile": out["profile"],
        "phase4_recipe": out["phase4_recipe"],
        "scale": out["scale"],
        "scale_growth": scale.summary(out["scale"]),
        "threads_comparison": out["threads"],
        "report": out["report"] if out["report"] is not None else {"skipped": True},
        "errors": [r for section in ("training", "genelink", "phase4", "scoring", "scale") for r in out[section]
                   if not _ok(r)] + ([out["profile"]] if out["profile"] and not _ok(out["profile"]) else [])
                  + ([out["phase4_recipe"]] if out["phase4_recipe"] and not recipe else []),
    }
    payload["targets"] = targets(payload, host)
    return payload


def targets(payload: dict, host: dict) -> list[dict]:
    """The issue's targets (stated for 2 CPU cores) against what this run measured."""
    rows = []
    basis = f"{host['cores']} cores, {host['device']}, load average at start {host['loadavg_start']}"

    def add(name, measured, target, higher_is_better=False, unit="s"):
        met = None if measured is None else (measured >= target if higher_is_better else measured <= target)
        ratio = None if measured is None else (target / measured if higher_is_better else measured / target)
        rows.append({"target": name, "goal": f"{'>=' if higher_is_better else '<='} {target:g} {unit}",
                     "measured": measured, "met": met,
                     "miss_factor": None if met in (None, True) else ratio, "basis": basis})

    add(f"phase-4 fit to convergence on {payload['primary_dataset']}", payload["phase4_fit_seconds"],
        TARGETS["phase4_fit_seconds"])
    for ref in payload["genelink_reference"]["by_dataset"]:
        add(f"epoch speedup vs GENELink-style reference on {ref['dataset']}", ref["speedup"],
            TARGETS["genelink_speedup"], higher_is_better=True, unit="x")
    genome = payload["genome_scoring"]
    if genome:
        label = f"{genome['tfs']} TFs x {genome['genes']} genes + top-{genome['top_k']} TSV"
        add(f"genome-wide scoring time ({label})", genome["seconds"], TARGETS["genome_seconds"])
        add(f"genome-wide scoring peak RSS ({label})", genome["peak_rss_mb"], TARGETS["genome_peak_rss_mb"],
            unit="MB")
    for name, measured, limit, unit in scale.target_rows(payload.get("scale") or []):
        add(name, measured, limit, unit=unit)
    return rows


def print_tables(payload: dict) -> None:
    import pandas as pd

    pd.set_option("display.width", 160)
    host = payload["host"]
    print(f"\ngrnlib benchmark ({payload['mode']}) on {host['cores']} cores, {host['device']}, torch {host['torch']}, "
          f"{host['torch_threads']} threads, load {host['loadavg_start']} -> {host['loadavg_end']}")
    rows = [r for r in payload["training"] if "error" not in r]
    if rows:
        table = pd.DataFrame(rows)[["dataset", "model", "preset", "epoch_s", "epoch_cpu_s", "pairs_per_s",
                                    "peak_rss_mb"] + (["speedup_vs_naive"] if any("speedup_vs_naive" in r for r in rows)
                                                      else [])]
        print("\nTraining (best epoch after the first; speedup = per-pair forward epoch / this epoch)")
        print(table.round(2).to_string(index=False))
    if payload["genelink_reference"]["by_dataset"]:
        print("\nGENELink-style reference vs deep_two_tower (phase 4), one training epoch")
        print(pd.DataFrame(payload["genelink_reference"]["by_dataset"])[
            ["dataset", "epoch_s", "phase4_epoch_s", "speedup", "speedup_cpu", "val_auroc_after"]].round(2).to_string(index=False))
    if payload["phase4_fit"]:
        print("\nPhase-4 fit to convergence")
        print(pd.DataFrame(payload["phase4_fit"])[["dataset", "fit_seconds", "fit_cpu_seconds", "epochs", "best_epoch",
                                                   "best_val_auroc", "degree_val_auroc", "peak_rss_mb"]].round(3).to_string(index=False))
    recipe = payload.get("phase4_recipe")
    if recipe and "error" not in recipe:
        s, d = recipe["speedup"], recipe["auroc_diff"]
        print(f"\nPhase-4 recipe: previous {recipe['previous_fit_seconds']['median']:.1f} s, current "
              f"{recipe['current_fit_seconds']['median']:.1f} s; speed-up {s['median']:.2f}x "
              f"(min {s['min']:.2f}, max {s['max']:.2f}, {s['n']} alternating pairs); AUROC current - previous: "
              f"val {d['val']['mean']:+.4f}, test {d['test']['mean']:+.4f}")
    if payload["scoring_scaling"]:
        print("\nAll-pairs scoring with top-k TSV (one process per size)")
        print(pd.DataFrame(payload["scoring_scaling"]).round(2).to_string(index=False))
        genome = payload["genome_scoring"]
        if genome and genome.get("speedup_vs_naive"):
            print(f"  per-pair reference: {genome['naive_pairs_per_s']:.0f} pairs/s -> "
                  f"{genome['naive_seconds_estimated']:.0f} s estimated; speedup {genome['speedup_vs_naive']:.0f}x")
    if payload["threads_comparison"]:
        tc = payload["threads_comparison"]
        print(f"\nThreads {tc['threads']}: phase-4 epoch s {tc['phase4_epoch_s']}, genome scoring s {tc['genome_scoring_s']}")
    if payload.get("scale"):
        print("\nScale: grnlib train --model phase1 --raw-counts / grnlib predict --top-k (seconds, peak RSS MB)")
        print(scale.table(payload["scale"]))
        moon = payload["scale_growth"]["moonshot"]
        if moon:
            print(f"  {moon['cells']:,} x {moon['genes']:,} ({moon['how']}): "
                  + ", ".join(f"{k} {moon[k]:,.0f}" for k in scale.COSTS if k in moon))
        ooc = payload["scale_growth"].get("out_of_core") or {}
        for guess in ooc.get("extrapolated", []):
            print(f"  out of core {guess['cells']:,} x {guess['genes']:,} ({guess['how']}): "
                  + ", ".join(f"{k} {guess[k]:,.0f}" for k in scale.COSTS if k in guess))
        for y, slope in (ooc.get("rss_bytes_per_nnz") or {}).items():
            print(f"  out of core {y}: {slope:.3f} bytes per non-zero (straight line over the sizes)")
        for y, fit in payload["scale_growth"]["unit_costs"].items():
            if "bytes_per_nnz" in fit:
                print(f"  {y}: {fit['intercept']:,.0f} MB + {fit['bytes_per_nnz']:.1f} bytes per non-zero "
                      f"+ {fit['bytes_per_entry']:.2f} bytes per matrix entry (least squares over the sizes)")
    report = payload["report"]
    if not report.get("skipped"):
        print(f"\n{report['command']}: {report['seconds']:.1f} s (exit {report['returncode']})")
    print("\nTargets")
    print(pd.DataFrame(payload["targets"])[["target", "goal", "measured", "met", "miss_factor"]].round(2).to_string(index=False))
    for error in payload["errors"]:
        print(f"ERROR: {error}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    set_threads(args.threads)
    args.out = (args.out or ROOT / "results" / "bench").resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    p = plan(args)
    host = host_info(args.threads)
    out = run_suite(args, p)
    bench = args.out / "bench.json"
    merged_from = bench.is_file() and args.only and not args.smoke
    if merged_from:  # a partial run replaces only its own sections
        previous = previous_results(json.loads(bench.read_text()))
        out = merge_results(out, previous, p["sections"])
        if "scale" in p["sections"]:  # and, in the scale section, only the sizes and paths it ran
            out["scale"] = scale.merge_records(previous["scale"], out["scale"])
    payload = summarise(host, p, out, args.smoke, time.perf_counter() - started)
    payload["sections"] = sorted(p["sections"])
    if merged_from:
        payload["sections_kept_from_previous_run"] = sorted(set(SECTION_RESULTS) - p["sections"])
    from grnlib.io import write_json

    path = write_json(args.out / "bench.json", payload)
    print_tables(payload)
    print(f"\nwrote {path}")
    return 1 if payload["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
