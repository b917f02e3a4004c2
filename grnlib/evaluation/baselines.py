"""Baseline scores for TF -> target pairs, scored on exactly the pairs a model is scored on.

Every baseline has the signature ``fn(ds, train_pairs, pairs, seed=0, **kw) -> np.ndarray[len(pairs)]``
(higher = more likely an edge) and is registered in :data:`BASELINES`; call it through
:func:`score_baseline`. Baselines that need no training (correlation, GENIE3, random) ignore
``train_pairs``; the two floors, ``degree`` and ``edge_prior``, use only its positive rows.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.errors import DataError
from grnlib.evaluation.protocols import check_pairs
from grnlib.registry import Registry

BaselineFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class ScorerInfo:
    """What a baseline (or a control's data transform, :data:`grnlib.evaluation.controls.CONTROLS`) declares."""

    needs_expression: bool  # it reads the dataset's expression
    knowledge: bool = False  # it reads annotation knowledge (GO, Pfam, JASPAR)


BASELINES = Registry("baseline", fixed=("ds", "train_pairs", "pairs"), info=ScorerInfo)
"""Every baseline scorer by name, registered with its :class:`ScorerInfo`."""
register_baseline = BASELINES.register


def score_baseline(name: str, ds: GRNDataset, train_pairs: pd.DataFrame | None, pairs: pd.DataFrame,
                   seed: int = 0, **kw) -> np.ndarray:
    """Score ``pairs`` with the baseline ``name``.

    Args:
        name: a key of :data:`BASELINES` ("degree", "edge_prior", "correlation", "spearman", "genie3",
            "random").
        ds: the dataset the pair ids refer to (expression for the expression baselines).
        train_pairs: training pair table (only "degree" and "edge_prior" read it; may be None for
            the others).
        pairs: pair table to score (``tf``, ``target``; ``label`` is never read).
        seed: seeds the stochastic baselines (genie3, random).
        **kw: baseline-specific options (e.g. ``n_estimators`` for genie3).

    Returns:
        float64 array [len(pairs)], aligned with the rows of ``pairs``.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; valid baselines: {BASELINES.names()}")
    check_pairs(pairs, ds.n_genes, "pairs", need_label=False)
    return np.asarray(BASELINES[name](ds, train_pairs, pairs, seed=seed, **kw), dtype=np.float64)


@register_baseline("degree", needs_expression=False)
def degree_scores(ds: GRNDataset, train_pairs: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """log(1 + TF out-degree) + log(1 + target in-degree), both counted over training positives only.

    This is the floor every model must beat: on random-negative protocols it is a strong scorer
    because hub TFs and hub targets are over-represented among positives.
    """
    if train_pairs is None:
        raise ValueError("the degree baseline needs train_pairs (the training pair table)")
    check_pairs(train_pairs, ds.n_genes, "train_pairs")
    positives = train_pairs[train_pairs["label"] == 1]
    out_degree = np.bincount(positives["tf"].to_numpy(), minlength=ds.n_genes)
    in_degree = np.bincount(positives["target"].to_numpy(), minlength=ds.n_genes)
    return (np.log1p(out_degree[pairs["tf"].to_numpy()])
            + np.log1p(in_degree[pairs["target"].to_numpy()])).astype(np.float64)


# Fitted edge priors by (dataset, training positives, options): validation and test pairs of one
# split share one XSwap run. Small: a sweep worker sees one split at a time.
_EDGE_PRIOR_CACHE: dict = {}


def fitted_edge_prior(ds: GRNDataset, train_pairs: pd.DataFrame, seed: int = 0, n_permutations: int = 20,
                      swaps_per_edge: float = 10.0):
    """The :class:`grnlib.models.floors.EdgePrior` of the training positives (memoised per split)."""
    from grnlib.models.floors import EdgePrior, positive_edges

    edges = positive_edges(train_pairs)
    key = (ds.n_genes, np.asarray(ds.tf_ids, np.int64).tobytes(), edges.tobytes(),
           np.unique(train_pairs["tf"].to_numpy()).tobytes(), seed,
           n_permutations, swaps_per_edge)
    if key not in _EDGE_PRIOR_CACHE:
        if len(_EDGE_PRIOR_CACHE) >= 8:
            _EDGE_PRIOR_CACHE.pop(next(iter(_EDGE_PRIOR_CACHE)))
        _EDGE_PRIOR_CACHE[key] = EdgePrior.fit(train_pairs, ds.n_genes, n_permutations=n_permutations,
                                               swaps_per_edge=swaps_per_edge, seed=seed,
                                               candidate_tfs=np.asarray(ds.tf_ids, dtype=np.int64))
    return _EDGE_PRIOR_CACHE[key]


@register_baseline("edge_prior", needs_expression=False)
def edge_prior_scores(ds: GRNDataset, train_pairs: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0,
                      n_permutations: int = 20, swaps_per_edge: float = 10.0) -> np.ndarray:
    """The XSwap edge prior (Zietz et al. 2024): the probability that the pair is an edge of a
    random network with the training network's degrees, as a logit.

    The training positives are permuted ``n_permutations`` times (``swaps_per_edge`` swaps per
    edge, seeded by ``seed``), presence is averaged per (out-degree, in-degree) class and smoothed
    (:class:`grnlib.models.floors.EdgePrior`). A training positive is scored leave-one-out (at its
    degrees without its own edge); any other pair at its training degrees. A second floor beside
    ``degree``: it models how degrees combine (saturating for hubs) instead of adding their logs.
    """
    if train_pairs is None:
        raise ValueError("the edge_prior baseline needs train_pairs (the training pair table)")
    check_pairs(train_pairs, ds.n_genes, "train_pairs")
    prior = fitted_edge_prior(ds, train_pairs, seed, n_permutations, swaps_per_edge)
    return prior.score(train_pairs, pairs, ds.n_genes, leave_one_out=True)


def _expression(ds: GRNDataset, baseline: str) -> np.ndarray:
    """float64 genes x cells expression, or a DataError saying why the baseline cannot run."""
    if not ds.has_expression:
        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression data, so the "
                        f"{baseline!r} baseline cannot score its pairs",
                        "use the 'degree' or 'random' baseline here, or a dataset with expression")
    return ds.expression_matrix().astype(np.float64)


def _standardise_rows(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled so that ``z_i . z_j`` is the Pearson correlation; constant rows -> 0."""
    centred = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)


