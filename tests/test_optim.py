"""Optimizers, weight-decay groups, warm-up + cosine schedule and gradient clipping."""
import io
import math

import pytest
import torch
import torch.nn as nn

from grnlib.models import ConfigError
from grnlib.training.optim import (build_optimizer, build_scheduler, clip_gradients, parameter_groups,
                          warmup_cosine_factor)


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.linear = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)


def expected_lr(step, base, warmup, total, floor):
    """The schedule written out: linear ramp, then half a cosine from base to floor*base."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / (total - warmup - 1))
    return base * (floor + (1 - floor) * (1 + math.cos(math.pi * t)) / 2)


def test_warmup_cosine_values_at_chosen_steps():
    model = nn.Linear(2, 1)
    optimizer = build_optimizer("sgd", model, lr=0.1)
    scheduler = build_scheduler("warmup_cosine", optimizer, warmup_steps=5, total_steps=20,
                                min_lr_ratio=0.1)
    seen = []
    for _ in range(25):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    for step, lr in enumerate(seen):
        assert lr == pytest.approx(expected_lr(step, 0.1, 5, 20, 0.1), rel=1e-12)
    assert seen[0] == pytest.approx(0.02)       # first warm-up step
    assert seen[4] == pytest.approx(0.1)        # warm-up reaches the peak
    assert seen[12] == pytest.approx(0.055)     # half-way through the cosine
    assert seen[19] == pytest.approx(0.01)      # floor at the last step
    assert seen[24] == pytest.approx(0.01)      # and after it
    assert warmup_cosine_factor(3, 0, 10, 0.0) == pytest.approx((1 + math.cos(math.pi / 3)) / 2)


def test_constant_schedule_keeps_lr():
    optimizer = build_optimizer("adamw", nn.Linear(2, 1), lr=0.003)
    scheduler = build_scheduler("constant", optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.003


def test_scheduler_state_is_plain_data():
    optimizer = build_optimizer("sgd_momentum", nn.Linear(2, 1))
    scheduler = build_scheduler("warmup_cosine", optimizer, warmup_steps=2, total_steps=9)
    buffer = io.BytesIO()
    torch.save({"s": scheduler.state_dict(), "o": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert state["s"]["lr_lambdas"][0] == {"warmup_steps": 2, "total_steps": 9, "min_lr_ratio": 0.0}


def test_clipping_caps_global_norm():
    params = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2, 2))]
    params[0].grad = torch.tensor([3.0, 4.0, 0.0])
    params[1].grad = torch.full((2, 2), 6.0)
    before = clip_gradients(params, 1.0)
    assert before.item() == pytest.approx(13.0)  # sqrt(9 + 16 + 4 * 36)
    after = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
    assert after.item() == pytest.approx(1.0, rel=1e-5)
    assert params[0].grad[0].item() == pytest.approx(3.0 / 13.0, rel=1e-5)  # direction kept


def test_clipping_leaves_small_gradients_and_none_disables():
    p = nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([0.3, 0.4])
    clip_gradients([p], 1.0)
    assert p.grad.tolist() == pytest.approx([0.3, 0.4])
    p.grad = torch.tensor([30.0, 40.0])
    assert clip_gradients([p], None).item() == pytest.approx(50.0)
    assert p.grad.tolist() == [30.0, 40.0]


def test_weight_decay_groups_exclude_biases_and_norms():
    groups = parameter_groups(Small(), weight_decay=0.1)
    by_decay = {g["weight_decay"]: set(g["names"]) for g in groups}
    assert by_decay[0.1] == {"embedding.weight", "linear.weight"}
    assert by_decay[0.0] == {"linear.bias", "norm.weight", "norm.bias"}


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "adamw"])
def test_weight_decay_leaves_biases_alone(name):
    model = Small()
    with torch.no_grad():
        model.linear.bias.fill_(1.0)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    optimizer = build_optimizer(name, model, lr=0.5, weight_decay=0.2)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # only weight decay moves anything
    optimizer.step()
    after = dict(model.named_parameters())
    for key in ("linear.bias", "norm.weight", "norm.bias"):
        assert torch.equal(after[key], before[key]), key
    for key in ("linear.weight", "embedding.weight"):
        torch.testing.assert_close(after[key], before[key] * (1 - 0.5 * 0.2))


def test_optimizer_defaults_and_errors():
    model = nn.Linear(2, 1)
    assert build_optimizer("sgd", model).param_groups[0]["momentum"] == 0.0
    assert build_optimizer("sgd_momentum", model).param_groups[0]["momentum"] == 0.9
    assert build_optimizer("sgd", model, momentum=0.5).param_groups[0]["momentum"] == 0.5
    with pytest.raises(ConfigError) as err:
        build_optimizer("lbfgs", model)
    assert all(n in str(err.value) for n in ("sgd", "sgd_momentum", "adamw"))
    with pytest.raises(ConfigError, match="betas"):
        build_optimizer("adamw", model, momentum=0.9)
    with pytest.raises(ConfigError, match="warmup_cosine"):
        build_scheduler("step", build_optimizer("sgd", model))
