"""Nested validation: every choice a scorer makes on validation is made on one half of the validation
pairs and scored on the other, so scorers of different kinds are ranked on one footing.

A trained model's plain validation AUROC is optimistic: its best epoch was chosen on those very pairs
(on the issue-18 grid, +0.03 to +0.05 AUROC over its test gap on networks of 150-300 edges). A stack's
is pessimistic: its cross-fitted validation logits splice five fits whose scales differ (-0.02 to -0.12
there). Choosing an alias by either mixes the two biases. Here every scorer gets two validation score
vectors, ``chosen[0]`` with every choice made on half A (the epoch with the best AUROC on A, stack
weights fitted on A) and ``chosen[1]`` on half B; the nested metric is the mean of the first's metric on
half B and the second's on half A. Baselines choose nothing: both vectors are their validation scores.
The halves are whole validation TFs (:func:`grnlib.evaluation.protocols.validation_halves`), as test
TFs are scored apart from the TFs that chose anything.
"""
from __future__ import annotations

import numpy as np

NESTED_METRICS = ("val_nested_auroc", "val_nested_auprc")


def nested_metrics(y: np.ndarray, half_a: np.ndarray, chosen) -> dict:
    """``{val_nested_auroc, val_nested_auprc}``: the mean over the two halves of the metric on one half
    of the scores chosen on the other; NaN where ``chosen`` is None (nothing was recorded) or a half has one
    class."""
    from grnlib.evaluation.metrics import auprc, auroc

    if chosen is None:
        return dict.fromkeys(NESTED_METRICS, float("nan"))
    y = np.asarray(y)
    scored = [(np.asarray(chosen[0])[~half_a], y[~half_a]), (np.asarray(chosen[1])[half_a], y[half_a])]
    values = {}
    for name, metric in zip(NESTED_METRICS, (auroc, auprc)):
        per_half = [metric(labels, scores) if np.unique(labels).size == 2 else float("nan")
                    for scores, labels in scored]
        values[name] = float(np.mean(per_half))
    return values
