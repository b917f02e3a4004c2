"""Graph encoder over the training network (GraphSAGE-style, GENELink in spirit), plain torch.

Each gene starts from its label-free input (expression/PCA row, or an embedding) projected to
``hidden_dim``; each layer mixes three directed views::

    h'_v = ReLU(W_self h_v + W_reg mean_{r -> v} h_r + W_tgt mean_{v -> t} h_t)

(regulators r of v and targets t of v, over the *training positives only*, stored by
``prepare(ds, train_pairs)``). A pair is scored by an MLP over ``[h_tf, h_gene, h_tf * h_gene]``
and, optionally, the leave-one-out pair evidence of :mod:`grnlib.models.pair_evidence`.
In training, the edges of the pairs in the batch are removed from the graph for that step,
so a positive is never predicted from a message that travelled along itself (test edges are
never in the graph at all); ``hide="tf"`` removes all out-edges of the batch's TFs instead,
which trains for held-out TFs.

Size: input projection ``width*h + h``; per layer ``3*(h*h + h)``; scorer
``3h + k -> hidden_dims... -> 1`` (default one hidden layer of 64).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from grnlib.models.context import HIDE_MODES, TrainingGraph, evidence_columns, positive_edges_of
from grnlib.models.layers import GeneInput, check_dims, init_weights, make_mlp
from grnlib.models.interface import LinkModel, reads_inputs_or_evidence
from grnlib.models.registry import MODELS


def _mean_aggregate(messages: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Mean of ``messages`` [E, h] per destination ``index`` [E] -> [n, h] (zeros where none)."""
    total = torch.zeros(n, messages.shape[1], device=messages.device, dtype=messages.dtype)
    total.index_add_(0, index, messages)
    count = torch.zeros(n, device=messages.device).index_add_(0, index, torch.ones_like(index, dtype=torch.float))
    return total / count.clamp(min=1)[:, None]


class GraphSAGEModel(LinkModel):
    """Directed GraphSAGE encoder over the training graph + MLP pair scorer (see module docstring)."""


    def __init__(self, name: str, *, inputs: str, n_genes: int | None, in_features: int | None,
                 embedding_dim: int, hidden_dim: int, n_layers: int, hidden_dims: Sequence[int],
                 evidence: Sequence[str], hide: str,
                 dropout: float, init: str):
        super().__init__()
        if not n_genes:
            raise ValueError(f"{name} needs n_genes (size of the gene id space) for its graph")
        if n_layers < 0 or hidden_dim < 1:
            raise ValueError(f"n_layers must be >= 0 and hidden_dim >= 1, got {n_layers}, {hidden_dim}")
        if hide not in HIDE_MODES:
            raise ValueError(f"hide={hide!r} is not one of {HIDE_MODES}")
        self.n_genes, self.hide = int(n_genes), hide
        self.graph = TrainingGraph(n_genes)
        self.node_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
        self.input_proj = nn.Linear(self.node_input.width, hidden_dim)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"self": nn.Linear(hidden_dim, hidden_dim), "reg": nn.Linear(hidden_dim, hidden_dim),
                           "tgt": nn.Linear(hidden_dim, hidden_dim)}) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.columns = evidence_columns(evidence)  # raises on unknown groups
        self.evidence = [g for g in ("degree", "expression", "transfer", "topology") if g in set(evidence)]
        self.evidence_norm = nn.BatchNorm1d(len(self.columns), affine=False) if self.columns else None
        scorer_hidden = check_dims(hidden_dims, dropout)
        self.scorer = make_mlp([3 * hidden_dim + len(self.columns), *scorer_hidden, 1])
        init_weights(self, init)
        self.uses_features = (self.node_input.uses_features
                              or any(g in self.evidence for g in ("expression", "transfer")))
        self.config = dict(name=name, inputs=inputs, n_genes=self.n_genes,
                           in_features=int(in_features) if in_features and self.uses_features else None,
                           embedding_dim=int(embedding_dim), hidden_dim=int(hidden_dim),
                           n_layers=int(n_layers), hidden_dims=scorer_hidden, evidence=list(self.evidence), hide=hide,
                           dropout=float(dropout), init=init)

    def prepare(self, ds, train_pairs) -> None:
        """Store the training positives of ``train_pairs`` as the message-passing graph."""
        self.graph.set_edges(positive_edges_of(train_pairs))

    def message_edges(self, tf_idx: torch.Tensor | None = None,
                      gene_idx: torch.Tensor | None = None) -> torch.Tensor:
        """The training edges [2, E'] used for messages; without the given pairs' edges when given
        (``hide="tf"``: without every out-edge of the given pairs' TFs)."""
        edges = self.graph.neighbour_lists()
        if tf_idx is None or edges.shape[1] == 0:
            return edges
        if self.hide == "tf":
            return edges[:, ~torch.isin(edges[0], tf_idx)]
        codes = edges[0] * self.n_genes + edges[1]
        batch = tf_idx * self.n_genes + gene_idx
        return edges[:, ~torch.isin(codes, batch)]

    def encode_nodes(self, features: torch.Tensor | None, edges: torch.Tensor) -> torch.Tensor:
        """Every gene's representation [n_genes, hidden_dim] after message passing over ``edges``."""
        ids = torch.arange(self.n_genes, device=self.input_proj.weight.device)
        h = self.input_proj(self.node_input(ids, features))
        src, dst = edges[0], edges[1]
        for layer in self.layers:
            from_regulators = _mean_aggregate(layer["reg"](h)[src], dst, self.n_genes)
            from_targets = _mean_aggregate(layer["tgt"](h)[dst], src, self.n_genes)
            h = self.dropout(torch.relu(layer["self"](h) + from_regulators + from_targets))
        return h

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """tf_idx, gene_idx: LongTensor [B]; features: [n_genes, d] or None -> logits [B]."""
        edges = self.message_edges(tf_idx, gene_idx) if self.training else self.message_edges()
        h = self.encode_nodes(features, edges)
        h_tf, h_gene = h[tf_idx], h[gene_idx]
        parts = [h_tf, h_gene, h_tf * h_gene]
        if self.columns:
            evidence = self.graph.pair_evidence(tf_idx, gene_idx, self.evidence, features, self.hide)
            parts.append(self.evidence_norm(evidence))
        return self.scorer(torch.cat(parts, dim=-1)).squeeze(-1)


@MODELS.register("graph_sage", reads_expression=reads_inputs_or_evidence)
def graph_sage(*, n_genes: int | None = None, in_features: int | None = None, inputs: str = "expression",
               embedding_dim: int = 64, hidden_dim: int = 64, n_layers: int = 2,
               hidden_dims: Sequence[int] = (64,),
               evidence: Sequence[str] = (), hide: str = "edge", dropout: float = 0.1,
               init: str = "default") -> GraphSAGEModel:
    """Two directed SAGE layers of width 64 over the expression rows; scorer 192 -> 64 -> 1."""
    return GraphSAGEModel("graph_sage", inputs=inputs, n_genes=n_genes, in_features=in_features,
                          embedding_dim=embedding_dim, hidden_dim=hidden_dim, n_layers=n_layers,
                          hidden_dims=hidden_dims, evidence=evidence, hide=hide, dropout=dropout, init=init)
