"""Losses: closed-form focal loss, its limits, weighted BCE and the registry."""
import math

import pytest
import torch
import torch.nn.functional as F

from grnlib.training.losses import LOSSES, build_loss
from grnlib.models import ConfigError

LOGITS = [-3.0, -0.5, 0.0, 0.5, 3.0, 1.2]
TARGETS = [0, 1, 1, 0, 1, 0]


def focal_by_hand(x, y, alpha, gamma):
    """-alpha_t (1 - p_t)^gamma log(p_t), written out with math (no torch)."""
    p = 1 / (1 + math.exp(-x))
    p_t = p if y == 1 else 1 - p
    alpha_t = alpha if y == 1 else 1 - alpha
    return -alpha_t * (1 - p_t) ** gamma * math.log(p_t)


def bce_by_hand(x, y):
    p = 1 / (1 + math.exp(-x))
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def tensors(logits, targets):
    return (torch.tensor(logits, dtype=torch.float64), torch.tensor(targets, dtype=torch.float64))


def test_focal_equals_closed_form():
    x, y = tensors(LOGITS, TARGETS)
    for alpha, gamma in ((0.25, 2.0), (0.6, 1.5), (0.5, 0.0)):
        expected = [focal_by_hand(a, b, alpha, gamma) for a, b in zip(LOGITS, TARGETS)]
        per_pair = build_loss("focal", alpha=alpha, gamma=gamma, reduction="none")(x, y)
        assert per_pair.tolist() == pytest.approx(expected, rel=1e-12)
        mean = build_loss("focal", alpha=alpha, gamma=gamma)(x, y)
        assert mean.item() == pytest.approx(sum(expected) / len(expected), rel=1e-12)


def test_focal_defaults_are_alpha_quarter_gamma_two():
    loss = build_loss("focal")
    assert (loss.alpha, loss.gamma) == (0.25, 2.0)


def test_focal_downweights_easy_and_keeps_hard_examples():
    focal = build_loss("focal", reduction="none")
    bce = build_loss("bce", reduction="none")
    easy = tensors([6.0, -6.0], [1, 0])
    hard = tensors([-4.0, 4.0], [1, 0])
    assert (focal(*easy) < 1e-3 * bce(*easy)).all()
    # Hard examples keep almost all of their alpha-weighted BCE: (1 - p_t)^2 is ~0.96.
    alpha_t = torch.tensor([0.25, 0.75], dtype=torch.float64)
    ratio = focal(*hard) / (alpha_t * bce(*hard))
    assert (ratio > 0.95).all() and (ratio <= 1).all()


def test_focal_with_gamma_zero_is_alpha_weighted_bce():
    x, y = tensors(LOGITS, TARGETS)
    alpha = 0.3
    weights = torch.where(y == 1, torch.tensor(alpha, dtype=torch.float64), 1 - alpha)
    expected = (weights * F.binary_cross_entropy_with_logits(x, y, reduction="none")).mean()
    got = build_loss("focal", alpha=alpha, gamma=0.0)(x, y)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    unweighted = build_loss("focal", alpha=None, gamma=0.0)(x, y)
    torch.testing.assert_close(unweighted, F.binary_cross_entropy_with_logits(x, y))


def test_losses_are_finite_on_extreme_logits():
    x = torch.tensor([-100.0, 100.0, -100.0, 100.0], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0])
    for name in LOSSES.names():
        kwargs = {"pos_weight": 2.0} if name == "weighted_bce" else {}
        loss = build_loss(name, **kwargs)(x, y)
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(loss) and torch.isfinite(grad).all(), name
    wrong = build_loss("focal", reduction="none")(x, y)[:2]
    torch.testing.assert_close(wrong, torch.tensor([0.25 * 100, 0.75 * 100]), rtol=1e-5, atol=0)


def test_bce_matches_hand_computation():
    x, y = tensors(LOGITS, TARGETS)
    expected = sum(bce_by_hand(a, b) for a, b in zip(LOGITS, TARGETS)) / len(LOGITS)
    assert build_loss("bce")(x, y).item() == pytest.approx(expected, rel=1e-12)


def test_weighted_bce_fixed_and_auto_pos_weight():
    x, y = tensors(LOGITS, TARGETS)
    expected = sum((3.0 if b else 1.0) * bce_by_hand(a, b)
                   for a, b in zip(LOGITS, TARGETS)) / len(LOGITS)
    assert build_loss("weighted_bce", pos_weight=3.0)(x, y).item() == pytest.approx(expected)
    auto = build_loss("weighted_bce")
    with pytest.raises(RuntimeError, match="adapt"):
        auto(x, y)
    auto.adapt(torch.tensor([1.0, 0.0, 0.0, 0.0]))  # 3 negatives per positive
    assert auto(x, y).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="positive"):
        build_loss("weighted_bce").adapt(torch.zeros(5))


def test_registry_errors_list_valid_names_and_keys():
    with pytest.raises(ConfigError) as err:
        build_loss("hinge")
    assert all(name in str(err.value) for name in ("bce", "focal", "weighted_bce"))
    with pytest.raises(ConfigError) as err:
        build_loss("focal", beta=1.0)
    assert "alpha" in str(err.value) and "gamma" in str(err.value)
