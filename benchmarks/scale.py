#!/usr/bin/env python
"""Scale benchmark: time and peak memory of the two user commands on sparse count matrices of
growing size, as a user runs them::

    grnlib train --expression synth.h5ad --raw-counts --priors collectri.csv.gz --model phase1 --out DIR
    grnlib predict --model DIR --expression synth.h5ad --top-k 100000 --out ranked.tsv

Matrices come from ``benchmarks/synth.py`` (seeded negative-binomial counts, ~90 % zeros, human
symbols from the priors), generated once per size into ``--work`` and reused. Each command runs
in its own process; its peak RSS is the larger of (a) the kernel's ``ru_maxrss`` of that process
(``os.wait4``) and (b) the summed RSS of its process tree polled every 0.2 s. A command whose
tree passes ``--max-rss-mb`` is killed and recorded with the error and the time it had run, so a
too-large size cannot take the machine down.

Each size runs on the in-memory path (``--in-memory``), the out-of-core path (``--out-of-core``: the
``.h5ad`` read in row chunks, :mod:`grnlib.data.streaming`) or both (``--paths``); a record's ``path``
says which. :func:`summary` fits cost against the non-zeros per path and extrapolates the issue-23
sizes (500,000 x 20,000 and 1,000,000 x 30,000) from the out-of-core records, labelled as extrapolated.

``benchmarks/run.py`` calls :func:`run_scale` for the ``scale`` section of ``bench.json``; alone::

    python benchmarks/scale.py --sizes 2000x5000,10000x20000 --paths in-memory,out-of-core --out scale.json
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (cells, genes, share of zeros). The first ones vary cells and genes separately around 10,000 x
# 10,000; then the sizes, up to 50,000 x 20,000 (~10^8 non-zeros); 20,000 x 20,000 once more
# at 97 % zeros, so cost against non-zeros and against cells x genes can be told apart.
ZERO_FRACTION = 0.9
DEFAULT_SIZES = ((2000, 5000, 0.9), (10000, 5000, 0.9), (10000, 10000, 0.9), (10000, 20000, 0.9),
                 (20000, 20000, 0.9), (20000, 20000, 0.97), (50000, 20000, 0.9))
SMOKE_SIZES = ((300, 800, 0.9),)
PRIORS = "priors/human/collectri.csv.gz"
PATHS = ("in-memory", "out-of-core")
RECORD_KEYS = ("path", "cells", "genes", "nnz", "train_seconds", "train_peak_rss_mb", "predict_seconds",
               "predict_peak_rss_mb")
POLL_SECONDS = 0.2


def parse_sizes(text: str) -> list[tuple[int, int, float]]:
    """``"2000x5000,20000x20000@0.97"`` -> [(2000, 5000, 0.9), (20000, 20000, 0.97)] (``@``: share of zeros)."""
    sizes = []
    for part in text.split(","):
        shape, _, zeros = part.strip().lower().partition("@")
        cells, sep, genes = shape.partition("x")
        try:
            zero_fraction = float(zeros) if zeros else ZERO_FRACTION
        except ValueError:
            zero_fraction = -1.0
        if not sep or not cells.isdigit() or not genes.isdigit() or not 0 < zero_fraction < 1:
            raise SystemExit(f"--scale-sizes: {part!r} is not CELLSxGENES[@ZEROS] (e.g. 2000x5000 or 2000x5000@0.97)")
        sizes.append((int(cells), int(genes), zero_fraction))
    return sizes


def parse_paths(text: str) -> tuple[str, ...]:
    """``"in-memory,out-of-core"`` -> the paths, checked."""
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in paths if p not in PATHS]
    if bad or not paths:
        raise SystemExit(f"--paths: {bad or text!r} not among {', '.join(PATHS)}")
    return paths


def size_name(cells: int, genes: int, zero_fraction: float = ZERO_FRACTION) -> str:
    """File-name tag of a size: ``20000x20000``, or ``20000x20000_z970`` at 97 % zeros."""
    return f"{cells}x{genes}" + ("" if zero_fraction == ZERO_FRACTION else f"_z{round(zero_fraction * 1000)}")


def default_max_rss_mb() -> float:
    """60 % of this machine's memory: a run that needs more is stopped and recorded, not swapped."""
    import psutil

    return round(0.6 * psutil.virtual_memory().total / 2**20)


