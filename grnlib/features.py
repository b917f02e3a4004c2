"""Per-gene expression features for models that read expression (``features [n_genes, d]``).
(Longer than most modules on purpose: the sparse kernels, the recipe and its checkpoint state are
one feature path and are read together.)

One path: :class:`FeatureRecipe` fits a recipe on an expression matrix (AnnData, cells x genes)
and ``transform`` applies it; :func:`gene_features` is ``fit`` then ``transform`` on a dataset.
Kinds:

- ``"pca"``: each gene's scores on the first ``n_components`` principal axes of the cells
  (genes are the samples, cells the variables), divided by the standard deviation of the first
  component so the leading feature has unit variance; d = n_components;
- ``"cells"``: the gene's expression in every cell (d = number of cells);
- ``"pseudobulk"``: the gene's mean expression in each of ``n_groups`` groups of cells
  (d = number of non-empty groups), z-scored per gene again. ``grouping="kmeans"`` groups cells
  by k-means on their top principal components (cells of one state are averaged, which denoises
  dropouts); ``grouping="random"`` splits a seeded permutation of the cells into near-equal groups.

``standardize=True`` (default) z-scores each gene across cells first, so a tower sees the
*shape* of a profile, not its level, and a dot product of two rows is a correlation. Genes with
constant expression get all-zero profiles.

**Other cells** (the model *travels*): a recipe also stores the features it gave the training genes
(``reference``). On a matrix without the training cells, ``transform`` recomputes every gene's
features from the new cells in the training basis: ``pca`` projects the new gene-gene covariance on
the stored gene loadings, ``F' = A' A'^T F S^-2 (n / n')`` (``A'``: z-scored, cell-centred new genes
x cells, ``F = U S``: the training features before scaling, ``n``, ``n'``: cell counts), which on the
training cells gives back ``F`` exactly (``A^T U = V S``). Each axis is then weighted by how
reproducibly these cells estimate it (split-half reliability ``w``): ``w F' + (1 - w) F``, so an axis
that is sample noise keeps its trained value instead of new noise; ``pseudobulk`` assigns each new cell to
the training group whose profile over genes it matches best and averages per group. Both cost two
sparse products; ``cells`` features *are* the training cells and cannot travel.

Sparse end to end: the matrix is never densified (except for ``"cells"``, whose output *is*
genes x cells, and only up to ``MAX_CELLS_ENTRIES``). Everything runs in float32 on scipy
CSR/CSC (or a dense array, through the same code): per-gene mean/std are summed over the stored
values, and the z-scored, centred genes x cells matrix is a :class:`_Centred` linear operator that
applies centring and scaling implicitly, so a PCA pass costs one sparse product and memory grows
with the non-zeros plus genes x components. The PCA is a seeded randomized SVD (Halko et al.,
4 power iterations) with signs fixed so each axis's largest loading is positive:
deterministic for a seed, and the same within float32 tolerance for the same matrix sparse or dense.

(About 540 lines, above the package's ~450: the recipe and the sparse linear algebra only it uses
(implicit operator, threaded row blocks, randomized SVD) stay in one module, the one
``grnlib.features`` entry of the import-linter layers.)
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from grnlib.errors import DataError, DataWarning
from grnlib.progress import bar, step
from grnlib.registry import Registry

GROUPINGS = ("kmeans", "random")
#: The features a model that reads expression gets unless its spec says otherwise (the one place).
DEFAULT_FEATURES = {"kind": "pca", "n_components": 64, "standardize": True}
#: ``"cells"`` builds a dense genes x cells float32 matrix; above this many entries (400 MB) it refuses.
MAX_CELLS_ENTRIES = 100_000_000
#: Extra random directions of the randomized SVD (its accuracy margin).
N_OVERSAMPLES = 10
#: QR-normalised power iterations of the randomized SVD; each costs two passes over the stored values.
#: 4 is sklearn's count for k >= a tenth of the rank (all BEELINE settings). On a 10,000-cell x
#: 20,000-gene synthetic count matrix the signal axes matched a 14-iteration reference to |cos| >
#: 0.9999 from 2 iterations on, while sklearn's 7 for small k would cost 60 % more passes.
N_POWER_ITERATIONS = 4
#: Fewest cells whose travelled pca axes are weighted by their split-half reliability (FeatureRecipe._shrink).
MIN_SPLIT_CELLS = 20
#: Principal components of the cells that k-means groups on (pseudobulk).
KMEANS_COMPONENTS = 30
#: Stored values handled per step when summing over a sparse matrix (bounds float64 temporaries).
CHUNK_NNZ = 1 << 22
#: Stored values per row block of the threaded sparse products.
BLOCK_NNZ = 1 << 24
#: A gene whose std is below this fraction of its |mean| is constant up to float32 rounding.
CONSTANT_RTOL = 1e-6


def feature_options(features: dict) -> dict:
    """A complete, checked features section: ``kind`` plus that kind's options with defaults.

    Raises:
        ValueError: not a mapping, unknown kind, or an option the kind does not take.
    """
    if not isinstance(features, dict):
        raise ValueError(f"features must be a mapping such as {DEFAULT_FEATURES}, got {features!r}")
    kind = features.get("kind", DEFAULT_FEATURES["kind"])
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    options = FEATURE_KINDS.defaults(kind)
    unknown = sorted(set(features) - {"kind"} - set(options))
    if unknown:
        raise ValueError(f"feature kind {kind!r} takes {sorted(options)}, not {unknown}")
    return {"kind": kind, **options, **{k: v for k, v in features.items() if k != "kind"}}


def gene_features(ds, kind: str = "cells", n_components: int = 64, n_groups: int = 32,
                  seed: int = 0, standardize: bool = True, grouping: str = "kmeans") -> np.ndarray:
    """Expression features, one row per gene id of ``ds``: ``FeatureRecipe.fit(...).transform(...)``.

    Args:
        ds: a GRNDataset with expression (``ds.expression`` is cells x gene ids).
        kind: ``"cells"``, ``"pca"`` or ``"pseudobulk"`` (see the module docstring).
        n_components: PCA width (``kind="pca"``); at most min(n_genes, n_cells).
        n_groups: number of cell groups (``kind="pseudobulk"``); at most n_cells.
        seed: seeds the PCA, k-means and random grouping.
        standardize: z-score each gene across cells first.
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
    n_cells, n_genes = ds.expression.shape
    FEATURE_KINDS.build(kind, **{k: v for k, v in dict(n_components=n_components, n_groups=n_groups,
                                                      grouping=grouping, standardize=standardize).items()
                                 if k in FEATURE_KINDS.valid_keys(kind)}).check(n_genes, n_cells)
    recipe = FeatureRecipe.fit(ds.expression, kind, n_components=n_components, seed=seed, standardize=standardize,
                               n_groups=n_groups, grouping=grouping, path=ds.source)
    return recipe.transform(ds.expression, path=ds.source)


