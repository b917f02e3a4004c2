"""Per-gene expression features for models that read expression (``features [n_genes, d]``).

``gene_features(ds, kind)`` turns the dataset's genes x cells matrix into one row per gene id:

- ``"cells"``: the gene's expression in every cell (d = number of cells);
- ``"pca"``: the gene's scores on the first ``n_components`` principal axes of the cells
  (genes are the samples, cells the variables; sklearn PCA, randomized solver seeded by
  ``seed``); d = n_components;
- ``"pseudobulk"``: the gene's mean expression in each of ``n_groups`` groups of cells
  (d = n_groups). ``grouping="kmeans"`` groups cells by k-means on their top principal
  components (cells of one state are averaged, which denoises dropouts);
  ``grouping="random"`` splits a seeded permutation of the cells into near-equal groups
  (denoising only, no biology assumed).

``standardize=True`` (default) z-scores each gene across cells first, so a tower sees the
*shape* of a profile, not its level, and a dot product of two rows is a correlation (what a TF
and its target share in the data). Genes with constant expression become all-zero rows.
Then for ``"pca"`` the scores are divided by the standard deviation of the first component, so
the leading feature has unit variance and the rest keep their relative scale; for
``"pseudobulk"`` the group means are z-scored per gene again.
"""
from __future__ import annotations

import numpy as np

from .data.errors import DataError

KINDS = ("cells", "pca", "pseudobulk")
GROUPINGS = ("kmeans", "random")


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    """Rows to zero mean, unit variance; constant rows -> zeros. [n, d] -> [n, d] float64."""
    x = x.astype(np.float64)
    centered = x - x.mean(axis=1, keepdims=True)
    std = centered.std(axis=1, keepdims=True)
    return centered / np.where(std > 0, std, 1.0)


def gene_features(ds, kind: str = "cells", n_components: int = 64, n_groups: int = 32,
                  seed: int = 0, standardize: bool = True, grouping: str = "kmeans") -> np.ndarray:
    """Expression features, one row per gene id of ``ds``.

    Args:
        ds: a GRNDataset with expression (``ds.expression_matrix()`` is genes x cells).
        kind: ``"cells"``, ``"pca"`` or ``"pseudobulk"`` (see the module docstring).
        n_components: PCA width (``kind="pca"``); at most min(n_genes, n_cells).
        n_groups: number of cell groups (``kind="pseudobulk"``); at most n_cells.
        seed: seeds PCA's randomized solver, k-means and random grouping.
        standardize: z-score each gene across cells first (and scale as documented above).
        grouping: ``"kmeans"`` or ``"random"`` cell groups for pseudobulk.

    Returns:
        float32 array [n_genes, d], row i = gene id i.

    Raises:
        DataError: the dataset has no expression or it holds NaN/inf.
        ValueError: unknown kind/grouping, or sizes larger than the data allows.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}; valid: {', '.join(GROUPINGS)}")
    if not ds.has_expression:
        raise DataError(ds.source, f"dataset {ds.id} has no expression data",
                        "use a model without expression inputs (embedding_two_tower, "
                        "deep_two_tower, cross_encoder) or a dataset that ships expression")
    x = ds.expression_matrix()  # [n_genes, n_cells]
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataError(ds.source, f"expression of {int(bad.sum())} gene(s) holds NaN/inf "
                                   f"(e.g. {list(ds.genes[bad][:3])})",
                        "drop or impute those genes before building features")
    n_genes, n_cells = x.shape
    if standardize:
        x = _zscore_rows(x)

    if kind == "cells":
        out = x
    elif kind == "pca":
        out = _pca_scores(x, n_components, seed)
        if standardize:
            first_std = out[:, 0].std()
            out = out / (first_std if first_std > 0 else 1.0)
    else:
        groups = _cell_groups(x, n_groups, seed, grouping)
        out = np.stack([x[:, groups == g].mean(axis=1) for g in range(groups.max() + 1)], axis=1)
        if standardize:
            out = _zscore_rows(out)
    return np.ascontiguousarray(out, dtype=np.float32)


def _pca_scores(x: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """Genes as samples: [n_genes, n_cells] -> scores [n_genes, n_components]."""
    from sklearn.decomposition import PCA

    limit = min(x.shape)
    if not 1 <= n_components <= limit:
        raise ValueError(f"n_components={n_components} must be in [1, {limit}] "
                         f"(min of {x.shape[0]} genes and {x.shape[1]} cells)")
    solver = "full" if n_components == limit else "randomized"
    return PCA(n_components=n_components, svd_solver=solver, random_state=seed).fit_transform(x)


def _cell_groups(x: np.ndarray, n_groups: int, seed: int, grouping: str) -> np.ndarray:
    """Group label in [0, n_groups) for each cell; every group non-empty. x: [n_genes, n_cells]."""
    n_cells = x.shape[1]
    if not 1 <= n_groups <= n_cells:
        raise ValueError(f"n_groups={n_groups} must be in [1, {n_cells}] (number of cells)")
    rng = np.random.default_rng(seed)
    if grouping == "random":
        labels = np.empty(n_cells, dtype=np.int64)
        for g, members in enumerate(np.array_split(rng.permutation(n_cells), n_groups)):
            labels[members] = g
        return labels
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    cells = x.T  # [n_cells, n_genes]
    k = min(30, *cells.shape)
    embedded = PCA(n_components=k, svd_solver="full").fit_transform(cells) if k > 1 else cells
    labels = KMeans(n_clusters=n_groups, n_init=4, random_state=seed).fit_predict(embedded)
    # With fewer distinct cells than groups k-means leaves clusters empty: relabel densely
    # (the feature width is then the number of non-empty groups).
    return np.unique(labels, return_inverse=True)[1]
