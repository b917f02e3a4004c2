"""Stacked ensembles across model families, fitted on validation pairs only.

A stack is a run spec of kind ``"stack"`` (a preset with a ``stack`` list of member names, see
:data:`grnlib.evaluation.presets.PRESETS`). :func:`grnlib.evaluation.experiment.evaluate_split`
scores every member first (each is also reported on its own), then :func:`fit_stack` fits a
logistic regression of the validation labels on the members' standardised validation scores; the
test score is its logit. Test labels never enter.

Members are stacked on the scale they were trained on (a model's *uncorrected* logits), and the
stack's own logit then gets the prior correction like any model (:mod:`grnlib.evaluation.correction`):
the validation tables of the released splits are sampled like the training tables (one negative
per positive per TF), so weights fitted there are weights for that sampling, and the correction
moves the result to the scored population.

The validation metrics of a stack (``val_auroc``, the decision threshold) come from 5-fold
cross-fitted validation scores, so choosing on validation does not favour the stack for having
seen the validation labels. The stack's cost (``seconds``) is its members' seconds plus its fit.
"""
from __future__ import annotations

import numpy as np

N_FOLDS = 5


def _standardise(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (x - mean) / scale


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    if len(np.unique(y)) < 2:
        return mean, scale, None
    model = LogisticRegression(C=c, max_iter=1000).fit(_standardise(x, mean, scale), y)
    return mean, scale, model


def _decision(fitted, x: np.ndarray) -> np.ndarray:
    mean, scale, model = fitted
    if model is None:
        return np.zeros(len(x))
    return model.decision_function(_standardise(x, mean, scale))


def fit_stack(y_val, val_scores: list, test_scores: list, c: float = 1.0, seed: int = 0) -> dict:
    """Stack member scores with a logistic regression fitted on validation pairs.

    Args:
        y_val: [n_val] validation labels.
        val_scores, test_scores: one [n_val] / [n_test] score vector per member (same order).
        c: inverse L2 strength of the logistic regression.
        seed: seeds the cross-fitting folds.

    Returns:
        dict(test = [n_test] stacked logits (fitted on all validation pairs), val = [n_val]
        cross-fitted validation logits (each pair scored by a fit without it), weights = [k]
        coefficients on the standardised members, intercept).
    """
    y = np.asarray(y_val, dtype=np.int64)
    x_val = np.column_stack([np.asarray(s, dtype=np.float64) for s in val_scores])
    x_test = np.column_stack([np.asarray(s, dtype=np.float64) for s in test_scores])
    full = _fit(x_val, y, c)
    oof = np.zeros(len(y))
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):  # stratified: every fold keeps both classes where possible
        where = np.flatnonzero(y == label)
        folds[where] = rng.permutation(where.size) % N_FOLDS
    for k in range(N_FOLDS):
        held = folds == k
        if held.any():
            oof[held] = _decision(_fit(x_val[~held], y[~held], c), x_val[held])
    model = full[2]
    weights = model.coef_.ravel() if model is not None else np.zeros(x_val.shape[1])
    intercept = float(model.intercept_[0]) if model is not None else 0.0
    return {"test": _decision(full, x_test), "val": oof, "weights": weights, "intercept": intercept}
