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

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grnlib.data.errors import DataError, DataWarning

KINDS = ("cells", "pca", "pseudobulk")
FEATURE_KINDS = ("pca", "cells")  # kinds a FeatureRecipe stores for prediction
GROUPINGS = ("kmeans", "random")
#: The features a model that reads expression gets unless its spec says otherwise (the one place).
DEFAULT_FEATURES = {"kind": "pca", "n_components": 64, "standardize": True}
#: Options of each kind, with defaults.
KIND_OPTIONS = {"pca": {"n_components": 64, "standardize": True},
                "cells": {"standardize": True},
                "pseudobulk": {"n_groups": 32, "grouping": "kmeans", "standardize": True}}


def feature_options(features: dict) -> dict:
    """A complete, checked features section: ``kind`` plus that kind's options with defaults.

    Raises:
        ValueError: not a mapping, unknown kind, or an option the kind does not take.
    """
    if not isinstance(features, dict):
        raise ValueError(f"features must be a mapping such as {DEFAULT_FEATURES}, got {features!r}")
    kind = features.get("kind", DEFAULT_FEATURES["kind"])
    if kind not in KIND_OPTIONS:
        raise ValueError(f"unknown feature kind {kind!r}; valid kinds: {', '.join(KIND_OPTIONS)}")
    unknown = sorted(set(features) - {"kind"} - set(KIND_OPTIONS[kind]))
    if unknown:
        raise ValueError(f"feature kind {kind!r} takes {sorted(KIND_OPTIONS[kind])}, not {unknown}")
    return {"kind": kind, **KIND_OPTIONS[kind], **{k: v for k, v in features.items() if k != "kind"}}


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