# -- stored recipe ------------------------------------------------------------------------------
@dataclass
class FeatureRecipe:
    """Per-gene features tied to the training cells, storable in a checkpoint.

    ``fit`` learns what depends on the cells (PCA axes, cell groups); ``transform`` rebuilds
    features for any gene set measured in those cells (looked up by name: order and extra cells
    do not matter): each gene is z-scored over the training cells and projected on the stored
    axes (pca), averaged over the stored groups (pseudobulk) or kept whole (cells). Features
    depend only on the gene's own profile, so on the training matrix ``transform`` returns exactly
    the features fitted (bit for bit), and a gene gets the same features in a larger or smaller
    matrix (to float32 rounding: sums are chunked by stored values, so their order can change).
    Without the training cells, ``pca`` and ``pseudobulk`` features travel through ``reference``
    (see the module docstring).

    Attributes:
        kind, n_components, seed, standardize, n_groups, grouping: the recipe.
        cells: training cell names, in the order the features use them.
        mean: PCA centre [n_cells] (pca only); components: PCA axes [n_components, n_cells].
        groups: cell group of each training cell [n_cells] (pseudobulk only).
        scale: divisor of the projected scores (1.0 for the other kinds).
        genes: training gene names, the rows of ``reference``.
        reference: the training features [n_genes, width] (pca, pseudobulk; None for recipes of
            earlier versions): the basis other cells' features are aligned to.
    """

    kind: str
    cells: list[str]
    n_components: int | None = None
    seed: int = 0
    standardize: bool = True
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    scale: float = 1.0
    n_groups: int | None = None
    grouping: str = "kmeans"
    groups: np.ndarray | None = None
    genes: list[str] | None = None
    reference: np.ndarray | None = None

    @property
    def width(self) -> int:
        """Features per gene (the model's ``in_features``)."""
        return self.how.width(self)

    @property
    def how(self) -> "FeatureKind":
        """The strategy of this recipe's kind (:data:`FEATURE_KINDS`)."""
        return FEATURE_KINDS[self.kind]()

    @classmethod
    def fit(cls, expression, kind: str = "pca", n_components: int = 64, seed: int = 0, standardize: bool = True,
            n_groups: int = 32, grouping: str = "kmeans", path=None) -> "FeatureRecipe":
        """Fit on AnnData ``expression`` (cells x genes, sparse or dense). ``n_components`` above
        min(n_genes, n_cells) is lowered to that limit with a :class:`DataWarning`, ``n_groups``
        above n_cells to n_cells. ``path`` names the matrix in errors."""
        if kind not in KINDS:
            raise DataError(path, f"unknown feature kind {kind!r}", f"use one of {list(KINDS)}")
        if grouping not in GROUPINGS:
            raise DataError(path, f"unknown grouping {grouping!r}", f"use one of {list(GROUPINGS)}")
        if getattr(expression, "out_of_core", False):  # an .h5ad read in chunks (grnlib.data.streaming)
            from grnlib.features_ooc import fit_streamed

            return fit_streamed(cls, expression, kind, n_components=n_components, seed=seed,
                                standardize=standardize, path=path)
        recipe = cls(kind=kind, cells=[str(c) for c in expression.obs_names], seed=int(seed),
                     standardize=bool(standardize))
        recipe.how.fit(recipe, _matrix(expression), expression.var_names, path,
                       n_components=n_components, n_groups=n_groups, grouping=grouping)
        return recipe

    def transform(self, expression, refit: bool = False, path=None, genes=None) -> np.ndarray:
        """Features [n_genes of ``expression``, width] float32, row i = gene i of ``expression``
        (or, given ``genes``, column indices of ``expression``: row i = gene ``genes[i]``).

        The training cells are looked up by name (order and extra cells do not matter). When
        some are missing, the features travel: they are recomputed from these cells in the training
        basis (:meth:`travel`). With ``refit=True`` a new recipe of the same kind is fitted on this
        matrix instead, restricted to ``genes`` (the width may then differ from the model's)."""
        if getattr(expression, "out_of_core", False):
            from grnlib.features_ooc import transform_streamed

            return transform_streamed(self, expression, refit=refit, path=path, genes=genes)
        position = self._positions(expression)
        missing = int((position < 0).sum())
        if missing:
            if not refit:
                return self.travel(expression, path=path, genes=genes,
                                   missing=[c for c, p in zip(self.cells, position) if p < 0])
            warnings.warn(f"{path or 'expression'}: refitting {self.kind} features on {expression.n_obs} new cells; the "
                          "model was trained on other features, so treat the scores as exploratory",
                          DataWarning, stacklevel=2)
            subset = expression if genes is None else expression[:, np.asarray(genes)]
            fresh = FeatureRecipe.fit(subset, seed=self.seed, path=path, **self.describe())
            return fresh.transform(subset, path=path)
        x = _matrix(expression)
        if len(position) != x.shape[0] or (position != np.arange(len(position))).any():
            x = x[position]  # the training cells in training order (a copy of their stored values only)
        how = self.how
        if genes is not None and how.dense:  # the dense output: only the genes asked for
            x, genes = x[:, np.asarray(genes)], None
        with step(f"gene features: {self.kind} for {x.shape[1]:,} genes"):
            mean, std = gene_stats(x, expression.var_names, path)
            out = how.apply(self, x, mean, std, path)
        if genes is not None:  # every gene's features depend on its own profile only: pick rows
            out = out[np.asarray(genes)]
        return np.ascontiguousarray(out, dtype=np.float32)

    def _positions(self, expression) -> np.ndarray:
        """Row of each training cell in ``expression`` (by name), -1 where absent."""
        return pd.Index([str(c) for c in expression.obs_names]).get_indexer(self.cells)

    def has_training_cells(self, expression) -> bool:
        """Whether ``expression`` holds every training cell (then :meth:`transform` is exact)."""
        return bool((self._positions(expression) >= 0).all())

    def travel(self, expression, path=None, genes=None, missing=None) -> np.ndarray:
        """Features of the genes of ``expression`` computed from *its* cells in the training basis
        (the rows and columns :meth:`transform` returns), for cells the recipe was not fitted on: a
        subset, a cluster, another sample, the same cells renamed. ``missing`` (training cells absent,
        for the message) only words the error of a recipe that cannot travel."""
        if self.reference is None or self.genes is None:
            missing = list(missing if missing is not None else self.cells)
            why = self.how.cannot_travel or "this model was saved by an earlier grnlib version, without the training basis"
            raise DataError(path, f"expression lacks {len(missing)} of the {len(self.cells)} training cells "
                            f"(e.g. {missing[:3]}); {why}",
                            "predict on expression containing the training cells, retrain (features kind 'pca' "
                            "travels to other cells), or refit the features on these cells with "
                            "refit_features=True (exploratory scores)")
        from grnlib.data.symbols import match_symbols

        if self.reference.shape[1] != self.width:
            raise DataError(path, f"the model's feature basis has {self.reference.shape[1]} features per gene, its "
                            f"recipe {self.width}: the checkpoint is inconsistent", "train the model again")
        n_new = int(expression.n_obs)
        if n_new < 2:
            raise DataError(path, f"has {n_new} cell(s); features of new cells are co-expression over cells",
                            "rank on at least 2 cells (a cluster, a sample)")
        x = _matrix(expression)
        column = match_symbols(self.genes, expression.var_names)  # training gene -> column of this matrix
        shared = column >= 0
        if not shared.any():
            raise DataError(path, f"shares none of the {len(self.genes)} training genes",
                            "rank on expression of the genes used in training")
        mask = np.zeros(x.shape[1], dtype=bool)
        mask[column[shared]] = True
        stored = np.zeros((x.shape[1], self.width), dtype=np.float32)  # training features by column
        stored[column[shared]] = self.reference[shared]
        with step(f"gene features: {self.kind} of {n_new:,} new cells in the training basis") as record:
            record.note(f"{int(mask.sum()):,} of {len(self.genes):,} training genes measured")
            mean, std = gene_stats(x, expression.var_names, path)
            std = np.where(mask, std, 0.0)  # genes outside training weigh nothing
            out = self.how.travel(self, x, mean, std, mask, stored, expression.var_names, path, record)
        out[~mask] = 0.0
        if genes is not None:
            out = out[np.asarray(genes)]
        return np.ascontiguousarray(out, dtype=np.float32)

    def state(self) -> tuple[dict, dict]:
        """(JSON-able description, tensors) for a checkpoint."""
        import torch

        meta = {"kind": self.kind, "cells": self.cells, "n_components": self.n_components,
                "seed": self.seed, "standardize": self.standardize, "scale": self.scale, "genes": self.genes}
        meta.update({key: value for key, value in self.describe().items() if key not in meta})
        tensors = {name: torch.from_numpy(np.asarray(getattr(self, field), dtype=dtype))
                   for name, (field, dtype) in self.how.tensors.items()}
        if self.reference is not None:
            tensors["feature_reference"] = torch.from_numpy(np.asarray(self.reference, dtype=np.float32))
        return meta, tensors

    @classmethod
    def from_state(cls, meta: dict, ckpt: dict) -> "FeatureRecipe":
        """The recipe :meth:`state` wrote (checkpoints of earlier versions stored float64 axes)."""
        recipe = cls(kind=meta["kind"], cells=list(meta["cells"]), n_components=meta.get("n_components"),
                     seed=int(meta["seed"]), standardize=bool(meta["standardize"]),
                     scale=float(meta.get("scale", 1.0)), n_groups=meta.get("n_groups"),
                     grouping=meta.get("grouping", "kmeans"))
        if recipe.kind not in FEATURE_KINDS:
            raise ValueError(f"feature recipe of unknown kind {recipe.kind!r}; valid kinds: {', '.join(KINDS)}")
        for name, (field, dtype) in recipe.how.tensors.items():
            setattr(recipe, field, ckpt[name].numpy().astype(dtype))
        if "feature_reference" in ckpt and meta.get("genes") is not None:  # earlier versions: cannot travel
            recipe.genes = [str(g) for g in meta["genes"]]
            recipe.reference = ckpt["feature_reference"].float().numpy()
            if recipe.reference.shape[0] != len(recipe.genes):  # its width is checked where travel reads it
                raise ValueError(f"feature reference of {recipe.reference.shape[0]} genes, its gene list has "
                                 f"{len(recipe.genes)}")
        per_cell = getattr(recipe, recipe.how.per_cell)
        if len(per_cell) != len(recipe.cells):
            raise ValueError(f"feature recipe of kind {recipe.kind!r} does not match its {len(recipe.cells)} cells")
        return recipe

    def describe(self) -> dict:
        """The recipe as params (what ``features:`` in a params file takes): its kind's options."""
        return {"kind": self.kind, **{key: getattr(self, key) for key in FEATURE_KINDS.valid_keys(self.kind)}}


