#!/usr/bin/env python
"""Seeded, realistic sparse count matrices for the scale benchmark (``benchmarks/scale.py``).

Model (one negative-binomial draw per cell x gene, as in scRNA-seq count simulators):

- gene means ``mu_g`` ~ log-normal (``--mean-sigma``), gene dispersions ``r_g`` ~ log-normal
  around 2 (a smaller r is a noisier gene);
- ``--types`` cell types; a tenth of the genes are markers whose mean is multiplied per type
  by ``exp(N(0, 1))``, so the matrix has the low-rank structure PCA features look for;
- cell library-size factors ``s_c`` ~ log-normal(0, 0.35) (mean 1);
- ``count ~ NB(mean = a * s_c * mu_{type(c), g}, r_g)``, with the global scale ``a`` solved so the
  expected share of zeros is ``--zero-fraction`` (default 0.9, typical of droplet data).

Genes are human symbols taken from the TRRUST, DoRothEA and CollecTRI priors of the reference
data (so ``grnlib train --priors`` finds its edges among them), in a seeded order; beyond the
~11,700 prior symbols the remaining genes are named ``SYNTH00001``, ... (no prior edge).

Sampling is exact and cheap for sparse data: a single uniform ``u`` per entry is compared with
``P(count = 0)``; only the ~10 % non-zero entries walk the NB CDF upwards from 1 (inverse-CDF
sampling). Rows are generated and appended to the ``.h5ad`` (CSR, float32 counts in ``X``) in
chunks, so memory stays near one chunk plus the non-zeros of one chunk.

    python benchmarks/synth.py --cells 2000 --genes 5000 --seed 0 --out build/bench/synth_2000x5000.h5ad
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRIOR_RESOURCES = ("trrust", "dorothea", "collectri")
MAX_CHUNK_ENTRIES = 8_000_000  # cells x genes per generated block (~32 MB per float32 array)


def gene_symbols(n_genes: int, seed: int, root=None) -> list[str]:
    """``n_genes`` names: prior symbols first (seeded order), then ``SYNTH00001``, ..."""
    from grnlib.data import load_priors

    priors = load_priors(PRIOR_RESOURCES, root=root)
    symbols = np.array(sorted(set(priors["source"]) | set(priors["target"])))
    symbols = symbols[np.random.default_rng([seed, 1]).permutation(len(symbols))]
    extra = [f"SYNTH{i:05d}" for i in range(1, max(0, n_genes - len(symbols)) + 1)]
    return list(symbols[:n_genes]) + extra


def _zero_probability(mean: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(NB(mean, r) = 0) = (r / (r + mean)) ** r."""
    return (r / (r + mean)) ** r


def solve_scale(mu: np.ndarray, size_factors: np.ndarray, r: np.ndarray, zero_fraction: float,
                rng: np.random.Generator, n_sample: int = 400_000) -> float:
    """Global mean scale giving an expected share of zeros ``zero_fraction`` (bisection in log space,
    over a random sample of cell x gene entries)."""
    cells = rng.integers(0, len(size_factors), n_sample)
    genes = rng.integers(0, mu.shape[1], n_sample)
    types = rng.integers(0, mu.shape[0], n_sample)
    base = size_factors[cells] * mu[types, genes]
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        zeros = _zero_probability(np.exp(mid) * base, r[genes]).mean()
        low, high = (mid, high) if zeros > zero_fraction else (low, mid)
    return float(np.exp((low + high) / 2))


def sample_counts(mean: np.ndarray, r: np.ndarray, rng: np.random.Generator):
    """Exact NB draws for a block ``mean`` (cells x genes, float32) -> (rows, cols, counts) of the
    non-zero entries in row-major order."""
    p0 = _zero_probability(mean, r[None, :].astype(np.float32))
    u = rng.random(mean.shape, dtype=np.float32)
    rows, cols = np.nonzero(u >= p0)
    if rows.size == 0:
        return rows, cols, np.zeros(0, np.float32)
    u, m, p0, rg = u[rows, cols].astype(np.float64), mean[rows, cols].astype(np.float64), \
        p0[rows, cols].astype(np.float64), r[cols].astype(np.float64)
    ratio = m / (m + rg)
    k = np.ones(rows.size, dtype=np.int64)
    pmf = p0 * rg * ratio        # P(1) = P(0) * r * m / (m + r)
    cdf = p0 + pmf
    active = np.flatnonzero(u >= cdf)
    for _ in range(500):         # walk up the CDF only where the draw is larger
        if active.size == 0:
            break
        k[active] += 1
        pmf[active] *= (k[active] - 1 + rg[active]) / k[active] * ratio[active]
        cdf[active] += pmf[active]
        active = active[u[active] >= cdf[active]]
    if active.size:              # float round-off near u ~ 1, or a huge count: draw directly, >= 1
        k[active] = np.maximum(1, rng.negative_binomial(rg[active], 1 - ratio[active]))
    return rows, cols, k.astype(np.float32)


