#!/usr/bin/env python
"""How many cells pair statistics need: the out-of-core path computes them on a seeded sample of cells
(:data:`grnlib.data.streaming.PAIR_SAMPLE_CELLS`), so measure what a sample loses against every cell.

On a large ``.h5ad`` (default: the scale benchmark's 50,000 x 20,000 synthetic counts), for ``--tfs`` TFs
x ``--genes`` genes (the most variable, TFs among them), the TF x gene absolute Pearson correlation and the
mutual information (:func:`grnlib.models.evidence.mutual_information`, the ``pair_evidence`` models'
kernel) on all cells are compared with the same on seeded samples of growing size: rank agreement
(Spearman over all pairs) and the share of the top 1 % pairs kept. Writes a JSON file and prints a table::

    python benchmarks/pair_sample.py --expression build/bench/scale/synth_50000x20000_s0.h5ad \\
        --out results/bench/pair_sample.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _abs_correlation(x: np.ndarray, tfs: np.ndarray) -> np.ndarray:
    from grnlib.models.evidence import standardised

    z = standardised(x)  # genes x cells
    return np.abs(z[tfs] @ z.T / x.shape[1])


def _agreement(full: np.ndarray, part: np.ndarray, top: float = 0.01) -> dict:
    from scipy.stats import spearmanr

    a, b = full.ravel(), part.ravel()
    k = max(1, int(top * a.size))
    kept = np.intersect1d(np.argpartition(-a, k)[:k], np.argpartition(-b, k)[:k]).size / k
    return {"spearman": float(spearmanr(a, b)[0]), "top1pct_kept": float(kept),
            "mean_abs_diff": float(np.abs(a - b).mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/pair_sample.py", description=__doc__.splitlines()[0])
    parser.add_argument("--expression", type=Path, default=ROOT / "build/bench/scale/synth_50000x20000_s0.h5ad")
    parser.add_argument("--genes", type=int, default=500)
    parser.add_argument("--tfs", type=int, default=50)
    parser.add_argument("--samples", default="1000,2000,5000,10000,20000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from grnlib.data.streaming import open_streamed
    from grnlib.models.evidence import mutual_information

    expression = open_streamed(args.expression, raw_counts=True, out_of_core=True)
    genes = np.sort(np.argsort(-expression.std)[:args.genes])  # the most variable genes
    tfs = np.random.default_rng(args.seed).choice(genes.size, args.tfs, replace=False)
    import scipy.sparse as sp

    full_x = sp.vstack([expression.source.read(a, b)[:, genes] for a, b in expression.chunks()]).T.toarray()
    started = time.perf_counter()
    full = {"correlation": _abs_correlation(full_x, tfs), "mutual_information": mutual_information(full_x, tfs)}
    rows = []
    for n in [int(s) for s in args.samples.split(",")]:
        part_x = expression.sample(n, args.seed).X[:, genes].T.toarray()
        for kind, compute in (("correlation", _abs_correlation), ("mutual_information", mutual_information)):
            rows.append({"cells": n, "kind": kind, **_agreement(full[kind], compute(part_x, tfs))})
            print(json.dumps(rows[-1]), flush=True)
    result = {"expression": str(args.expression), "n_cells": expression.n_obs, "genes": int(genes.size),
              "tfs": int(tfs.size), "seed": args.seed, "seconds": round(time.perf_counter() - started, 1),
              "rows": rows}
    if args.out:
        from grnlib.io import write_json

        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
