"""A small seeded toy dataset with planted regulation, for tests and examples.

Targets of a TF follow the TF's expression (plus noise), so expression-based models and
correlation baselines have real signal; TF out-degrees are skewed like real networks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset


def make_toy(n_genes: int = 120, n_tfs: int = 12, n_cells: int = 80, mean_targets: int = 8,
             seed: int = 0, with_expression: bool = True) -> GRNDataset:
    """Build a toy :class:`GRNDataset` in a fraction of a second.

    Args:
        n_genes: genes in the universe (TFs included).
        n_tfs: how many of them are TFs (the first ``n_tfs`` ids).
        n_cells: cells in the expression matrix.
        mean_targets: average out-degree; actual degrees are geometric-ish (skewed).
        seed: everything is a function of this seed.
        with_expression: attach an AnnData (cells x genes) when True.
    """
    import anndata as ad

    if n_tfs >= n_genes:
        raise ValueError("n_tfs must be smaller than n_genes")
    rng = np.random.default_rng(seed)
    tf_ids = np.arange(n_tfs, dtype=np.int64)
    degrees = np.clip(rng.geometric(1.0 / mean_targets, size=n_tfs), 2, n_genes // 2)
    rows = []
    for tf, k in zip(tf_ids, degrees):
        candidates = np.setdiff1d(np.arange(n_genes), [tf])
        for target in rng.choice(candidates, size=k, replace=False):
            rows.append((tf, target))
    edges = pd.DataFrame(rows, columns=["tf", "target"]).astype("int64")
    edges = edges.sort_values(["tf", "target"], ignore_index=True)
    genes = pd.Index([f"G{i:04d}" for i in range(n_genes)], name="gene")

    expression = None
    if with_expression:
        x = rng.normal(size=(n_cells, n_genes))
        signs = rng.choice([-1.0, 1.0], size=len(edges))
        for (tf, target), s in zip(edges.itertuples(index=False), signs):
            x[:, target] += 0.8 * s * x[:, tf]
        x = np.log1p(np.exp(x)).astype(np.float32)  # positive, log-like values
        cells = pd.Index([f"cell{i:04d}" for i in range(n_cells)], name="cell")
        expression = ad.AnnData(X=x, obs=pd.DataFrame(index=cells), var=pd.DataFrame(index=genes))
    return GRNDataset(id=f"toy/seed{seed}", genes=genes, tf_ids=tf_ids, edges=edges,
                      expression=expression, source=None)


def toy_user_data(seed: int = 0, n_cells: int = 80):
    """What a user brings to :func:`grnlib.fit`: the toy's expression (AnnData, cells x genes, a copy) and its
    edges as a decoupler-style network (``source``, ``target`` gene symbols)."""
    ds = make_toy(seed=seed, n_cells=n_cells)
    edges = ds.symbols(ds.edges)
    return ds.expression.copy(), pd.DataFrame({"source": edges["tf_symbol"], "target": edges["target_symbol"]})