def generate(n_cells: int, n_genes: int, seed: int, out, *, zero_fraction: float = 0.9, n_types: int = 8,
             mean_sigma: float = 1.6, root=None, progress: bool = True) -> dict:
    """Write the matrix to ``out`` (.h5ad, cells x genes, CSR float32 counts); returns its summary."""
    import anndata as ad
    import h5py
    import pandas as pd
    import scipy.sparse as sp
    from anndata.io import sparse_dataset, write_elem

    if n_cells < 1 or n_genes < 2:
        raise SystemExit(f"need at least 1 cell and 2 genes, got {n_cells} x {n_genes}")
    if not 0.0 < zero_fraction < 1.0:
        raise SystemExit(f"--zero-fraction must be between 0 and 1, got {zero_fraction}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    genes = gene_symbols(n_genes, seed, root)
    mu = rng.lognormal(0.0, mean_sigma, n_genes)
    r = np.exp(rng.normal(np.log(2.0), 0.5, n_genes))
    markers = rng.random(n_genes) < 0.1
    type_mu = np.tile(mu, (n_types, 1))
    type_mu[:, markers] *= np.exp(rng.normal(0.0, 1.0, (n_types, int(markers.sum()))))
    cell_type = rng.integers(0, n_types, n_cells)
    size_factors = rng.lognormal(0.0, 0.35, n_cells)
    size_factors /= size_factors.mean()
    type_mu *= solve_scale(type_mu, size_factors, r, zero_fraction, rng)
    type_mu = type_mu.astype(np.float32)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    obs = pd.DataFrame({"cell_type": pd.Categorical([f"type{t}" for t in cell_type])},
                       index=pd.Index([f"cell{i:07d}" for i in range(n_cells)], name="cell"))
    ad.AnnData(obs=obs, var=pd.DataFrame(index=pd.Index(genes, name="gene"))).write_h5ad(tmp)
    chunk = max(1, MAX_CHUNK_ENTRIES // n_genes)
    nnz, total = 0, 0.0
    with h5py.File(tmp, "r+") as handle:
        for start in range(0, n_cells, chunk):
            stop = min(n_cells, start + chunk)
            mean = type_mu[cell_type[start:stop]] * size_factors[start:stop, None].astype(np.float32)
            rows, cols, counts = sample_counts(mean, r, rng)
            block = sp.csr_matrix((counts, cols.astype(np.int32),
                                   np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=stop - start))])),
                                  shape=(stop - start, n_genes))
            if start == 0:
                write_elem(handle, "X", block)
            else:
                sparse_dataset(handle["X"]).append(block)
            nnz += block.nnz
            total += float(counts.sum())
            if progress and (stop == n_cells or (start // chunk) % 25 == 0):
                print(f"[synth] {stop:,}/{n_cells:,} cells, {nnz:,} non-zeros, "
                      f"{time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    tmp.replace(out)
    summary = {"cells": n_cells, "genes": n_genes, "nnz": nnz, "zero_fraction": 1 - nnz / (n_cells * n_genes),
               "mean_library_size": total / n_cells, "prior_genes": sum(not g.startswith("SYNTH") for g in genes),
               "seed": seed, "seconds": round(time.perf_counter() - started, 2), "path": str(out),
               "bytes": out.stat().st_size}
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/synth.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, required=True)
    parser.add_argument("--genes", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help=".h5ad file to write")
    parser.add_argument("--zero-fraction", type=float, default=0.9, help="expected share of zero entries")
    parser.add_argument("--types", type=int, default=8, help="cell types (marker-gene programs)")
    parser.add_argument("--mean-sigma", type=float, default=1.6, help="log-normal sigma of the gene means")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    import json

    summary = generate(args.cells, args.genes, args.seed, args.out, zero_fraction=args.zero_fraction,
                       n_types=args.types, mean_sigma=args.mean_sigma, progress=not args.quiet)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
