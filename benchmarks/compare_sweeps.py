"""Compare two committed sweep summaries cell by cell: which metrics reproduce, and by how much they
moved (e.g. the committed `reduced` sweep against a rerun after a code change).

    python benchmarks/compare_sweeps.py results/benchmark/reduced_cells.csv.gz NEW_cells.csv.gz
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

KEYS = ["dataset", "protocol", "seed", "fold", "model"]
METRICS = ["auroc", "auprc", "per_tf_auroc", "val_auroc"]


def uncorrected(new: pd.DataFrame) -> pd.DataFrame:
    """The rows as an uncorrected run scored them: ``X (uncorrected)`` renamed ``X``, replacing the
    prior-corrected ``X`` (sweeps before the correction existed scored uncorrected logits)."""
    suffix = " (uncorrected)"
    plain = new[new["model"].str.endswith(suffix)].assign(model=lambda f: f["model"].str[: -len(suffix)])
    keep = new[~new["model"].str.endswith(suffix)]
    keep = keep[~keep.set_index(KEYS).index.isin(plain.set_index(KEYS).index)]
    return pd.concat([keep, plain], ignore_index=True)


def compare(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per model: shared cells, max |difference| and mean difference (new - old) of each metric."""
    merged = old.merge(new, on=KEYS, suffixes=("_old", "_new"))
    rows = []
    for model, group in merged.groupby("model", sort=False):
        row = {"model": model, "cells": len(group)}
        for metric in METRICS:
            if f"{metric}_old" in group and f"{metric}_new" in group:
                diff = group[f"{metric}_new"] - group[f"{metric}_old"]
                row[f"{metric}_max_abs_diff"] = round(float(diff.abs().max()), 5)
                row[f"{metric}_mean_diff"] = round(float(diff.mean()), 5)
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--uncorrected", action="store_true",
                        help="compare the new sweep's uncorrected rows (see uncorrected())")
    args = parser.parse_args(argv)
    new = pd.read_csv(args.new)
    table = compare(pd.read_csv(args.old), uncorrected(new) if args.uncorrected else new)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
