"""Prior (case-control) correction: put each TF's base rate back into a model's logits.

A model fitted on a pair table learns the positive rate *of that table*. The released
Non-Specific and STRING training tables hold one negative per positive for every TF (rate 0.5 per
TF); the test tables hold every non-target (rate ~0.015), and ``grnlib predict`` ranks every
TF x gene pair. Such a model cannot know how many targets each TF has, which is exactly what the
degree floor carries. The standard correction (Prentice & Pyke 1979; King & Zeng 2001; "logit
adjustment", Menon et al. 2021) adds, per TF ``t``::

    log(pi_t / (1 - pi_t)) - log(rho_t / (1 - rho_t))

with ``pi_t`` the TF's training out-degree / number of candidate genes and ``rho_t`` its positive
fraction in the training table (:func:`grnlib.models.floors.base_rate_offsets`; smoothed, so both
are inside (0, 1)). Both come from the training table only. A TF without training rows keeps its
own ``pi`` (its training out-degree, 0, smoothed) and takes the pooled training ``rho``; the rule
(:data:`grnlib.models.floors.UNSEEN_TF_PI`) is chosen on validation by :mod:`grnlib.evaluation.floor_choices`:
the degree-feature logistic regression scores mean validation AUROC 0.962 with the TF's own ``pi`` and
0.939 with the pooled ``pi`` (12 development datasets x 5 released samples, results/beyond_floor/floor_choices.csv).

When it applies (spec key ``prior_correction``: ``"auto"`` (default), ``True``, ``False``):
``"auto"`` corrects when the training table's per-TF positive rate does not follow the TFs' base
rates, measured as the weighted slope of ``logit(rho_t)`` on ``logit(pi_t)`` across training TFs
(:attr:`BaseRates.slope`): below :data:`AUTO_SLOPE` (0.5) the table was sampled per TF
(case-control) and the correction is applied. Uniform random negatives (``seed`` protocol) and
tables that hold every gene of a TF (released Specific) have slope ~1: their per-TF offsets are
nearly one constant, which changes no ranking, so they are left alone. The correction is applied
to validation and test logits alike (so the threshold is chosen on the same scale), and under the
held-out-TF protocols it is one constant for all test TFs (none has training rows), so it changes
nothing there either.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from grnlib.errors import DataError
from grnlib.models.floors import base_rate_offsets
from grnlib.models.interface import LinkModel

MODES = ("auto", True, False)
AUTO_SLOPE = 0.5
UNCORRECTED_SUFFIX = " (uncorrected)"


def check_mode(value, source=None):
    """The spec value as ``"auto"``, True or False (None means ``"auto"``; the strings ``"true"``
    and ``"false"`` are accepted); anything else is a DataError naming ``source``."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        value = {"auto": "auto", "true": True, "false": False}.get(value.strip().lower(), value)
    if isinstance(value, bool) or value == "auto":
        return value
    raise DataError(source, f"prior_correction={value!r} is not one of 'auto', true, false",
                    "set prior_correction to auto (the default), true or false")


@dataclass
class PriorCorrection:
    """Per-TF logit offsets and whether they are applied.

    Attributes:
        offsets: float64 [n_genes] offset per gene id as a TF.
        applied: whether :meth:`apply` adds them.
        mode: the requested mode (``"auto"``, True, False).
        slope: :attr:`grnlib.models.floors.BaseRates.slope` of the training table.
        reason: one line saying why it is (not) applied.
    """

    offsets: np.ndarray
    applied: bool
    mode: object = "auto"
    slope: float = float("nan")
    reason: str = ""

    def apply(self, pairs: pd.DataFrame | np.ndarray, logits) -> np.ndarray:
        """``logits`` plus the TF's offset when applied (``pairs``: a pair table or TF ids)."""
        logits = np.asarray(logits, dtype=np.float64)
        if not self.applied:
            return logits
        tf = pairs["tf"].to_numpy(np.int64) if isinstance(pairs, pd.DataFrame) else np.asarray(pairs, np.int64)
        return logits + self.offsets[tf]

    def describe(self) -> dict:
        """Plain data for params/metrics (no arrays)."""
        return {"mode": self.mode, "applied": bool(self.applied), "slope": _finite_or_none(self.slope),
                "reason": self.reason}

    def state(self) -> tuple[str, dict]:
        """(JSON metadata, tensors) for a weights-only checkpoint."""
        return json.dumps(self.describe()), {"prior_offsets": torch.from_numpy(self.offsets.astype(np.float64))}

    @classmethod
    def from_state(cls, meta: str, tensors: dict) -> "PriorCorrection":
        info = json.loads(meta)
        return cls(offsets=tensors["prior_offsets"].double().numpy(), applied=bool(info["applied"]),
                   mode=info["mode"], slope=float("nan") if info["slope"] is None else info["slope"],
                   reason=info.get("reason", ""))


def _finite_or_none(value):
    return float(value) if value is not None and np.isfinite(value) else None


def fit_prior_correction(train_pairs: pd.DataFrame, n_genes: int, mode="auto",
                         edges: np.ndarray | None = None) -> PriorCorrection:
    """The correction of a training table (see the module docstring for ``mode``).

    ``edges`` (int [2, E]): the network whose out-degrees give ``pi`` (default the training
    positives; ``grnlib train`` stores one built from every prior edge for ``grnlib predict``).
    """
    mode = check_mode(mode)
    rates = base_rate_offsets(train_pairs, n_genes, edges=edges)
    slope = rates.slope
    if mode is True:
        applied, reason = True, "requested (prior_correction: true)"
    elif mode is False:
        applied, reason = False, "turned off (prior_correction: false)"
    elif np.isfinite(slope) and slope < AUTO_SLOPE:
        applied, reason = True, (f"per-TF sampled training table: slope of logit(rho) on logit(pi) is {slope:.2f} "
                                 f"< {AUTO_SLOPE}")
    else:
        applied = False
        reason = ("training table follows the TFs' base rates: slope of logit(rho) on logit(pi) is "
                  f"{slope:.2f} >= {AUTO_SLOPE}" if np.isfinite(slope) else "fewer than two TF base rates to compare")
    return PriorCorrection(offsets=rates.offsets, applied=applied, mode=mode, slope=slope, reason=reason)


class CorrectedModel(LinkModel):
    """A trained model whose logits get the per-TF offsets: ``forward = model(...) + offsets[tf]``.

    ``grnlib predict`` scores through it, so top-k selection and every score see the corrected
    logit. It scores pairs, never towers (``is_two_tower`` is False): the offset depends on the TF.
    """

    def __init__(self, model: nn.Module, correction: PriorCorrection):
        super().__init__()
        self.inner = model
        self.config = model.config
        self.uses_features = model.uses_features
        device = next(model.parameters()).device
        self.register_buffer("offsets", torch.as_tensor(correction.offsets, dtype=torch.float32, device=device))
        self.eval()

    def forward(self, tf_idx, gene_idx, features=None):
        return self.inner(tf_idx, gene_idx, features) + self.offsets[tf_idx]
