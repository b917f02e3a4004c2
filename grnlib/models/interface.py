"""The written model interface: what every link-prediction model is and says about itself.

A model maps ``(tf_idx [B], gene_idx [B], features [n_genes, d] | None)`` to logits ``[B]`` and
declares, as attributes rather than by being probed:

- ``uses_features``: whether it reads the per-gene expression feature matrix (False: pass None);
- ``is_two_tower``: whether it scores by two towers (``encode_tf``/``encode_gene``/
  ``score_embeddings``), so all-pairs scoring encodes each gene once; False: it scores pairs;
- ``prepare(ds, train_pairs)``: called once before training with the dataset and the training pair
  table (models that read the training graph store it here); a no-op otherwise;
- ``config``: plain data with ``"name"``, so ``build_model(**model.config)`` rebuilds it.

Every model family subclasses :class:`LinkModel` and is registered with
``MODELS.register(name, reads_expression=...)``: whether a configuration of it reads expression, known
before it is built (the run spec gives such a model the default features).
"""
from __future__ import annotations

from typing import Callable, Union

import torch
import torch.nn as nn

EXPRESSION_INPUTS = ("expression", "hybrid")  # per-gene inputs that read the feature matrix

#: ``reads_expression`` of a registered model: a constant, or a function of its complete config
#: (the factory's defaults updated with the given keys).
ReadsExpression = Union[bool, Callable[[dict], bool]]


class LinkModel(nn.Module):
    """Base of every link-prediction model; see the module docstring for the interface."""

    uses_features: bool = False
    is_two_tower: bool = False
    config: dict

    def prepare(self, ds, train_pairs) -> None:
        """Called once before training with the dataset and the training pair table; no-op by default."""

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_per_pair(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                         features: torch.Tensor | None = None) -> torch.Tensor:
        """Logits computed pair by pair (the reference a two-tower model's shared encoding is timed against)."""
        return self.forward(tf_idx, gene_idx, features)


def reads_inputs(cfg: dict) -> bool:
    """``reads_expression`` of a model whose ``inputs`` key chooses its per-gene input."""
    return cfg.get("inputs") in EXPRESSION_INPUTS


def reads_inputs_or_evidence(cfg: dict) -> bool:
    """``reads_expression`` of a model that also reads expression through its evidence groups."""
    return reads_inputs(cfg) or any(group in (cfg.get("evidence") or ()) for group in ("expression", "transfer"))