def measure(cmd: list[str], log_path: Path, *, max_rss_mb: float, timeout: float, env=None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MB) and exit code, output to ``log_path``."""
    import psutil

    started = time.perf_counter()
    peak, error = 0, None
    # SIGTERM (a killed `make bench`) becomes an exception here, so the command is killed too.
    previous = signal.signal(signal.SIGTERM, _raise_exit)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # its own group: a kill takes its children too
        try:
            root = psutil.Process(proc.pid)
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                try:
                    tree = [root, *root.children(recursive=True)]
                    peak = max(peak, sum(p.memory_info().rss for p in tree))
                except psutil.Error:
                    pass  # a process ended between listing and reading
                seconds = time.perf_counter() - started
                if error is None and peak > max_rss_mb * 2**20:
                    error = f"killed at {peak / 2**20:,.0f} MB (limit {max_rss_mb:,.0f} MB) after {seconds:.0f} s"
                    os.killpg(proc.pid, signal.SIGKILL)
                elif error is None and seconds > timeout:
                    error = f"killed after the {timeout:.0f} s timeout"
                    os.killpg(proc.pid, signal.SIGKILL)
                time.sleep(POLL_SECONDS)
        except BaseException:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.killpg(proc.pid, signal.SIGKILL)  # interrupted: never leave the command running
                os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    peak_mb = max(peak / 2**20, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux
    # CPU seconds of the command (user + system, all its threads): what a loaded machine does not inflate
    cpu = usage.ru_utime + usage.ru_stime
    result = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak_mb, 1),
              "returncode": proc.returncode}
    if error is None and proc.returncode != 0:
        tail = [line for line in re.split(r"[\r\n]+", log_path.read_text(errors="replace")) if line.strip()][-3:]
        error = f"exit code {proc.returncode}: " + " | ".join(tail)
    if error:
        result["error"] = error
    return result


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def synth_matrix(cells: int, genes: int, zero_fraction: float, seed: int, work: Path, timeout: float) -> dict:
    """The cached matrix of this size (generated in a child process on first use) and its summary."""
    path = work / f"synth_{size_name(cells, genes, zero_fraction)}_s{seed}.h5ad"
    info = path.with_suffix(".json")
    if path.is_file() and info.is_file():
        return json.loads(info.read_text())
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synth.py"), "--cells", str(cells),
                           "--genes", str(genes), "--zero-fraction", str(zero_fraction), "--seed", str(seed),
                           "--out", str(path), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"benchmarks/synth.py failed: {proc.stderr.strip()[-500:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    info.write_text(json.dumps(summary))
    return summary


def run_size(cells: int, genes: int, zero_fraction: float = ZERO_FRACTION, *, work: Path, seed: int = 0,
             epochs: int | None = None, path: str = "in-memory",
             top_k: int = 100_000, threads: int | None = None, max_rss_mb: float | None = None,
             timeout: float = 3600.0, keep: bool = False) -> dict:
    """One record: matrix size and non-zeros, train and predict seconds and peak RSS (MB), on ``path``
    (``in-memory`` or ``out-of-core``: the flag both commands get)."""
    from grnlib.data import fetch

    work.mkdir(parents=True, exist_ok=True)
    max_rss_mb = max_rss_mb or default_max_rss_mb()
    matrix = synth_matrix(cells, genes, zero_fraction, seed, work, timeout)
    if path not in PATHS:
        raise ValueError(f"path {path!r} is not one of {PATHS}")
    tag = size_name(cells, genes, zero_fraction) + ("" if path == "in-memory" else "_ooc")
    record = {"path": path, "cells": cells, "genes": genes, "nnz": matrix["nnz"],
              "zero_fraction": round(matrix["zero_fraction"], 4),
              "file_mb": round(matrix["bytes"] / 2**20, 1), "generate_seconds": matrix["seconds"],
              "epochs": epochs, "top_k": top_k, "seed": seed}
    model_dir, ranked = work / f"model_{tag}", work / f"ranked_{tag}.tsv"
    grnlib = [sys.executable, "-m", "grnlib.cli"]
    run = ["--seed", str(seed), f"--{path}"] + (["--threads", str(threads)] if threads else [])
    train = [*grnlib, "train", "--expression", matrix["path"], "--raw-counts", "--priors", str(fetch(PRIORS)),
             "--model", "phase1", "--out", str(model_dir), "--overwrite", *run,
             *(["--epochs", str(epochs)] if epochs else [])]
    result = measure(train, work / f"train_{tag}.log", max_rss_mb=max_rss_mb, timeout=timeout)
    record.update(train_seconds=result["seconds"], train_peak_rss_mb=result["peak_rss_mb"],
                  train_cpu_seconds=result["cpu_seconds"])
    if "error" in result:
        record.update(predict_seconds=None, predict_peak_rss_mb=None, error=f"train: {result['error']}")
        return record
    predict = [*grnlib, "predict", "--model", str(model_dir), "--expression", matrix["path"], "--top-k", str(top_k),
               "--out", str(ranked), "--overwrite", *run]
    result = measure(predict, work / f"predict_{tag}.log", max_rss_mb=max_rss_mb, timeout=timeout)
    record.update(predict_seconds=result["seconds"], predict_peak_rss_mb=result["peak_rss_mb"],
                  predict_cpu_seconds=result["cpu_seconds"])
    history = model_dir / "history.tsv"
    record["epochs_run"] = max(0, len(history.read_text().splitlines()) - 1) if history.is_file() else None
    if "error" in result:
        record["error"] = f"predict: {result['error']}"
    else:
        with open(ranked) as fh:
            record["edges_written"] = sum(1 for _ in fh) - 1
    if not keep:
        shutil.rmtree(model_dir, ignore_errors=True)
        ranked.unlink(missing_ok=True)
    return record


def run_scale(sizes, work, *, log=print, paths=("in-memory",), **options) -> list[dict]:
    """:func:`run_size` for every size and path, smallest first; one failed size does not stop the others."""
    records = []
    for cells, genes, zeros in sorted((tuple(s) + (ZERO_FRACTION,))[:3] for s in sizes):
        for path in paths:
            log(f"scale: {cells:,} cells x {genes:,} genes, {zeros:.0%} zeros, {path} (train phase1 --raw-counts, "
                "predict top-k)")
            try:
                records.append(run_size(cells, genes, zeros, work=Path(work), path=path, **options))
            except Exception as exc:  # noqa: BLE001 - record it; the next size may still run
                records.append({"path": path, "cells": cells, "genes": genes, "zero_fraction": zeros, "nnz": None,
                                "train_seconds": None, "train_peak_rss_mb": None, "predict_seconds": None,
                                "predict_peak_rss_mb": None, "error": f"{type(exc).__name__}: {exc}"})
            log("  " + json.dumps({k: records[-1].get(k) for k in (*RECORD_KEYS, "error") if k in records[-1]}))
    return records


def merge_records(previous: list[dict], new: list[dict]) -> list[dict]:
    """``previous`` with the records of ``new`` replacing those of the same size and path (a partial run
    keeps the sizes and paths it did not measure); records without a path are in-memory ones."""
    def key(r):
        return (r.get("path", "in-memory"), r["cells"], r["genes"], round(r.get("zero_fraction", ZERO_FRACTION), 2))
    fresh = {key(r) for r in new}
    kept = [{"path": "in-memory", **r} for r in previous if key(r) not in fresh]
    return sorted(kept + list(new), key=lambda r: (r["path"], r["cells"] * r["genes"], r["cells"]))


def growth(records: list[dict], x: str = "nnz", y: str = "train_peak_rss_mb") -> dict | None:
    """How ``y`` grows with ``x`` over the successful records: the log-log slope ``b`` of a power
    law ``y = a * x ** b`` (1 = proportional) and a straight line ``y = intercept + slope * x``
    (a fixed start-up cost plus a cost per unit); None with fewer than two distinct ``x``."""
    import numpy as np

    pts = [(r[x], r[y]) for r in records if r.get(x) and r.get(y) and "error" not in r]
    if len({p[0] for p in pts}) < 2:
        return None
    xs, ys = np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float)
    b, log_a = np.polyfit(np.log(xs), np.log(ys), 1)
    slope, intercept = np.polyfit(xs, ys, 1)
    return {"x": x, "y": y, "a": float(np.exp(log_a)), "b": float(b), "intercept": float(intercept),
            "slope": float(slope), "n_points": len(pts)}


def unit_costs(records: list[dict], y: str) -> dict | None:
    """``y = intercept + per_nnz * nnz + per_entry * cells * genes`` by least squares: what a stored
    value and what a matrix entry cost (``bytes_per_*`` for the peak RSS columns, in MB). None unless
    the sizes tell the two apart (at least two densities and four sizes)."""
    import numpy as np

    rows = [r for r in records if r.get(y) and r.get("nnz") and "error" not in r]
    density = [r["nnz"] / (r["cells"] * r["genes"]) for r in rows]
    if len(rows) < 4 or max(density) < 1.5 * min(density):  # one density: nnz and entries are collinear
        return None
    design = np.array([[1.0, r["nnz"], r["cells"] * r["genes"]] for r in rows])
    (intercept, per_nnz, per_entry), *_ = np.linalg.lstsq(design, np.array([r[y] for r in rows], float), rcond=None)
    out = {"y": y, "intercept": float(intercept), "per_nnz": float(per_nnz), "per_entry": float(per_entry),
           "n_points": len(rows)}
    if y.endswith("_mb"):
        out.update(bytes_per_nnz=round(float(per_nnz) * 2**20, 2), bytes_per_entry=round(float(per_entry) * 2**20, 3))
    return out


# The targets on 2 cores for 50,000 x 20,000 (~10^8 non-zeros): (record key, limit, unit).
TARGET_SIZE = (50_000, 20_000)
TARGETS = (("train_seconds", 180.0, "s"), ("train_peak_rss_mb", 4096.0, "MB"), ("predict_seconds", 60.0, "s"))
MOONSHOT = (1_000_000, 30_000)
# Issue 23's goals for the out-of-core path on 2 cores: size -> (record key, limit, unit); and the growth of
# its peak RSS, below 1 byte per non-zero (flat in the cells, up to the recipe's per-cell vectors).
OUT_OF_CORE_TARGETS = {(500_000, 20_000): (("train_seconds", 900.0, "s"), ("train_peak_rss_mb", 4096.0, "MB"),
                                           ("predict_seconds", 300.0, "s")),
                       (1_000_000, 30_000): (("train_seconds", 1800.0, "s"), ("train_peak_rss_mb", 4096.0, "MB"))}
RSS_BYTES_PER_NNZ_LIMIT = 1.0
COSTS = ("train_seconds", "train_peak_rss_mb", "predict_seconds", "predict_peak_rss_mb")
# Wall seconds on a shared machine follow other people's load; CPU seconds (user + system of the command)
# do not, and bound the wall time on an idle core (reading a file in the page cache). The out-of-core
# extrapolation of the time goals uses them: goal key -> the CPU key it is extrapolated from.
CPU_KEYS = {"train_seconds": "train_cpu_seconds", "predict_seconds": "predict_cpu_seconds"}


def on_path(records: list[dict], path: str) -> list[dict]:
    """The records of one path (records written before paths existed are in-memory ones)."""
    return [r for r in records if r.get("path", "in-memory") == path]


def target_rows(records: list[dict]) -> list[tuple]:
    """(name, measured, limit, unit) per target at :data:`TARGET_SIZE` (measured None when that size
    was not run or failed), plus "predict peak RSS <= train peak RSS" at the largest finished size."""
    rows = []
    records, every = on_path(records, "in-memory"), records
    at = next((r for r in records if (r["cells"], r["genes"]) == TARGET_SIZE
               and abs(r.get("zero_fraction", ZERO_FRACTION) - ZERO_FRACTION) < 0.02), None)
    label = f"{TARGET_SIZE[0]:,} x {TARGET_SIZE[1]:,}"
    for key, limit, unit in TARGETS:
        rows.append((f"scale {label}: {key}", at.get(key) if at and "error" not in at else None, limit, unit))
    done = [r for r in records if "error" not in r and r.get("predict_peak_rss_mb")]
    if done:
        big = max(done, key=lambda r: r["cells"] * r["genes"])
        rows.append((f"scale {big['cells']:,} x {big['genes']:,}: predict peak RSS / train peak RSS",
                     big["predict_peak_rss_mb"] / big["train_peak_rss_mb"], 1.0, "x"))
    return rows + out_of_core_rows(every)


def out_of_core_rows(records: list[dict]) -> list[tuple]:
    """(name, value, limit, unit) of the out-of-core goals: measured at a goal size when it ran, else
    extrapolated from the measured sizes (the name says which), and the peak-RSS slope per non-zero."""
    done = [r for r in on_path(records, "out-of-core") if "error" not in r]
    if not done:
        return []
    summary = out_of_core_summary(done)
    rows = []
    for (cells, genes), goals in OUT_OF_CORE_TARGETS.items():
        measured = next((r for r in done if (r["cells"], r["genes"]) == (cells, genes)), None)
        guess = next((e for e in summary["extrapolated"] if (e["cells"], e["genes"]) == (cells, genes)), None)
        source, how = (measured, "measured") if measured else (guess, f"extrapolated from {len(done)} sizes")
        for key, limit, unit in goals:
            if not measured and key in CPU_KEYS and guess and CPU_KEYS[key] in guess:
                key, how_now = CPU_KEYS[key], f"{how}, CPU seconds: wall on an idle core"
            else:
                how_now = how
            rows.append((f"out of core {cells:,} x {genes:,}: {key} ({how_now})",
                         source.get(key) if source else None, limit, unit))
    slope = summary["rss_bytes_per_nnz"].get("train_peak_rss_mb")
    rows.append(("out of core: train peak RSS growth (bytes per non-zero)", slope, RSS_BYTES_PER_NNZ_LIMIT, "B"))
    return rows


def out_of_core_summary(done: list[dict]) -> dict:
    """Straight-line fits in the non-zeros of the finished out-of-core records, their peak-RSS slopes in
    bytes per non-zero, and the goal sizes not measured, extrapolated at the measured density."""
    fits = {y: fit for y in (*COSTS, *CPU_KEYS.values()) if (fit := growth(done, "nnz", y))}
    out = {"fits": fits, "rss_bytes_per_nnz": {y: round(fits[y]["slope"] * 2**20, 3) for y in fits
                                               if y.endswith("_mb")}, "extrapolated": []}
    if not fits:
        return out
    density = sum(r["nnz"] for r in done) / sum(r["cells"] * r["genes"] for r in done)
    measured = {(r["cells"], r["genes"]) for r in done}
    for cells, genes in OUT_OF_CORE_TARGETS:
        if (cells, genes) in measured:
            continue
        nnz = density * cells * genes
        out["extrapolated"].append({
            "path": "out-of-core", "cells": cells, "genes": genes, "nnz": round(nnz), "measured": False,
            "how": f"extrapolated: straight line in nnz fitted on {len(done)} measured out-of-core size(s) "
                   f"({min(r['nnz'] for r in done):,} to {max(r['nnz'] for r in done):,} non-zeros)",
            **{y: round(fit["intercept"] + fit["slope"] * nnz, 1) for y, fit in fits.items()}})
    return out


def summary(records: list[dict]) -> dict:
    """Growth of cost with size (power laws fitted on the finished in-memory records) and the moonshot
    (1,000,000 x 30,000 at the density measured) extrapolated from them, labelled as such; under
    ``out_of_core`` the same for the out-of-core records (:func:`out_of_core_summary`)."""
    ooc = [r for r in on_path(records, "out-of-core") if "error" not in r]
    records = on_path(records, "in-memory")
    done = [{**r, "entries": r["cells"] * r["genes"]} for r in records if "error" not in r]
    costs = ("train_seconds", "train_peak_rss_mb", "predict_seconds", "predict_peak_rss_mb")
    fits = {f"{y}~{x}": growth(done, x, y) for y in costs for x in ("nnz", "entries")}
    fits = {k: v for k, v in fits.items() if v}
    out = {"fits": fits, "unit_costs": {y: u for y in costs if (u := unit_costs(done, y))}, "moonshot": None}
    if done and any(f"{y}~nnz" in fits for y in costs):
        density = sum(r["nnz"] for r in done) / sum(r["entries"] for r in done)
        nnz = density * MOONSHOT[0] * MOONSHOT[1]
        # A straight line in the non-zeros (start-up cost + cost per non-zero): what a sparse path
        # should follow; the power-law slopes in ``fits`` show whether it did.
        predicted = {y: fits[f"{y}~nnz"]["intercept"] + fits[f"{y}~nnz"]["slope"] * nnz for y in costs
                     if f"{y}~nnz" in fits}
        out["moonshot"] = {"cells": MOONSHOT[0], "genes": MOONSHOT[1], "nnz": round(nnz), "measured": False,
                           "how": f"extrapolated: straight line in nnz fitted on {len(done)} measured size(s)",
                           **{k: round(v, 1) for k, v in predicted.items()}}
    if ooc:
        out["out_of_core"] = out_of_core_summary(ooc)
    return out


def table(records: list[dict]) -> str:
    """The records as a text table (seconds and MB)."""
    import pandas as pd

    columns = [*RECORD_KEYS, "epochs_run", "error"]
    frame = pd.DataFrame(records)
    return frame[[c for c in columns if c in frame]].round(1).to_string(index=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/scale.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{c}x{g}" for c, g in DEFAULT_SIZES), help="CELLSxGENES,...")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench" / "scale",
                        help="folder for matrices (kept and reused), models and logs")
    parser.add_argument("--out", type=Path, help="JSON file for the records (default: print only)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the phase1 preset's)")
    parser.add_argument("--top-k", type=int, default=100_000)
    parser.add_argument("--paths", default="in-memory", help=f"comma-separated, of {', '.join(PATHS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--max-rss-mb", type=float, help="stop a command above this (default: 60 %% of RAM)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per command")
    parser.add_argument("--keep", action="store_true", help="keep the trained models and rankings")
    args = parser.parse_args(argv)
    records = run_scale(parse_sizes(args.sizes), args.work, paths=parse_paths(args.paths), epochs=args.epochs,
                        top_k=args.top_k,
                        threads=args.threads, max_rss_mb=args.max_rss_mb, timeout=args.timeout, keep=args.keep)
    print(table(records))
    if args.out:
        from grnlib.io import write_json

        write_json(args.out, {"scale": records, "scale_growth": summary(records)})
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