# -- feature kinds -----------------------------------------------------------------------------
class FeatureKind:
    """One kind of per-gene features, as its recipe lives: what :meth:`fit` learns from the training
    cells, the features :meth:`apply` gives genes of those cells and :meth:`travel` genes of other cells,
    its :meth:`width`, and which arrays a checkpoint keeps (``tensors``: checkpoint name -> (recipe field,
    dtype)). The keyword arguments of a kind's constructor are its options (the ``features:`` keys) with
    their defaults; the recipe keeps their values, so a kind holds no state."""

    dense = False  # the output is genes x every cell: only the genes asked for are computed
    streams = False  # computed out of core too (grnlib.features_ooc: PCA needs no cell's whole profile at once)
    cannot_travel: str | None = None  # why features of other cells cannot be computed (None: they can)
    tensors: dict[str, tuple[str, type]] = {}
    per_cell = "cells"  # the recipe field with one entry per training cell

    def __init__(self, standardize: bool = True):
        self.standardize = standardize

    def check(self, n_genes: int, n_cells: int) -> None:
        """ValueError for options the data cannot give (:func:`gene_features`)."""

    def fit(self, recipe: FeatureRecipe, x, gene_names, path, **options) -> None:
        """Fill ``recipe`` with what its features need from the training matrix ``x`` (cells x genes)."""

    def width(self, recipe: FeatureRecipe) -> int:
        return len(recipe.cells)

    def apply(self, recipe: FeatureRecipe, x, mean, std, path) -> np.ndarray:
        """Features [genes, width] of the genes of ``x``, whose rows are the training cells in order."""
        raise NotImplementedError

    def travel(self, recipe: FeatureRecipe, x, mean, std, mask, stored, gene_names, path, record) -> np.ndarray:
        """Features [genes, width] of the genes of ``x`` (other cells) in the training basis ``stored``."""
        raise NotImplementedError


