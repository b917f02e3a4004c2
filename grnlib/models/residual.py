"""Residual over a floor, for any model family: ``logit = floor(pair) + alpha * base(pair)``.

The floor's logit (degree, or the XSwap edge prior; :class:`grnlib.models.context.FloorOffset`) is
fitted on the training table by ``prepare`` and stays fixed; ``alpha`` is a learned scalar that
starts near 0 (1e-3, as in ReZero), so the untrained model is the floor (to within a thousandth of
its base's logit) and training has to earn every departure from it. The base model is any registered model (``base``, ``base_cfg``); it receives
``n_genes``/``in_features`` like any model, and its own ``prepare`` (graph models) is called too.

``pair_evidence`` has the same option built in (``residual_floor``); this wrapper brings it to the
two-tower, cross-encoder and graph families (preset ``phase1_residual``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from grnlib.models.context import HIDE_MODES, FloorOffset, TrainingGraph, positive_edges_of
from grnlib.models.interface import LinkModel
from grnlib.models.registry import MODELS, ConfigError, reads_expression

DATA_KEYS = ("name", "n_genes", "in_features")
ALPHA_INIT = 1e-3  # not 0: every parameter gets a gradient from the first step


class ResidualModel(LinkModel):
    """A base model plus a fixed floor offset; see the module docstring."""

    # not a two-tower model (LinkModel's default): the offset is per pair, so it scores pairs

    def __init__(self, base: str, base_cfg: dict, floor: str, hide: str, n_genes: int | None,
                 in_features: int | None, alpha_init: float = 1e-3):
        super().__init__()
        if not n_genes:
            raise ValueError("residual needs n_genes (size of the gene id space) for its training graph")
        if hide not in HIDE_MODES:
            raise ValueError(f"hide={hide!r} is not one of {HIDE_MODES}")
        if base == "residual" or base not in MODELS:
            raise ConfigError(f"residual base {base!r} must be a registered model other than residual; "
                              f"valid: {', '.join(n for n in MODELS.names() if n != 'residual')}")
        bad = sorted(set(base_cfg) & set(DATA_KEYS))
        if bad:
            raise ConfigError(f"base_cfg must not set {bad}: they come from the data")
        self.base = MODELS.build(base, n_genes=n_genes, in_features=in_features, **base_cfg)
        self.graph = TrainingGraph(n_genes)
        self.floor = FloorOffset(floor, n_genes)
        self.hide = hide
        self.alpha = nn.Parameter(torch.full((), float(alpha_init)))
        self.uses_features = self.base.uses_features
        inner = {k: v for k, v in self.base.config.items() if k not in DATA_KEYS}
        self.config = dict(name="residual", base=base, base_cfg=inner, floor=floor, hide=hide, n_genes=int(n_genes),
                           in_features=self.base.config.get("in_features"), alpha_init=float(alpha_init))

    def prepare(self, ds, train_pairs) -> None:
        """Fit the floor on the training table; prepare the base model when it reads the graph."""
        self.graph.set_edges(positive_edges_of(train_pairs))
        self.floor.fit(ds, train_pairs, self.hide)
        self.base.prepare(ds, train_pairs)

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        degrees = self.graph.pair_evidence(tf_idx, gene_idx, ("degree",), None, self.hide)
        return self.floor(degrees, tf_idx) + self.alpha * self.base(tf_idx, gene_idx, features)


def _residual_reads_expression(cfg: dict) -> bool:
    """The base model's answer, with the ``inputs`` given to the residual passed on to it."""
    base_cfg = {**(cfg.get("base_cfg") or {}), **({"inputs": cfg["inputs"]} if cfg.get("inputs") is not None else {})}
    return reads_expression(cfg["base"], base_cfg)


@MODELS.register("residual", reads_expression=_residual_reads_expression)
def residual(*, base: str = "expression_two_tower", base_cfg: dict | None = None, floor: str = "degree",
             hide: str = "edge", n_genes: int | None = None, in_features: int | None = None,
             inputs: str | None = None, hidden_dims=None, alpha_init: float = ALPHA_INIT) -> ResidualModel:
    """``base`` (default the phase-1 expression two-tower) as a residual over ``floor``
    ("degree" or "edge_prior"); ``hide="tf"`` fits the floor as if every TF were unseen.
    ``inputs`` and ``hidden_dims``, the keys every model has, go to the base (None: its default).
    ``alpha_init``: the base's starting weight (small: the model starts at the floor)."""
    base_cfg = dict(base_cfg or {})
    for key, value in (("inputs", inputs), ("hidden_dims", hidden_dims)):
        if value is not None:
            base_cfg[key] = value
    return ResidualModel(base, base_cfg, floor, hide, n_genes, in_features, alpha_init)
