#!/usr/bin/env python
"""The cost of ranking on cells a model was not trained on (issue 20: models that travel).

For each setting and cell split: the cells are cut at random into halves A and B; a model is fitted
on A (``grnlib.fit``); its held-out pairs (prior edges hidden from training, with sampled non-edges)
are scored once on A (the training cells: the stored projection, exact) and once on B (new cells:
the features travel, :meth:`grnlib.features.FeatureRecipe.travel`). The difference B - A of pooled
and per-TF AUROC is the cost of travelling; the goal is |per-TF difference| <= 0.01.

    .venv/bin/python benchmarks/travel.py --threads 1 --out results/travel/travel.csv
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

SETTINGS = {  # name -> (expression, priors), relative to the data root
    "hHEP-1000-trrust": ("beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz",
                         "priors/human/trrust_rawdata.human.tsv.gz"),
    "hHEP-1000-specific": ("beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz",
                           "beeline/Specific/hHEP/TFs+1000/BL--network.csv.gz"),
    "mESC-500-specific": ("beeline/Specific/mESC/TFs+500/BL--ExpressionData.csv.gz",
                          "beeline/Specific/mESC/TFs+500/BL--network.csv.gz"),
}


def measure(setting: str, model_name: str, split_seed: int, epochs: int | None) -> dict:
    import grnlib
    from grnlib.data import fetch, read_expression

    expression_id, priors_id = SETTINGS[setting]
    adata = read_expression(fetch(expression_id))
    order = np.random.default_rng(split_seed).permutation(adata.n_obs)
    half_a, half_b = adata[np.sort(order[: adata.n_obs // 2])].copy(), adata[np.sort(order[adata.n_obs // 2:])].copy()
    started = time.perf_counter()
    model = grnlib.fit(half_a, fetch(priors_id), model=model_name, seed=0, epochs=epochs)
    fit_s = time.perf_counter() - started
    row = {"setting": setting, "model": model_name, "split_seed": split_seed, "cells_a": half_a.n_obs,
           "cells_b": half_b.n_obs, "test_pairs": len(model.held_out), "fit_s": round(fit_s, 1)}
    for name, cells in (("train_cells", half_a), ("new_cells", half_b)):
        started = time.perf_counter()
        metrics = model.held_out_metrics(cells)  # the held-out pairs scored on these cells' features
        row[f"{name}_s"] = round(time.perf_counter() - started, 2)
        row[f"auroc_{name}"], row[f"per_tf_auroc_{name}"] = metrics["auroc"], metrics["per_tf_auroc"]
        row["n_tfs"] = int(metrics["n_tfs"])
    row["auroc_diff"] = row["auroc_new_cells"] - row["auroc_train_cells"]
    row["per_tf_auroc_diff"] = row["per_tf_auroc_new_cells"] - row["per_tf_auroc_train_cells"]
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="phase1,best")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names of SETTINGS")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/travel/travel.csv")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for setting in args.settings.split(","):
        for model_name in args.models.split(","):
            for split_seed in (int(s) for s in args.split_seeds.split(",")):
                rows.append(measure(setting, model_name, split_seed, args.epochs))
                print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    from grnlib.io import write_table

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_table(table.round(5), args.out, sep=",", float_format=None)
    summary = table.groupby(["setting", "model"])[["auroc_diff", "per_tf_auroc_diff"]].agg(["mean", "min", "max"])
    print(summary.round(4).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