FEATURE_KINDS = Registry("feature kind")
"""Every kind of per-gene features by name: its :class:`FeatureKind` (the constructor's keywords are the
kind's options). Every kind is stored in a checkpoint and re-applied at predict time."""


@FEATURE_KINDS.register("cells")
class CellProfiles(FeatureKind):
    """The gene's expression in every training cell (d = number of cells)."""

    dense = True
    cannot_travel = "the 'cells' features are the training cells themselves"

    def fit(self, recipe, x, gene_names, path, **options) -> None:
        _check_cells_size(x.shape[1], x.shape[0], path)

    def apply(self, recipe, x, mean, std, path) -> np.ndarray:
        _check_cells_size(x.shape[1], x.shape[0], path)
        return _dense_profiles(x, mean, std, recipe.standardize)


@FEATURE_KINDS.register("pca")
class PcaScores(FeatureKind):
    """Each gene's scores on the first ``n_components`` principal axes of the cells, divided by the
    standard deviation of the first component (see the module docstring)."""

    tensors = {"feature_mean": ("mean", np.float32), "feature_components": ("components", np.float32)}
    per_cell = "mean"
    streams = True

    def __init__(self, n_components: int = 64, standardize: bool = True):
        super().__init__(standardize)
        self.n_components = n_components

    def check(self, n_genes: int, n_cells: int) -> None:
        if not 1 <= self.n_components <= min(n_genes, n_cells):
            raise ValueError(f"n_components={self.n_components} must be in [1, {min(n_genes, n_cells)}] "
                             f"(min of {n_genes} genes and {n_cells} cells)")

    def width(self, recipe) -> int:
        return int(recipe.n_components)

    def fit(self, recipe, x, gene_names, path, n_components: int = 64, **options) -> None:
        n_cells, n_genes = x.shape
        n_components = pca_components(n_components, n_genes, n_cells)
        recipe.n_components = int(n_components)
        standardize, seed = recipe.standardize, recipe.seed
        with step(f"gene features: fit PCA, {n_components} components") as record:
            record.note(f"{n_genes:,} genes x {n_cells:,} cells, {_stored(x):,} stored values")
            mean, std = gene_stats(x, gene_names, path)
            op = _operator(x, mean, std, standardize, None)
            centre = op.rmatvec(np.ones(n_genes, dtype=np.float32)) / n_genes  # mean over genes, per cell
            op = _operator(x, mean, std, standardize, centre)
            _, _, axes = _randomized_svd(op, recipe.n_components, int(seed), desc="gene features: PCA")
            recipe.mean, recipe.components = centre.astype(np.float32), axes.astype(np.float32)
            first = op.matmat(np.ascontiguousarray(recipe.components[:1].T))[:, 0]
            first_std = float(np.std(first, dtype=np.float64))
            recipe.scale = first_std if standardize and first_std > 0 else 1.0
            # what transform gives the training genes: the basis other cells' features travel to
            recipe.reference = (op.matmat(np.ascontiguousarray(recipe.components.T)) / np.float32(recipe.scale))
        recipe.genes = [str(g) for g in gene_names]

    def apply(self, recipe, x, mean, std, path) -> np.ndarray:
        op = _operator(x, mean, std, recipe.standardize, recipe.mean)
        return op.matmat(np.ascontiguousarray(recipe.components.T, dtype=np.float32)) / np.float32(recipe.scale)

    def travel(self, recipe, x, mean, std, mask, stored, gene_names, path, record) -> np.ndarray:
        out = self._project(recipe, x, mean, std, mask, stored)
        if x.shape[0] >= MIN_SPLIT_CELLS:
            out, weight = self._shrink(recipe, x, mask, stored, out, gene_names, path)
            record.note(f"axes weighted by their reliability in these cells: mean {weight.mean():.2f}")
        return out

    def _project(self, recipe, x, mean, std, mask, stored) -> np.ndarray:
        """pca: ``A' A'^T F S^-2 (n / n') / scale`` with ``F`` the unscaled training features."""
        n_new = x.shape[0]
        loadings = stored * np.float32(recipe.scale)  # U S on the shared genes
        squared = ((recipe.reference.astype(np.float64) * recipe.scale) ** 2).sum(axis=0)  # S^2 over all training genes
        squared[squared == 0] = 1.0
        weights = mask.astype(np.float32)
        op = _operator(x, mean, std, recipe.standardize, None, weights)
        centre = op.rmatvec(weights) / weights.sum()  # each new cell's mean over the shared genes
        op = _operator(x, mean, std, recipe.standardize, centre, weights)
        cells = op.rmatmat(loadings)  # new cells in the training axes [n_new, k]
        out = op.matmat(cells).astype(np.float64) * (len(recipe.cells) / n_new) / squared
        return out / recipe.scale

    def _shrink(self, recipe, x, mask, stored, out, gene_names, path) -> tuple[np.ndarray, np.ndarray]:
        """``w F' + (1 - w) F`` per axis: the travelled features ``F'`` where these cells estimate the
        axis reproducibly, the trained ones ``F`` where they do not. ``w`` is the axis's split-half
        reliability over two seeded random halves of the cells (Spearman-Brown corrected, in [0, 1]).
        Leading axes have ``w`` near 1; trailing axes of a PCA over a few hundred cells are partly
        sample noise that the model learned as part of each gene's identity, and new cells cannot
        reproduce that noise: without it, phase 1 lost 0.08-0.21 pooled held-out AUROC on new cells
        (``benchmarks/travel.py``)."""
        order = np.random.default_rng(recipe.seed).permutation(x.shape[0])
        halves = []
        for rows in np.array_split(order, 2):
            part = x[np.sort(rows)]  # a copy of those cells' stored values only
            mean, std = gene_stats(part, gene_names, path)
            halves.append(self._project(recipe, part, mean, np.where(mask, std, 0.0), mask, stored)[mask])
        a, b = (h - h.mean(axis=0) for h in halves)
        norms = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
        half = np.divide((a * b).sum(axis=0), norms, out=np.zeros(a.shape[1]), where=norms > 0)
        weight = np.clip(2 * half / (1 + half), 0.0, 1.0)
        return weight * out + (1 - weight) * stored, weight


