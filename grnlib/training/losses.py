"""Binary losses on logits, built by name: ``build_loss("focal", alpha=0.25, gamma=2.0)``.

Every loss maps ``(logits [B], targets [B] in {0, 1})`` to a scalar (``reduction="mean"``,
``"sum"``) or to per-pair losses ``[B]`` (``reduction="none"``). All work on logits through
``logsigmoid``, so they stay finite for any logit (|x| = 100 included).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from grnlib.registry import Registry

LOSSES = Registry("loss")
REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not one of {REDUCTIONS}")
    return reduction


class BCELoss(nn.Module):
    """Binary cross-entropy ``-[y log p + (1-y) log(1-p)]``, p = sigmoid(logit)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits [B], targets [B] -> scalar (or [B] with reduction="none")."""
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype),
                                                  reduction=self.reduction)


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log p_t``.

    ``p_t`` is the probability of the true class and ``alpha_t = alpha`` for positives,
    ``1 - alpha`` for negatives (``alpha=None``: no class weighting). Easy examples
    (p_t near 1) are down-weighted by ``(1 - p_t)^gamma``; hard ones keep almost their full BCE
    times alpha_t. ``gamma=0`` gives alpha-weighted BCE.

    Stable on logits: ``log p_t`` and ``log(1 - p_t)`` are both logsigmoids, and the modulating
    factor is ``exp(gamma * log(1 - p_t))``, never ``(1 - sigmoid(x)) ** gamma``.
    """

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] or None, got {alpha}")
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.alpha, self.gamma = alpha, float(gamma)
        self.reduction = _check_reduction(reduction)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits [B], targets [B] -> scalar (or [B] with reduction="none")."""
        y = targets.to(logits.dtype)
        log_p, log_1mp = F.logsigmoid(logits), F.logsigmoid(-logits)
        log_pt = y * log_p + (1 - y) * log_1mp          # log prob of the true class
        log_1m_pt = y * log_1mp + (1 - y) * log_p       # log prob of the wrong class
        loss = -torch.exp(self.gamma * log_1m_pt) * log_pt
        if self.alpha is not None:
            loss = (self.alpha * y + (1 - self.alpha) * (1 - y)) * loss
        return _reduce(loss, self.reduction)


class WeightedBCELoss(nn.Module):
    """BCE with positives weighted by ``pos_weight`` (for imbalanced splits):
    ``-[w y log p + (1-y) log(1-p)]``.

    ``pos_weight="auto"`` means n_negative / n_positive of the training labels; the trainer
    sets it by calling :meth:`adapt` with the training labels before the first step.
    """

    def __init__(self, pos_weight: float | str = "auto", reduction: str = "mean"):
        super().__init__()
        if pos_weight != "auto" and not (isinstance(pos_weight, (int, float)) and pos_weight > 0):
            raise ValueError(f"pos_weight must be a positive number or 'auto', got {pos_weight!r}")
        self.pos_weight = pos_weight
        self.reduction = _check_reduction(reduction)

    def adapt(self, labels: torch.Tensor) -> None:
        """Resolve ``pos_weight="auto"`` from training labels [N] (no-op for a number)."""
        if self.auto:
            n_pos = int((labels > 0.5).sum())
            n_neg = int(labels.numel()) - n_pos
            if n_pos == 0 or n_neg == 0:
                raise ValueError("pos_weight='auto' needs both positive and negative "
                                 f"training labels, got {n_pos} positives and {n_neg} negatives")
            self.resolved_pos_weight = n_neg / n_pos

    @property
    def auto(self) -> bool:
        return self.pos_weight == "auto"

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits [B], targets [B] -> scalar (or [B] with reduction="none")."""
        weight = getattr(self, "resolved_pos_weight", None) if self.auto else self.pos_weight
        if weight is None:
            raise RuntimeError("weighted_bce with pos_weight='auto' was not adapted; call "
                               "loss.adapt(train_labels) first (grnlib.training.loop.fit does this)")
        w = torch.tensor(weight, dtype=logits.dtype, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype),
                                                  pos_weight=w, reduction=self.reduction)


@LOSSES.register("bce")
def bce(*, reduction: str = "mean") -> BCELoss:
    """Plain binary cross-entropy on logits."""
    return BCELoss(reduction)


@LOSSES.register("focal")
def focal(*, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean") -> FocalLoss:
    """Focal loss, alpha=0.25, gamma=2.0 (phase 4 of the old code)."""
    return FocalLoss(alpha, gamma, reduction)


@LOSSES.register("weighted_bce")
def weighted_bce(*, pos_weight: float | str = "auto", reduction: str = "mean") -> WeightedBCELoss:
    """BCE with positive-class weight; ``"auto"`` = n_neg / n_pos of the training labels."""
    return WeightedBCELoss(pos_weight, reduction)


def build_loss(name: str, **cfg) -> nn.Module:
    """Build a registered loss; unknown name or key raises ConfigError listing the valid ones."""
    return LOSSES.build(name, **cfg)
