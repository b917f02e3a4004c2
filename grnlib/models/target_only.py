"""The ``target_only`` control: a model that sees only the target gene.

Its inputs are the target's label-free representation (its expression/PCA row) and its
leave-one-out in-degree in the training graph; nothing about the TF enters the score (the TF id is
read only to leave the pair's own edge out of the count, as :class:`grnlib.models.context.TrainingGraph`
does for every model). What it reaches is what *target popularity* alone explains: a model that
beats the degree floor but not ``target_only`` has learned which genes are targets, not which TF
regulates them. See :mod:`grnlib.evaluation.controls`.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from grnlib.models.context import TrainingGraph, positive_edges_of
from grnlib.models.layers import GeneInput, check_dims, init_weights, make_mlp
from grnlib.models.interface import LinkModel, reads_inputs
from grnlib.models.registry import MODELS


class TargetOnlyModel(LinkModel):
    """logit = MLP([BN(log(1 + leave-one-out in-degree of the target)), Linear(target input)])."""


    def __init__(self, *, inputs: str, n_genes: int | None, in_features: int | None, embedding_dim: int,
                 proj_dim: int, hidden_dims: Sequence[int], dropout: float, init: str):
        super().__init__()
        if not n_genes:
            raise ValueError("target_only needs n_genes (size of the gene id space) for its training graph")
        hidden = check_dims(hidden_dims, dropout)
        self.graph = TrainingGraph(n_genes)
        self.degree_norm = nn.BatchNorm1d(1, affine=False)
        self.gene_input = None if inputs == "none" else GeneInput(inputs, n_genes, in_features, embedding_dim)
        width = 1
        if self.gene_input is not None:
            self.gene_proj = nn.Linear(self.gene_input.width, proj_dim)
            width += proj_dim
        self.mlp = make_mlp([width, *hidden, 1], dropout)
        init_weights(self, init)
        self.uses_features = inputs in ("expression", "hybrid")
        self.config = dict(name="target_only", inputs=inputs, n_genes=int(n_genes),
                           in_features=int(in_features) if in_features and self.uses_features else None,
                           embedding_dim=int(embedding_dim), proj_dim=int(proj_dim), hidden_dims=hidden,
                           dropout=float(dropout), init=init)

    def prepare(self, ds, train_pairs) -> None:
        """Store the training positives (the in-degrees are counted on them)."""
        self.graph.set_edges(positive_edges_of(train_pairs))

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        # column 1 of the degree evidence: the target's in-degree without the pair's own edge
        in_degree = self.graph.pair_evidence(tf_idx, gene_idx, ("degree",), None, "edge")[:, 1:2]
        parts = [self.degree_norm(in_degree)]
        if self.gene_input is not None:
            parts.append(self.gene_proj(self.gene_input(gene_idx, features)))
        return self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)


@MODELS.register("target_only", reads_expression=reads_inputs)
def target_only(*, n_genes: int | None = None, in_features: int | None = None, inputs: str = "expression",
                embedding_dim: int = 32, proj_dim: int = 32, hidden_dims: Sequence[int] = (64, 64),
                dropout: float = 0.1, init: str = "default") -> TargetOnlyModel:
    """The target-only control: the target's expression row (``inputs``; ``"none"``: in-degree only)
    projected to ``proj_dim`` and its leave-one-out training in-degree, MLP -> 64 -> 64 -> 1."""
    return TargetOnlyModel(inputs=inputs, n_genes=n_genes, in_features=in_features, embedding_dim=embedding_dim,
                           proj_dim=proj_dim, hidden_dims=hidden_dims, dropout=dropout, init=init)
