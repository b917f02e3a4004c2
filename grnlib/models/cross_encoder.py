"""Cross-encoder: one MLP reads the TF's and the gene's representations together.

It can model interactions a dot product cannot, but it must run once per *pair*, so scoring
all TF x gene pairs costs n_tf * n_gene MLP passes (two-tower models: n_tf + n_gene).
With the defaults (128-d learnable embeddings, 256 -> 256 -> 256 -> 1) the MLP has
131,841 parameters: the old code's ``BaselineModel`` (about 132K).
"""
from __future__ import annotations

from typing import Sequence

import torch

from grnlib.models.layers import GeneInput, check_dims, init_weights, make_mlp
from grnlib.models.interface import LinkModel, reads_inputs
from grnlib.models.registry import MODELS


class CrossEncoder(LinkModel):
    """MLP over ``concat(tf_input, gene_input)``: ``2*width -> hidden_dims... -> 1``."""


    def __init__(self, name: str, *, inputs: str, n_genes: int | None, in_features: int | None,
                 embedding_dim: int, hidden_dims: Sequence[int], dropout: float, init: str):
        super().__init__()
        hidden = check_dims(hidden_dims, dropout)
        self.tf_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
        self.gene_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
        self.mlp = make_mlp([2 * self.tf_input.width, *hidden, 1], dropout)
        init_weights(self, init)
        self.uses_features = self.tf_input.uses_features
        self.config = dict(name=name, inputs=inputs,
                           n_genes=int(n_genes) if n_genes else None,
                           in_features=self.tf_input.in_features,
                           embedding_dim=int(embedding_dim), hidden_dims=hidden,
                           dropout=float(dropout), init=init)

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """tf_idx, gene_idx: LongTensor [B]; features: [n_genes, in_features] or None -> logits [B]."""
        pair = torch.cat([self.tf_input(tf_idx, features), self.gene_input(gene_idx, features)], -1)
        return self.mlp(pair).squeeze(-1)


@MODELS.register("cross_encoder", reads_expression=reads_inputs)
def cross_encoder(*, n_genes: int | None = None, in_features: int | None = None,
                  inputs: str = "embedding", embedding_dim: int = 128,
                  hidden_dims: Sequence[int] = (256, 256), dropout: float = 0.0,
                  init: str = "default") -> CrossEncoder:
    """Old ``BaselineModel``: 3-layer MLP 256 -> 256 -> 256 -> 1 over two concatenated 128-d
    learnable embeddings (``inputs="expression"``/``"hybrid"`` read expression features)."""
    return CrossEncoder("cross_encoder", n_genes=n_genes, in_features=in_features, inputs=inputs,
                        embedding_dim=embedding_dim, hidden_dims=hidden_dims, dropout=dropout,
                        init=init)