@FEATURE_KINDS.register("pseudobulk")
class GroupMeans(FeatureKind):
    """The gene's mean expression in each of ``n_groups`` groups of cells (k-means on the cells' top
    principal components, or a seeded random split), z-scored per gene again."""

    tensors = {"feature_groups": ("groups", np.int64)}
    per_cell = "groups"

    def __init__(self, n_groups: int = 32, grouping: str = "kmeans", standardize: bool = True):
        super().__init__(standardize)
        self.n_groups, self.grouping = n_groups, grouping

    def check(self, n_genes: int, n_cells: int) -> None:
        if not 1 <= self.n_groups <= n_cells:
            raise ValueError(f"n_groups={self.n_groups} must be in [1, {n_cells}] (number of cells)")

    def width(self, recipe) -> int:
        return int(recipe.groups.max()) + 1

    def fit(self, recipe, x, gene_names, path, n_groups: int = 32, grouping: str = "kmeans", **options) -> None:
        n_cells, n_genes = x.shape
        recipe.n_groups, recipe.grouping = int(n_groups), grouping
        with step(f"gene features: {grouping} cell groups") as record:
            record.note(f"{n_genes:,} genes x {n_cells:,} cells")
            mean, std = gene_stats(x, gene_names, path)
            recipe.groups = _cell_groups(x, (mean, std), min(int(n_groups), n_cells), int(recipe.seed), grouping)
            recipe.reference = _group_means(x, mean, std, recipe.groups, recipe.standardize).astype(np.float32)
        recipe.genes = [str(g) for g in gene_names]

    def apply(self, recipe, x, mean, std, path) -> np.ndarray:
        return _group_means(x, mean, std, recipe.groups, recipe.standardize)

    def travel(self, recipe, x, mean, std, mask, stored, gene_names, path, record) -> np.ndarray:
        """Each new cell joins the training group whose profile over genes it matches best (z-scored
        genes against z-scored group profiles), then genes are averaged per group."""
        op = _operator(x, mean, std, True, None)
        similarity = op.rmatmat(_zscore_rows(stored).astype(np.float32))  # [n_new, groups]
        groups = np.argmax(similarity, axis=1).astype(np.int64)
        return _group_means(x, mean, std, groups, recipe.standardize, n_groups=recipe.width)


