"""Building blocks shared by the model families: per-gene inputs and MLP towers."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

INPUT_KINDS = ("embedding", "expression", "hybrid")
INITS = ("default", "xavier")


class GeneInput(nn.Module):
    """The input row a tower sees for each gene id.

    ``inputs`` chooses what a gene is:

    - ``"embedding"``: a learnable vector ``[embedding_dim]`` per gene id (needs ``n_genes``);
    - ``"expression"``: the gene's row of the feature matrix ``[in_features]`` (needs ``in_features``);
    - ``"hybrid"``: both, concatenated ``[embedding_dim + in_features]``.

    Embeddings start as N(0, 1) (PyTorch's default) under every ``init``: Xavier's bound would
    shrink with the vocabulary size, which makes no sense for a lookup table.
    """

    def __init__(self, inputs: str, n_genes: int | None, in_features: int | None,
                 embedding_dim: int):
        super().__init__()
        if inputs not in INPUT_KINDS:
            raise ValueError(f"inputs={inputs!r} is not one of {INPUT_KINDS}")
        self.inputs = inputs
        self.uses_embedding = inputs in ("embedding", "hybrid")
        self.uses_features = inputs in ("expression", "hybrid")
        if self.uses_embedding and not n_genes:
            raise ValueError(f"inputs={inputs!r} needs n_genes (size of the gene id space) "
                             "for the embedding table; pass n_genes=ds.n_genes")
        if self.uses_features and not in_features:
            raise ValueError(f"inputs={inputs!r} needs in_features (width of the expression "
                             "feature matrix); pass in_features=features.shape[1]")
        self.in_features = int(in_features) if self.uses_features else None
        self.embedding = nn.Embedding(n_genes, embedding_dim) if self.uses_embedding else None
        self.width = (embedding_dim if self.uses_embedding else 0) + (self.in_features or 0)

    def forward(self, idx: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """idx: LongTensor [n]; features: FloatTensor [n_genes, in_features] or None
        -> FloatTensor [n, width]."""
        parts = []
        if self.embedding is not None:
            parts.append(self.embedding(idx))
        if self.uses_features:
            if features is None:
                raise ValueError(f"this model reads expression features (inputs={self.inputs!r}); "
                                 "pass features=[n_genes, in_features] "
                                 "(see grnlib.features.gene_features)")
            if features.dim() != 2 or features.shape[1] != self.in_features:
                raise ValueError(f"features have shape {tuple(features.shape)} but the model was "
                                 f"built with in_features={self.in_features}; rebuild the model "
                                 "with in_features=features.shape[1]")
            parts.append(features[idx].to(parts[0].dtype if parts else features.dtype))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def make_mlp(dims: Sequence[int], dropout: float = 0.0) -> nn.Sequential:
    """Linear layers ``dims[0] -> dims[1] -> ... -> dims[-1]`` with ReLU (and dropout, when > 0)
    after every layer except the last, so the output is an unconstrained embedding or logit.

    Parameters: sum over consecutive pairs (a, b) of ``a*b + b``.
    """
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def init_weights(module: nn.Module, init: str) -> None:
    """``"default"`` keeps PyTorch's init; ``"xavier"`` sets every Linear weight to
    Xavier-uniform and its bias to zero (phase 2 of the old code)."""
    if init not in INITS:
        raise ValueError(f"init={init!r} is not one of {INITS}")
    if init == "xavier":
        for m in module.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)


def check_dims(hidden_dims: Sequence[int], dropout: float) -> list[int]:
    dims = [int(d) for d in hidden_dims]
    if any(d <= 0 for d in dims):
        raise ValueError(f"hidden_dims must be positive, got {list(hidden_dims)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return dims
