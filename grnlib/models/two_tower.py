"""Two-tower (bi-encoder) models: a TF tower and a gene tower map ids to vectors, and a pair's
logit is their similarity.

One class, :class:`TwoTower`; the registered names are variants that differ only in their
defaults (a variant is data). Every variant accepts the same keys (inputs, n_genes,
in_features, embedding_dim, hidden_dims, out_dim, similarity, temperature, dropout, init);
their defaults:

- ``embedding_two_tower`` (baseline): inputs="embedding", 128-d embeddings, towers
  128 -> 128 -> 128, dot product, tau 1.
- ``two_tower``: inputs="expression", towers in_features -> 256 -> 256 -> 128, dot / 0.07
  (cosine / 0.05); 256-d embeddings if switched to inputs="embedding"/"hybrid".
- ``expression_two_tower`` (phase 1): inputs="expression", towers
  in_features -> 512 -> 256 -> 128, dot product, tau 1.
- ``hybrid_two_tower``: inputs="hybrid" (128-d embedding ++ expression), towers
  (128 + in_features) -> 256 -> 256 -> 128, cosine / 0.05.
- ``deep_two_tower`` (phase 2): inputs="embedding", 256-d embeddings, towers
  256 -> 512 -> 256 -> 128 -> 64, Xavier init, dropout 0.1, dot product, tau 1.

A tower is ``input_width -> hidden_dims... -> out_dim`` (ReLU between layers, none after the
last), where ``input_width`` is ``embedding_dim`` (inputs="embedding"), ``in_features``
("expression") or their sum ("hybrid"). Each tower has its own embedding table, because the
same gene plays different roles as regulator and as target. So:

- ``two_tower`` is ``in_features -> 256 -> 256 -> 128`` over expression features (two hidden
  layers); with ``inputs="embedding"`` it reads 256-d learnable embeddings instead.
- ``deep_two_tower`` is ``256 -> 512 -> 256 -> 128 -> 64`` (four layers) over 256-d learnable
  embeddings; ``inputs="hybrid"`` concatenates expression features to the embedding.

Scores: ``dot`` is ``<t, g> / tau``; ``cosine`` is ``<t/|t|, g/|g|> / tau``. When
``temperature`` is not given it defaults to 0.07 for dot and 0.05 for cosine on ``two_tower``,
0.05 for cosine on ``hybrid_two_tower`` (the old code's values) and 1 otherwise. A small tau on an unnormalised dot product makes large logits; cosine
keeps them within ``[-1/tau, 1/tau]``.

Efficiency: :meth:`TwoTower.forward` runs each tower once per *distinct* id of the batch
(``torch.unique`` + inverse indices) and scores pairs by gather + row-wise dot, instead of once
per pair; :meth:`TwoTower.forward_per_pair` is the naive reference that does run the towers per
pair (same logits; for benchmarks and tests). In training mode both ways apply dropout once per
*encoded row*, so with deduplication every pair that shares a gene in a batch shares its
dropout mask.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from grnlib.models.layers import GeneInput, check_dims, init_weights, make_mlp
from grnlib.models.interface import LinkModel, reads_inputs
from grnlib.models.registry import MODELS

SIMILARITIES = ("dot", "cosine")


class TwoTower(LinkModel):
    """TF tower and gene tower over per-gene inputs; logit = similarity / temperature.

    Build it through :func:`grnlib.models.build_model`; ``self.config`` holds the name and every
    resolved key, so ``build_model(**model.config)`` rebuilds the same architecture.
    """

    is_two_tower = True

    def __init__(self, name: str, *, inputs: str, n_genes: int | None, in_features: int | None,
                 embedding_dim: int, hidden_dims: Sequence[int], out_dim: int, similarity: str,
                 temperature: float, dropout: float, init: str):
        super().__init__()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity={similarity!r} is not one of {SIMILARITIES}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        hidden = check_dims(hidden_dims, dropout)
        self.tf_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
        self.gene_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
        dims = [self.tf_input.width, *hidden, int(out_dim)]
        self.tf_tower = make_mlp(dims, dropout)
        self.gene_tower = make_mlp(dims, dropout)
        init_weights(self, init)
        self.similarity = similarity
        self.temperature = float(temperature)
        self.uses_features = self.tf_input.uses_features
        self.config = dict(name=name, inputs=inputs,
                           n_genes=int(n_genes) if n_genes else None,
                           in_features=self.tf_input.in_features,
                           embedding_dim=int(embedding_dim), hidden_dims=hidden,
                           out_dim=int(out_dim), similarity=similarity,
                           temperature=self.temperature, dropout=float(dropout), init=init)

    # -- towers ---------------------------------------------------------------------------
    def encode_tf(self, idx: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """idx: LongTensor [n] TF gene ids; features: [n_genes, in_features] or None -> [n, out_dim]."""
        return self.tf_tower(self.tf_input(idx, features))

    def encode_gene(self, idx: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """idx: LongTensor [n] target gene ids; features: [n_genes, in_features] or None -> [n, out_dim]."""
        return self.gene_tower(self.gene_input(idx, features))

    # -- scores ---------------------------------------------------------------------------
    def _prepare(self, emb: torch.Tensor) -> torch.Tensor:
        return F.normalize(emb, dim=-1) if self.similarity == "cosine" else emb

    def score_embeddings(self, tf_emb: torch.Tensor, gene_emb: torch.Tensor) -> torch.Tensor:
        """All pairs: tf_emb [n_tf, d], gene_emb [n_gene, d] -> logits [n_tf, n_gene]."""
        return self._prepare(tf_emb) @ self._prepare(gene_emb).T / self.temperature

    def score_rows(self, tf_emb: torch.Tensor, gene_emb: torch.Tensor) -> torch.Tensor:
        """Row-wise pairs: tf_emb [B, d], gene_emb [B, d] -> logits [B]."""
        return (self._prepare(tf_emb) * self._prepare(gene_emb)).sum(-1) / self.temperature

    # -- forward --------------------------------------------------------------------------
    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """tf_idx, gene_idx: LongTensor [B]; features: [n_genes, in_features] or None -> logits [B].

        Each distinct TF and gene of the batch is encoded once, then gathered per pair.
        """
        tf_unique, tf_inverse = torch.unique(tf_idx, return_inverse=True)
        gene_unique, gene_inverse = torch.unique(gene_idx, return_inverse=True)
        tf_emb = self.encode_tf(tf_unique, features)[tf_inverse]
        gene_emb = self.encode_gene(gene_unique, features)[gene_inverse]
        return self.score_rows(tf_emb, gene_emb)

    def forward_per_pair(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                         features: torch.Tensor | None = None) -> torch.Tensor:
        """Naive reference: towers run on every pair's rows, duplicates included -> logits [B]."""
        return self.score_rows(self.encode_tf(tf_idx, features), self.encode_gene(gene_idx, features))