# -- stored recipe ------------------------------------------------------------------------------
@dataclass
class FeatureRecipe:
    """Per-gene features tied to the training cells, storable in a checkpoint.

    ``kind="pca"``: each gene's profile over the training cells, z-scored across cells, projected
    on the PCA axes fitted at training time (genes are the samples, cells the variables), divided
    by the standard deviation of the first component: the recipe of
    ``grnlib.features.gene_features(kind="pca")``, with the fit kept. The scores are the exact
    projection on the fitted axes (sklearn's ``PCA.transform``), so any gene's features can be
    recomputed later; with a randomized solver they differ slightly from ``gene_features``, which
    returns the solver's own scores. ``kind="cells"``: the z-scored profile itself (width =
    number of training cells).

    Attributes:
        kind, n_components, seed, standardize: the recipe.
        cells: training cell names, in the order the features use them.
        mean: PCA centre [n_cells] (pca only); components: PCA axes [n_components, n_cells].
        scale: divisor of the projected scores (1.0 for cells).
    """

    kind: str
    cells: list[str]
    n_components: int | None = None
    seed: int = 0
    standardize: bool = True
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    scale: float = 1.0

    @property
    def width(self) -> int:
        """Features per gene (the model's ``in_features``)."""
        return int(self.n_components) if self.kind == "pca" else len(self.cells)

    @classmethod
    def fit(cls, expression, kind: str = "pca", n_components: int = 64, seed: int = 0,
            standardize: bool = True) -> "FeatureRecipe":
        """Fit on AnnData ``expression`` (cells x genes). ``n_components`` above
        min(n_genes, n_cells) is lowered to that limit with a :class:`DataWarning`."""
        if kind not in FEATURE_KINDS:
            raise DataError(None, f"feature kind {kind!r} cannot be stored for prediction",
                            f"use one of {list(FEATURE_KINDS)} (pseudobulk cell groups are not stored)")
        cells = [str(c) for c in expression.obs_names]
        recipe = cls(kind=kind, cells=cells, seed=int(seed), standardize=bool(standardize))
        if kind == "cells":
            return recipe
        from sklearn.decomposition import PCA

        x = _profiles(expression, standardize)  # [n_genes, n_cells]
        limit = min(x.shape)
        if n_components > limit:
            warnings.warn(f"n_components={n_components} lowered to {limit} (min of {x.shape[0]} genes and "
                          f"{x.shape[1]} cells)", DataWarning, stacklevel=2)
            n_components = limit
        solver = "full" if n_components == limit else "randomized"
        pca = PCA(n_components=int(n_components), svd_solver=solver, random_state=seed).fit(x)
        recipe.n_components, recipe.mean, recipe.components = int(n_components), pca.mean_, pca.components_
        first_std = float(((x - pca.mean_) @ pca.components_[0]).std())
        recipe.scale = first_std if standardize and first_std > 0 else 1.0
        return recipe

    def transform(self, expression, refit: bool = False, path=None) -> np.ndarray:
        """Features [n_genes of ``expression``, width] float32, row i = gene i of ``expression``.

        The training cells are looked up by name (order and extra cells do not matter). When
        some are missing: a DataError naming ``path``, or with ``refit=True`` a new recipe of
        the same kind fitted on this matrix (the width may then differ from the model's)."""
        obs = pd.Index([str(c) for c in expression.obs_names])
        position = obs.get_indexer(self.cells)
        missing = int((position < 0).sum())
        if missing:
            if not refit:
                raise DataError(path, f"expression lacks {missing} of the {len(self.cells)} training cells "
                                f"(e.g. {[c for c, p in zip(self.cells, position) if p < 0][:3]}); the "
                                f"stored {self.kind} features are defined on those cells",
                                "predict on expression containing the training cells, or pass "
                                "--refit-features to rebuild features from this matrix (scores are "
                                "then approximate)")
            warnings.warn(f"{path or 'expression'}: refitting {self.kind} features on {len(obs)} new cells; the "
                          "model was trained on other features, so treat the scores as exploratory",
                          DataWarning, stacklevel=2)
            fresh = FeatureRecipe.fit(expression, self.kind, self.n_components or 0, self.seed, self.standardize)
            return fresh.transform(expression)
        x = _profiles(expression[position, :], self.standardize)
        if self.kind == "cells":
            out = x
        else:
            out = (x - self.mean) @ self.components.T / self.scale
        return np.ascontiguousarray(out, dtype=np.float32)

    def state(self) -> tuple[dict, dict]:
        """(JSON-able description, tensors) for a checkpoint."""
        import torch

        meta = {"kind": self.kind, "cells": self.cells, "n_components": self.n_components,
                "seed": self.seed, "standardize": self.standardize, "scale": self.scale}
        tensors = {}
        if self.kind == "pca":
            tensors = {"feature_mean": torch.from_numpy(np.asarray(self.mean, dtype=np.float64)),
                       "feature_components": torch.from_numpy(np.asarray(self.components, dtype=np.float64))}
        return meta, tensors

    @classmethod
    def from_state(cls, meta: dict, ckpt: dict) -> "FeatureRecipe":
        recipe = cls(kind=meta["kind"], cells=list(meta["cells"]), n_components=meta["n_components"],
                     seed=int(meta["seed"]), standardize=bool(meta["standardize"]), scale=float(meta["scale"]))
        if recipe.kind == "pca":
            recipe.mean = ckpt["feature_mean"].double().numpy()
            recipe.components = ckpt["feature_components"].double().numpy()
        return recipe

    def describe(self) -> dict:
        """The recipe as params (what ``features:`` in a params file takes)."""
        if self.kind == "cells":
            return {"kind": self.kind, "standardize": self.standardize}
        return {"kind": self.kind, "n_components": self.n_components, "standardize": self.standardize}


def _profiles(expression, standardize: bool) -> np.ndarray:
    """Genes x cells float64, z-scored per gene when ``standardize`` (constant genes -> 0)."""
    x = expression.X
    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    x = np.asarray(x, dtype=np.float64).T
    return _zscore_rows(x) if standardize else x