KINDS = tuple(FEATURE_KINDS.names())  # cells, pca, pseudobulk


def pca_components(n_components: int, n_genes: int, n_cells: int) -> int:
    """``n_components``, lowered to min(n_genes, n_cells) with a :class:`DataWarning` when larger (the
    warning names the line that called :meth:`FeatureRecipe.fit`, in memory or out of core)."""
    limit = min(n_genes, n_cells)
    if n_components > limit:
        warnings.warn(f"n_components={n_components} lowered to {limit} (min of {n_genes} genes and "
                      f"{n_cells} cells)", DataWarning, stacklevel=4)
        return limit
    return n_components


# -- sparse building blocks -------------------------------------------------------------------
def _matrix(expression):
    """``expression.X`` as cells x genes float32: CSR/CSC kept sparse, anything else a float32 array."""
    x = expression.X
    if sp.issparse(x):
        x = x if x.format in ("csr", "csc") else x.tocsr()
        return x if x.dtype == np.float32 else x.astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def _stored(x) -> int:
    return int(x.nnz) if sp.issparse(x) else int(np.prod(x.shape))


def _chunks(x):
    """(gene index, float64 value) arrays of stored entries, ``CHUNK_NNZ`` at a time; dense: row blocks."""
    if not sp.issparse(x):
        rows = max(1, CHUNK_NNZ // max(1, x.shape[1]))
        for start in range(0, x.shape[0], rows):
            yield None, x[start:start + rows].astype(np.float64)
        return
    for start in range(0, x.nnz, CHUNK_NNZ):
        stop = min(start + CHUNK_NNZ, x.nnz)
        if x.format == "csr":
            genes = x.indices[start:stop]
        else:  # csc: the gene of a stored value is the column whose pointer range holds it
            genes = np.searchsorted(x.indptr, np.arange(start, stop), side="right") - 1
        yield genes, x.data[start:stop].astype(np.float64)


def gene_stats(x, gene_names, path=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene mean and (population) std over cells of ``x`` (cells x genes, sparse or dense), float64,
    ``CHUNK_NNZ`` values at a time: two passes over the stored values (the second sums squared
    deviations, which is exact where sum-of-squares cancels). A std within float32 rounding of the
    mean (``CONSTANT_RTOL``) is 0: that gene is constant."""
    n_cells, n_genes = x.shape
    total, count = np.zeros(n_genes), np.zeros(n_genes)
    for genes, values in _chunks(x):
        if genes is None:
            total += values.sum(axis=0)
        else:
            total += np.bincount(genes, weights=values, minlength=n_genes)
            count += np.bincount(genes, minlength=n_genes)
    mean = total / n_cells
    squares = np.zeros(n_genes) if sp.issparse(x) else 0.0
    for genes, values in _chunks(x):
        if genes is None:
            squares = squares + ((values - mean) ** 2).sum(axis=0)
        else:
            squares += np.bincount(genes, weights=(values - mean[genes]) ** 2, minlength=n_genes)
    if sp.issparse(x):
        squares += (n_cells - count) * mean ** 2  # the cells where the gene is not stored hold 0
    std = np.sqrt(np.maximum(squares / n_cells, 0.0))
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        raise DataError(path, f"expression of {int(bad.sum())} gene(s) holds NaN/inf "
                        f"(e.g. {list(pd.Index(gene_names)[bad][:3])})",
                        "drop or impute those genes before building features")
    std[std <= CONSTANT_RTOL * np.abs(mean)] = 0.0
    return mean, std


class _Centred(LinearOperator):
    """``A = diag(w) (X^T - c 1^T) - 1 m^T`` (genes x cells) without forming it.

    ``x`` is cells x genes (sparse or dense float32), ``w`` per-gene scale (1/std, 0 for constant
    genes), ``c`` per-gene centre, ``m`` per-cell centre. Products with ``x`` run in float32; the
    rank-one corrections are small vectors.
    """

    def __init__(self, x, w, c, m):
        super().__init__(dtype=np.float32, shape=(x.shape[1], x.shape[0]))
        self.blocks, self.w, self.c = _row_blocks(x), w.astype(np.float32), c.astype(np.float32)
        self.m = np.zeros(x.shape[0], np.float32) if m is None else np.asarray(m, dtype=np.float32)

    def _matmat(self, v):  # v: cells x b -> genes x b
        v = np.ascontiguousarray(v, dtype=np.float32)
        out = _xt_dot(self.blocks, v)
        out -= np.outer(self.c, v.sum(axis=0, dtype=np.float64)).astype(np.float32)
        out *= self.w[:, None]
        out -= (self.m @ v)[None, :]
        return out

    def _rmatmat(self, u):  # u: genes x b -> cells x b
        wu = np.ascontiguousarray(u, dtype=np.float32) * self.w[:, None]
        out = _x_dot(self.blocks, wu)
        out -= (self.c @ wu)[None, :]
        out -= np.outer(self.m, np.asarray(u, dtype=np.float32).sum(axis=0))
        return out

    def _matvec(self, v):
        return self._matmat(np.reshape(v, (-1, 1)))[:, 0]

    def _rmatvec(self, u):
        return self._rmatmat(np.reshape(u, (-1, 1)))[:, 0]


def _row_blocks(x) -> list[tuple[int, int, object]]:
    """``(first row, end row, block)`` of a CSR matrix cut into ``BLOCK_NNZ``-value row blocks that
    share its arrays (no copy); one block for anything else. The cut depends on the matrix only,
    so the float32 sums, and the features, do not depend on the machine's core count."""
    if not (sp.issparse(x) and x.format == "csr") or x.nnz <= BLOCK_NNZ:
        return [(0, x.shape[0], x)]
    cuts = np.unique(np.concatenate([[0], np.searchsorted(x.indptr, np.arange(BLOCK_NNZ, x.nnz, BLOCK_NNZ)),
                                     [x.shape[0]]]))
    blocks = []
    for first, end in zip(cuts[:-1], cuts[1:]):
        start, stop = x.indptr[first], x.indptr[end]
        # Assigned, not passed to the constructor: scipy copies an array that is a view of less than
        # half its base ("prune"), which would duplicate the whole matrix block by block.
        block = sp.csr_matrix((int(end - first), x.shape[1]), dtype=x.dtype)
        block.data, block.indices = x.data[start:stop], x.indices[start:stop]
        block.indptr = x.indptr[first:end + 1] - start
        blocks.append((int(first), int(end), block))
    return blocks


def _in_threads(work, blocks) -> list:
    """``work`` on every block, on up to one thread per core (scipy's sparse products release the GIL)."""
    if len(blocks) == 1:
        return [work(blocks[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(len(blocks), os.cpu_count() or 1)) as pool:
        return list(pool.map(work, blocks))


def _xt_dot(blocks, v: np.ndarray) -> np.ndarray:
    """``X^T v`` (genes x b float32), summed over the row blocks in a fixed order."""
    parts = _in_threads(lambda blk: np.asarray(blk[2].T @ v[blk[0]:blk[1]], dtype=np.float32), blocks)
    out = parts[0]
    for part in parts[1:]:
        out += part
    return out


def _x_dot(blocks, u: np.ndarray) -> np.ndarray:
    """``X u`` (cells x b float32), one row block per task."""
    return np.concatenate(_in_threads(lambda blk: np.asarray(blk[2] @ u, dtype=np.float32), blocks), axis=0)


def _operator(x, mean, std, standardize: bool, centre, weights=None) -> _Centred:
    """The genes x cells matrix a PCA of genes reads: z-scored genes (or raw values), minus ``centre``.
    ``weights`` (0/1 per gene) leaves genes out of the raw-value case (z-scoring leaves out std 0)."""
    if not standardize:
        ones = np.ones_like(mean) if weights is None else np.asarray(weights, dtype=mean.dtype)
        return _Centred(x, ones, np.zeros_like(mean), centre)
    return _Centred(x, np.divide(1.0, std, out=np.zeros_like(std), where=std > 0), mean, centre)


def _randomized_svd(op: LinearOperator, k: int, seed: int, desc: str = "") -> tuple[np.ndarray, ...]:
    """Top ``k`` singular triplets of ``op`` (rows x cols): U [rows, k], S [k], Vt [k, cols].

    Randomized range finder (Halko, Martinsson & Tropp 2011) with ``N_POWER_ITERATIONS``
    QR-normalised power iterations; with k + oversamples >= min(shape) it is an exact SVD.
    Signs: each row of Vt has its largest-|value| entry positive.
    """
    size = min(k + N_OVERSAMPLES, min(op.shape))
    rng = np.random.default_rng(seed)
    q = _orthonormal(op.matmat(rng.standard_normal((op.shape[1], size), dtype=np.float32)))
    for _ in bar(range(N_POWER_ITERATIONS), desc=desc, unit="iteration"):
        q = _orthonormal(op.matmat(_orthonormal(op.rmatmat(q))))
    b = op.rmatmat(q).T.astype(np.float64)  # Q^T A: size x cols
    with _small_lapack():
        u_b, s, vt = np.linalg.svd(b, full_matrices=False)
    u, s, vt = q.astype(np.float64) @ u_b[:, :k], s[:k], vt[:k]
    signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    return u * signs, s, vt * signs[:, None]


def _orthonormal(y: np.ndarray) -> np.ndarray:
    with _small_lapack():
        return np.linalg.qr(y.astype(np.float64))[0].astype(np.float32)


def _small_lapack():
    """One BLAS thread for the thin QR/SVD of the range finder: they take milliseconds on one core,
    while a threaded LAPACK on a busy machine can spin for a second per call (measured 1.0 s vs
    15 ms for a 2,000 x 74 QR on a loaded 2-core box)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _cell_groups(x, stats, n_groups: int, seed: int, grouping: str) -> np.ndarray:
    """Group label in [0, groups) for each cell, every group non-empty. x: cells x genes."""
    n_cells, n_genes = x.shape
    rng = np.random.default_rng(seed)
    if grouping == "random":
        labels = np.empty(n_cells, dtype=np.int64)
        for g, members in enumerate(np.array_split(rng.permutation(n_cells), n_groups)):
            labels[members] = g
        return labels
    from sklearn.cluster import KMeans

    mean, std = stats
    # Cells are the samples here: centre every gene over cells (scaled to unit variance).
    w = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    op = _Centred(x, w, mean, None)
    k = min(KMEANS_COMPONENTS, n_cells, n_genes)
    _, s, vt = _randomized_svd(op, k, seed, desc="gene features: cell PCA")
    embedded = (vt.T * s).astype(np.float32)  # cells' scores [n_cells, k]
    labels = KMeans(n_clusters=n_groups, n_init=4, random_state=seed).fit_predict(embedded)
    # With fewer distinct cells than groups k-means leaves clusters empty: relabel densely
    # (the feature width is then the number of non-empty groups).
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _group_means(x, mean, std, groups, standardize: bool, n_groups: int | None = None) -> np.ndarray:
    """Genes x groups: mean of each gene in each cell group (z-scored profiles when standardising).
    A group without cells (other cells than training's) reads as each gene's mean: neutral."""
    n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
    sizes = np.bincount(groups, minlength=n_groups).astype(np.float32)
    indicator = np.zeros((len(groups), n_groups), dtype=np.float32)
    indicator[np.arange(len(groups)), groups] = 1.0 / sizes[groups]
    out = _xt_dot(_row_blocks(x), indicator).astype(np.float64)  # sparse products, no densified matrix
    out[:, sizes == 0] = mean[:, None]
    if not standardize:
        return out
    w = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
    return _zscore_rows((out - mean[:, None]) * w[:, None])


def _dense_profiles(x, mean, std, standardize: bool) -> np.ndarray:
    """Genes x cells float32 (the ``"cells"`` kind; its size is checked first)."""
    out = np.ascontiguousarray((x.T.toarray() if sp.issparse(x) else x.T), dtype=np.float32)
    if standardize:
        w = np.divide(1.0, std, out=np.zeros_like(std), where=std > 0)
        out -= mean[:, None].astype(np.float32)
        out *= w[:, None].astype(np.float32)
    return out


def _check_cells_size(n_genes: int, n_cells: int, path) -> None:
    if n_genes * n_cells > MAX_CELLS_ENTRIES:
        raise DataError(path, f"feature kind 'cells' needs a dense {n_genes:,} genes x {n_cells:,} cells matrix "
                        f"({n_genes * n_cells * 4 / 1e9:.1f} GB in float32), above the "
                        f"{MAX_CELLS_ENTRIES * 4 / 1e9:.1f} GB limit",
                        "use features kind 'pca' (e.g. features: {kind: pca, n_components: 64}), which "
                        "stays sparse")


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    """Rows to zero mean, unit variance; constant rows -> zeros. [n, d] -> [n, d] float64."""
    x = x.astype(np.float64)
    centered = x - x.mean(axis=1, keepdims=True)
    std = centered.std(axis=1, keepdims=True)
    return centered / np.where(std > 0, std, 1.0)
