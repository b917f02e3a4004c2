"""Controls that separate regulation from target popularity (issue 18; ``09_beyond_the_floor``).

A gain over the degree floor can come from knowing *which genes are targets* (popularity) rather
than *which TF regulates them*. Three controls, each a run name the sweep and ``grnlib evaluate``
take like any model:

``target_only``
    A model that sees only the target gene: its expression features and its training in-degree
    (:mod:`grnlib.models.target_only`). A model's gain over ``target_only`` is what it knows about
    the TF.
``tf_shuffled`` (``tf_shuffled_heldout``)
    Pair evidence (its ``_heldout`` variant) trained on a table whose TF identities are permuted
    among the training TFs: each TF's rows (positives and negatives) become another training TF's,
    so target popularity survives and TF-target specificity does not. Validation and test are
    untouched.
``expression_permuted`` (``expression_permuted_heldout``)
    Pair evidence trained and scored on expression whose values are permuted across cells, each
    gene independently (co-expression destroyed, every gene's distribution kept; sparse matrices
    stay sparse). What survives comes from the training graph, not from expression.

A control with a data transform resolves (:func:`grnlib.evaluation.spec.resolve_spec`) to a run spec of
kind ``"control"`` (``model``: the transform, ``base``: the resolved model spec it wraps);
:func:`grnlib.evaluation.experiment.build_run` applies the transform (:func:`apply_control`) and
builds the base on the result. Transforms are registered by name in :data:`CONTROLS`.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from grnlib.evaluation.baselines import ScorerInfo
from grnlib.evaluation.presets import FAST_TRAIN
from grnlib.features import DEFAULT_FEATURES
from grnlib.registry import Registry

CONTROLS = Registry("control", info=ScorerInfo)
"""Data transforms ``(ds, split, seed) -> (ds, split)`` applied before a control's base model trains."""

CONTROL_PRESETS: dict[str, dict] = {
    "target_only": {"model": "target_only", "features": dict(DEFAULT_FEATURES), "train": dict(FAST_TRAIN)},
    **{f"{control}{suffix}": {"control": control, "of": f"pair_evidence{suffix}"}
       for control in ("tf_shuffled", "expression_permuted") for suffix in ("", "_heldout")},
}
"""Run names of the controls: ``target_only`` is a plain model preset; the others wrap the model
named by ``of`` in the data transform named by ``control`` (:data:`CONTROLS`)."""
CONTROL_NAMES = ("target_only", "tf_shuffled", "expression_permuted")


def apply_control(name: str, ds, split: dict, seed: int = 0):
    """``(ds, split)`` as control ``name`` transforms them, seeded by ``seed``."""
    return CONTROLS[name](ds, split, seed=seed)


@CONTROLS.register("tf_shuffled", needs_expression=False)
def shuffle_training_tfs(ds, split: dict, seed: int = 0):
    """The training table with its TF identities permuted among the training TFs (every row of TF
    ``a`` becomes a row of TF ``perm(a)``); rows that became self-pairs are dropped. Validation
    and test are unchanged."""
    train = split["train"]
    tfs = np.unique(train["tf"].to_numpy())
    rng = np.random.default_rng([int(seed), 18])
    relabel = pd.Series(rng.permutation(tfs), index=tfs)
    shuffled = train.assign(tf=relabel.reindex(train["tf"].to_numpy()).to_numpy().astype(np.int64))
    shuffled = shuffled[shuffled["tf"] != shuffled["target"]]
    shuffled = shuffled.sort_values(["tf", "target"], kind="stable").reset_index(drop=True)
    return ds, {**split, "train": shuffled}


@CONTROLS.register("expression_permuted", needs_expression=True)
def permute_expression(ds, split: dict, seed: int = 0):
    """``ds`` with each gene's expression values permuted across cells, independently per gene
    (:func:`permute_cells`); the split is unchanged."""
    import anndata as ad

    if not ds.has_expression:
        from grnlib.errors import DataError

        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no expression to permute",
                        "run expression_permuted on a dataset with expression")
    x = permute_cells(ds.expression.X, seed)
    expression = ad.AnnData(X=x, obs=ds.expression.obs.copy(), var=ds.expression.var.copy())
    return dataclasses.replace(ds, expression=expression, meta={**ds.meta, "control": "expression_permuted"}), split


def permute_cells(x, seed: int = 0):
    """A cells x genes matrix whose every column (gene) is independently permuted across the rows
    (cells). Sparse input stays sparse (each gene's stored values move to a random set of cells of
    the same size, which is what a permutation does to them), in the input's format."""
    import scipy.sparse as sp

    rng = np.random.default_rng([int(seed), 19])
    if not sp.issparse(x):
        return rng.permuted(np.asarray(x), axis=0)
    csc = x.tocsc(copy=True)
    csc.sum_duplicates()
    n_cells = csc.shape[0]
    for j in range(csc.shape[1]):
        start, stop = csc.indptr[j], csc.indptr[j + 1]
        if stop > start:
            csc.indices[start:stop] = rng.choice(n_cells, size=stop - start, replace=False)
    csc.has_sorted_indices = False
    csc.sort_indices()
    return csc.asformat(x.format)