def _register_variant(name: str, doc: str, default_tau: dict[str, float] | None = None, **defaults) -> Callable:
    """Register one two-tower variant. Its keyword defaults become the factory's signature, which the
    registry reads as the variant's config schema (valid keys and defaults)."""
    values = {"n_genes": None, "in_features": None, "similarity": "dot", "temperature": None,
              "dropout": 0.0, "init": "default", **defaults}
    signature = inspect.Signature([inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
                                   for k, v in values.items()])

    def factory(**cfg) -> TwoTower:
        bound = signature.bind(**cfg)  # an unknown key fails here, as with a written signature
        bound.apply_defaults()
        kwargs = dict(bound.arguments)
        similarity, temperature = kwargs["similarity"], kwargs.pop("temperature")
        if temperature is None:
            temperature = (default_tau or {}).get(similarity, 1.0)
        return TwoTower(name, temperature=temperature, **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    factory.__signature__ = signature
    return MODELS.register(name, reads_expression=reads_inputs)(factory)


# The old models' variants: what differs between them is data (inputs, widths, similarity, init).
_register_variant("embedding_two_tower",
                  "Baseline: learnable 128-d TF and gene embeddings, 2-layer towers 128 -> 128 -> 128, dot product.",
                  inputs="embedding", embedding_dim=128, hidden_dims=(128,), out_dim=128)
_register_variant("two_tower",
                  "Old ``TwoTowerModel``: towers in_features -> 256 -> 256 -> 128 over expression features; "
                  "dot / 0.07 (cosine / 0.05 with ``similarity=\"cosine\"``).",
                  {"dot": 0.07, "cosine": 0.05},
                  inputs="expression", embedding_dim=256, hidden_dims=(256, 256), out_dim=128)
_register_variant("expression_two_tower",
                  "Phase 1: towers over a gene's expression profile, 3 layers in_features -> 512 -> 256 -> 128.",
                  inputs="expression", embedding_dim=128, hidden_dims=(512, 256), out_dim=128)
_register_variant("hybrid_two_tower",
                  "Learnable 128-d embedding concatenated with expression features, towers "
                  "(128 + in_features) -> 256 -> 256 -> 128, cosine / 0.05.",
                  {"cosine": 0.05},
                  inputs="hybrid", embedding_dim=128, hidden_dims=(256, 256), out_dim=128, similarity="cosine")
_register_variant("deep_two_tower",
                  "Phase 2: 256-d embeddings, 4-layer towers 256 -> 512 -> 256 -> 128 -> 64, Xavier init, "
                  "dropout 0.1 after each hidden layer; ``inputs=\"hybrid\"`` adds expression features.",
                  inputs="embedding", embedding_dim=256, hidden_dims=(512, 256, 128), out_dim=64,
                  dropout=0.1, init="xavier")
