#!/usr/bin/env python
"""GENIE3 baseline: the previous scikit-learn forest against the current default, paired over seeds.

For every seed ``s`` (released split sample ``s + 1``) both settings score the validation and the
test pairs of the split, as ``grnlib.evaluation.experiment.evaluate_split`` does (one fit per
distinct target, shared by both parts), interleaved (A, B, A, B, ...) so that other people's load
on a shared machine hits both alike. Printed: wall and CPU seconds of each scoring, the ratio
per seed (``previous / current``: the speed-up) with its spread, and the paired AUROC differences
(``current - previous``).

    python benchmarks/genie3_speed.py                            # seeds 0-2
    python benchmarks/genie3_speed.py --candidate '{"max_depth": 6}' --seeds 0
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ab import paired_summary, summary_lines  # noqa: E402

DATASET = "beeline/Specific/hHEP/500"
# The GENIE3 baseline before the speed change (grnlib at commit 54ed94a): scikit-learn's
# ExtraTreesRegressor, 20 fully grown trees per target, sqrt(n_TFs) candidates per split.
PREVIOUS = {"engine": "ensemble", "method": "extra_trees", "n_estimators": 20, "max_depth": None,
            "max_features": "sqrt", "min_samples_leaf": 1}


def score_once(ds, split: dict, seed: int, options: dict) -> dict:
    """GENIE3 scores of the validation and test pairs (no cache: every target is fitted here)."""
    import pandas as pd

    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.metrics import auroc

    both = pd.concat([split["val"], split["test"]], ignore_index=True)
    wall, cpu = time.perf_counter(), time.process_time()
    scores = score_baseline("genie3", ds, split["train"], both, seed=seed, cache=False, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n_val = len(split["val"])
    return {"seconds": wall, "cpu_seconds": cpu, "targets": int(both["target"].nunique()),
            "val_auroc": auroc(split["val"]["label"].to_numpy(), scores[:n_val]),
            "test_auroc": auroc(split["test"]["label"].to_numpy(), scores[n_val:])}


def compare(dataset: str = DATASET, seeds=(0, 1, 2), candidate: dict | None = None, log=print) -> dict:
    from grnlib.data import load_dataset, load_split

    settings = {"previous": dict(PREVIOUS), "current": dict(candidate or {})}
    ds = load_dataset(dataset)
    rows = []
    for seed in seeds:
        split = load_split(dataset, sample=seed + 1)
        for name in ("previous", "current"):
            row = {"seed": seed, "sample": seed + 1, "setting": name, **score_once(ds, split, seed, settings[name])}
            rows.append(row)
            log(f"seed {seed} {name:8s} {row['seconds']:6.1f} s wall {row['cpu_seconds']:6.1f} s cpu "
                f"({row['targets']} targets) val {row['val_auroc']:.4f} test {row['test_auroc']:.4f}", flush=True)
    pairs = list(zip(rows[0::2], rows[1::2]))
    return {"dataset": dataset, "seeds": list(seeds), "previous": settings["previous"],
            "current": settings["current"] or "genie3 defaults", "scorings": rows, **paired_summary(pairs)}


def print_summary(result: dict) -> None:
    print(f"\nGENIE3 on {result['dataset']}, seeds {result['seeds']}: previous {result['previous']} "
          f"vs current {result['current']}")
    print("\n".join(summary_lines(result)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/genie3_speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=DATASET)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated; seed s uses released sample s + 1")
    parser.add_argument("--candidate", help="JSON genie3 options to compare instead of the current defaults")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = compare(args.dataset, [int(s) for s in args.seeds.split(",")],
                     json.loads(args.candidate) if args.candidate else None)
    print_summary(result)
    if args.json:
        from grnlib.io import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
