"""A stacked ensemble as one model: the floors and trained members blended with fixed weights.

``logit = intercept + sum_k weights[k] * (score_k - mean[k]) / scale[k]`` where ``score_k`` is

- ``degree``: ``log(1 + TF out-degree) + log(1 + target in-degree)`` over the training positives
  (:func:`grnlib.evaluation.baselines.degree_scores`);
- ``edge_prior``: the XSwap edge prior's logit at the pair's training degrees
  (:class:`grnlib.models.floors.EdgePrior`, its grid kept as buffers);
- a trained member model's logit, plus its per-TF prior-correction offsets when it was evaluated
  corrected (:mod:`grnlib.evaluation.correction`).

The blend numbers are fitted on validation by :func:`grnlib.evaluation.stacking.fit_stack`; this module
only scores, so ``grnlib predict`` ranks with a stack like with any model, and a model folder holds the
members' weights in one ``model.pt``. Built by :func:`grnlib.evaluation.stacking.stacked_model`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from grnlib.models.context import _bilinear
from grnlib.models.interface import LinkModel
from grnlib.models.registry import COMPOSED, MODELS, ConfigError, reads_expression

FLOOR_MEMBERS = ("degree", "edge_prior")


class StackedModel(LinkModel):
    """Floors and member models blended with fixed weights; see the module docstring."""

    # not a two-tower model (LinkModel's default): the floors and offsets are per pair

    def __init__(self, members: list, blend: dict, n_genes: int, in_features: int | None = None):
        super().__init__()
        if not n_genes:
            raise ValueError("stacked needs n_genes (size of the gene id space)")
        names = [m["name"] for m in members]
        if list(blend["members"]) != names:
            raise ConfigError(f"blend members {blend['members']} do not match the stack's members {names}")
        models = [m for m in members if m["name"] not in FLOOR_MEMBERS]
        if any("model" not in m for m in models):
            raise ConfigError(f"stack members other than {FLOOR_MEMBERS} need a 'model' config; got {names}")
        self.members = nn.ModuleList(MODELS.build(**m["model"]) for m in models)
        self.uses_features = any(m.uses_features for m in self.members)
        for name in ("weights", "intercept", "mean", "scale"):
            self.register_buffer(name, torch.as_tensor(blend[name], dtype=torch.float64))
        self.register_buffer("out_degree", torch.zeros(int(n_genes), dtype=torch.float64))
        self.register_buffer("in_degree", torch.zeros(int(n_genes), dtype=torch.float64))
        self.register_buffer("prior_out_axis", torch.zeros(1, dtype=torch.float64))  # edge prior grid, log1p units
        self.register_buffer("prior_in_axis", torch.zeros(1, dtype=torch.float64))
        self.register_buffer("prior_grid", torch.zeros(1, 1, dtype=torch.float64))
        self.register_buffer("offsets", torch.zeros(len(models), int(n_genes), dtype=torch.float64))
        self._register_load_state_dict_pre_hook(self._resize)
        self.config = dict(name="stacked", members=[dict(m) for m in members], blend=dict(blend),
                           n_genes=int(n_genes), in_features=in_features)

    def _resize(self, state_dict, prefix, *args):
        for name in ("prior_out_axis", "prior_in_axis", "prior_grid"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.zeros_like(saved))

    def set_floors(self, out_degree, in_degree, edge_prior=None) -> None:
        """Training degrees [n_genes] and the fitted :class:`~grnlib.models.floors.EdgePrior` (if a member)."""
        self.out_degree = torch.as_tensor(out_degree, dtype=torch.float64)
        self.in_degree = torch.as_tensor(in_degree, dtype=torch.float64)
        if edge_prior is not None:
            self.prior_out_axis = torch.log1p(torch.as_tensor(edge_prior.out_values, dtype=torch.float64))
            self.prior_in_axis = torch.log1p(torch.as_tensor(edge_prior.in_values, dtype=torch.float64))
            self.prior_grid = torch.as_tensor(edge_prior.grid_logit, dtype=torch.float64)

    def set_offsets(self, index: int, offsets) -> None:
        """Per-TF offsets [n_genes] added to member model ``index`` (its prior correction)."""
        self.offsets[index] = torch.as_tensor(offsets, dtype=torch.float64)

    def member_scores(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor, features=None) -> list:
        """Each member's score [B] (float64), in member order."""
        log_out = torch.log1p(self.out_degree[tf_idx])
        log_in = torch.log1p(self.in_degree[gene_idx])
        scores, k = [], 0
        for member in self.config["members"]:
            if member["name"] == "degree":
                scores.append(log_out + log_in)
            elif member["name"] == "edge_prior":
                scores.append(_bilinear(self.prior_out_axis, self.prior_in_axis, self.prior_grid, log_out, log_in))
            else:
                logit = self.members[k](tf_idx, gene_idx, features).double()
                scores.append(logit + self.offsets[k][tf_idx])
                k += 1
        return scores

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.stack(self.member_scores(tf_idx, gene_idx, features), dim=1)
        return (self.intercept + ((x - self.mean) / self.scale) @ self.weights).float()


def _stack_reads_expression(cfg: dict) -> bool:
    return any(reads_expression(m["model"]["name"], m["model"]) for m in cfg.get("members") or () if "model" in m)


@COMPOSED.register("stacked", reads_expression=_stack_reads_expression)
def stacked(*, members: list | None = None, blend: dict | None = None, n_genes: int | None = None,
            in_features: int | None = None, inputs: str | None = None, hidden_dims=None) -> StackedModel:
    """A stack of floors and trained members (built by :func:`grnlib.evaluation.stacking.stacked_model`);
    without ``members`` and ``blend`` the degree floor alone. ``inputs`` and ``hidden_dims``, the keys every
    model has, are not used."""
    if members is None and blend is None:
        members = [{"name": "degree"}]
        blend = {"members": ["degree"], "weights": [1.0], "intercept": 0.0, "mean": [0.0], "scale": [1.0]}
    return StackedModel(members, blend, n_genes, in_features)