def _abs_correlation_of_pairs(z: np.ndarray, pairs: pd.DataFrame) -> np.ndarray:
    """|corr| of each pair from standardised rows z [genes, cells]: one product per distinct TF."""
    tfs = pairs["tf"].to_numpy()
    unique_tfs, tf_row = np.unique(tfs, return_inverse=True)
    correlation = z[unique_tfs] @ z.T  # [n_unique_tfs, n_genes]
    return np.abs(correlation[tf_row.ravel(), pairs["target"].to_numpy()])


@register_baseline("correlation", needs_expression=True)
def correlation_scores(ds: GRNDataset, train_pairs, pairs: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Absolute Pearson correlation between TF and target expression across cells."""
    return _abs_correlation_of_pairs(_standardise_rows(_expression(ds, "correlation")), pairs)


@register_baseline("spearman", needs_expression=True)
def spearman_scores(ds: GRNDataset, train_pairs, pairs: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Absolute Spearman correlation (Pearson of per-gene ranks across cells, ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(_expression(ds, "spearman"), axis=1)
    return _abs_correlation_of_pairs(_standardise_rows(ranks), pairs)


# Fitted GENIE3 importance rows per expression matrix, so scoring the validation and then the
# test pairs of one dataset fits each target once. Keyed by id(expression), checked through a
# weak reference and dropped when the matrix is freed.
_GENIE3_CACHE: dict[int, tuple] = {}


def _genie3_store(ds: GRNDataset, options: tuple) -> dict:
    """The {target: importance row} store of ``ds.expression`` under ``options``."""
    key = id(ds.expression)
    entry = _GENIE3_CACHE.get(key)
    if entry is None or entry[0]() is not ds.expression:
        entry = (weakref.ref(ds.expression), {})
        _GENIE3_CACHE[key] = entry
        weakref.finalize(ds.expression, _GENIE3_CACHE.pop, key, None)
    return entry[1].setdefault(options, {})


@register_baseline("genie3", needs_expression=True)
def genie3_scores(ds: GRNDataset, train_pairs, pairs: pd.DataFrame, seed: int = 0,
                  n_estimators: int = 15, method: str = "extra_trees", max_features="sqrt",
                  max_depth: int | None = None, max_targets: int | None = None,
                  min_samples_leaf: int = 1, engine: str | None = None, cache: bool = True) -> np.ndarray:
    """GENIE3-style scores: importance of each TF in a tree ensemble predicting the target.

    For every distinct target in ``pairs`` the target's (standardised) expression is regressed
    on the expression of all dataset TFs except the target itself; the impurity importance of a
    TF (normalised to sum to 1 per target, as scikit-learn does) is its score for that target.
    Only targets that occur in ``pairs`` are fitted. Each target's ensemble is seeded by
    (seed, target), so a score does not depend on which other pairs were scored with it.

    Args:
        n_estimators: trees per target (GENIE3 uses 1000). 15 trees, the first 15 of the
            20-tree forest used before, rank as well on BEELINE hHEP/500 (validation/test AUROC
            within 0.003 on average over released samples 1-3, ``benchmarks/genie3_speed.py``);
            with the "trees" engine they take about half the time (10 trees missed: test -0.0055).
        method: "extra_trees" (default, faster) or "random_forest" (GENIE3's original choice).
        max_features: candidate TFs per split ("sqrt" as in GENIE3).
        max_depth: depth limit of every tree (None grows them out).
        max_targets: fit at most this many targets (a seeded subset) for quick looks; pairs of
            unfitted targets get NaN, which the metrics reject, so use it for exploration only.
        min_samples_leaf: passed to the trees.
        engine: "trees" (the default for extra_trees) fits the extra trees one by one on a
            float32 Fortran-ordered matrix, without scikit-learn's per-fit input checks and joblib
            dispatch (they cost about as much as building a small tree). Each tree gets the seed
            the forest would give it and importances are averaged as the forest does, so the
            scores equal the "ensemble" engine's up to float rounding, and ``n_estimators=k``
            uses the first k trees of any larger forest. "ensemble" is scikit-learn's
            ExtraTreesRegressor / RandomForestRegressor (the default, and the only engine, for
            random_forest).
        cache: reuse targets already fitted on this expression matrix with the same options
            (turn off after modifying ``ds.expression`` in place).

    Returns:
        [len(pairs)] importances in [0, 1]; a pair whose TF is not a dataset TF scores 0.
    """
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    ensembles = {"extra_trees": ExtraTreesRegressor, "random_forest": RandomForestRegressor}
    if method not in ensembles:
        raise ValueError(f"unknown genie3 method {method!r}; choose one of {sorted(ensembles)}")
    engine = engine or ("trees" if method == "extra_trees" else "ensemble")
    if engine not in ("trees", "ensemble"):
        raise ValueError(f"unknown genie3 engine {engine!r}; choose 'trees' or 'ensemble'")
    if engine == "trees" and method != "extra_trees":
        raise ValueError(f"engine='trees' fits extra trees only; use engine='ensemble' for method={method!r}")
    x = _standardise_rows(_expression(ds, "genie3"))  # scale does not change trees, it equalises targets
    tf_ids = np.asarray(ds.tf_ids, dtype=np.int64)
    tf_column = np.full(ds.n_genes, -1, dtype=np.int64)
    tf_column[tf_ids] = np.arange(tf_ids.size)
    features = x[tf_ids].T  # [cells, n_tfs]

    targets = np.unique(pairs["target"].to_numpy())
    if max_targets is not None and targets.size > max_targets:
        targets = np.sort(np.random.default_rng(seed).choice(targets, size=max_targets, replace=False))
    options = (seed, n_estimators, method, str(max_features), max_depth, min_samples_leaf, engine,
               tf_ids.tobytes())
    store = _genie3_store(ds, options) if cache else {}
    todo = [target for target in targets if target not in store]
    if engine == "trees" and todo:
        # The splitter reads one TF column at a time: Fortran order keeps each column contiguous.
        columns_f32 = np.asfortranarray(features, dtype=np.float32)
    for target in todo:
        keep = tf_ids != target  # a gene never explains itself
        forest_seed = int(np.random.SeedSequence([seed, int(target)]).generate_state(1)[0])
        row = np.zeros(tf_ids.size)
        if engine == "trees":
            # Only a TF target needs its own column dropped (a copy); every other target shares the matrix.
            x_fit = columns_f32 if keep.all() else np.asfortranarray(columns_f32[:, keep])
            row[keep] = _extra_trees_importance(x_fit, x[target], forest_tree_seeds(forest_seed, n_estimators),
                                                max_features=max_features, max_depth=max_depth,
                                                min_samples_leaf=min_samples_leaf)
        else:
            model = ensembles[method](n_estimators=n_estimators, max_features=max_features,
                                      max_depth=max_depth, min_samples_leaf=min_samples_leaf, n_jobs=1,
                                      random_state=forest_seed)
            model.fit(features[:, keep], x[target])
            row[keep] = model.feature_importances_
        store[target] = row

    importance = np.stack([store[target] for target in targets])  # [n_targets, n_tfs]
    target_row = np.full(ds.n_genes, -1, dtype=np.int64)
    target_row[targets] = np.arange(targets.size)
    rows = target_row[pairs["target"].to_numpy()]
    columns = tf_column[pairs["tf"].to_numpy()]
    scores = np.full(len(pairs), np.nan)
    fitted = rows >= 0
    scores[fitted] = np.where(columns[fitted] >= 0,
                              importance[rows[fitted], np.maximum(columns[fitted], 0)], 0.0)
    return scores


def forest_tree_seeds(random_state: int, n_estimators: int) -> np.ndarray:
    """The ``random_state`` of each tree of a scikit-learn forest built with ``random_state``: the
    forest draws them one by one from ``RandomState(random_state)`` (``_set_random_states``)."""
    state = np.random.RandomState(random_state)
    return np.array([state.randint(np.iinfo(np.int32).max) for _ in range(n_estimators)], dtype=np.int64)


def _extra_trees_importance(x: np.ndarray, y: np.ndarray, seeds: np.ndarray, **tree_options) -> np.ndarray:
    """Impurity importances of extra trees fitted to ``y`` on ``x`` (float32, Fortran order), one
    tree per seed: the mean over trees with at least one split of each tree's normalised
    importances, normalised to sum to 1 (ExtraTreesRegressor.feature_importances_); zeros when no
    tree splits (a constant target)."""
    from sklearn.tree import ExtraTreeRegressor

    y = np.ascontiguousarray(y, dtype=np.float64)
    total, n_split = np.zeros(x.shape[1]), 0
    for tree_seed in seeds:
        tree = ExtraTreeRegressor(random_state=int(tree_seed), **tree_options).fit(x, y, check_input=False)
        if tree.tree_.node_count > 1:
            total += tree.tree_.compute_feature_importances()
            n_split += 1
    norm = total.sum()
    return total / norm if n_split and norm > 0 else total


@register_baseline("random", needs_expression=False)
def random_scores(ds: GRNDataset, train_pairs, pairs: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Seeded uniform scores: the chance level every table should show next to the models."""
    return np.random.default_rng(seed).random(len(pairs))


# The annotation baselines (knowledge, knowledge_shuffled, knowledge_blind) register themselves.
import grnlib.evaluation.knowledge  # noqa: E402,F401
