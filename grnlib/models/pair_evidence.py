"""Pair-evidence cross-encoder: an MLP over explicit, leave-one-out evidence about a pair
(training-graph degrees, expression correlation, co-expression with the target's known
regulators and the TF's known targets, votes of co-expressed TFs, shared-target paths; optionally
label-free expression evidence: tree importances, partial correlation, mutual information) plus
small projections of each gene's label-free representation (expression/PCA rows).

The evidence comes from :class:`grnlib.models.context.TrainingGraph`, filled by
``prepare(ds, train_pairs)`` from the training positives; ``evidence`` picks the groups
(``degree``, ``expression``, ``transfer``, ``topology``, and the expression-only ``trees``,
``partial_correlation``, ``mutual_information`` of :mod:`grnlib.models.evidence`, computed once
per expression matrix and cached; and ``knowledge``, annotation evidence of
:class:`grnlib.models.knowledge.KnowledgeEvidence` from the training edges and GO/Pfam/JASPAR only), so an
ablation is a config change and
the degree part is reported separately (``evidence`` without ``"degree"``). ``hide`` says what
a pair may not see of its own TF: ``"edge"`` (its own edge; for protocols whose test TFs are
training TFs) or ``"tf"`` (all the TF's edges; trains for held-out TFs, which have none).

``residual_floor`` makes it a residual-over-floor model: the floor's logit (degree or the XSwap
edge prior, fitted on the training table by ``prepare``) is a fixed offset and the MLP, whose last
layer starts at zero, learns only what the floor misses.

Size: BatchNorm on the k evidence columns has no parameters (affine off, running stats are
buffers); each gene input (``inputs`` != "none") is projected ``width -> proj_dim``; the MLP is
``k + 3*proj_dim -> hidden_dims... -> 1`` (``k`` without representations).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from grnlib.models.context import (EVIDENCE_GROUPS, GRAPH_GROUPS, HIDE_MODES, KNOWLEDGE_GROUPS, TABLE_GROUPS,
                                  EvidenceTable, FloorOffset, TrainingGraph, evidence_columns, positive_edges_of)
from grnlib.data.knowledge import KNOWLEDGE_SOURCES
from grnlib.models.knowledge import KnowledgeEvidence
from grnlib.models.layers import GeneInput, check_dims, init_weights, make_mlp
from grnlib.models.interface import LinkModel, reads_inputs_or_evidence
from grnlib.models.registry import MODELS

ALL_EVIDENCE = ("degree", "expression", "transfer", "topology")


class PairEvidenceModel(LinkModel):
    """logit = MLP([BN(evidence), p_tf, p_gene, p_tf * p_gene]) with p = Linear(gene input)."""


    def __init__(self, name: str, *, inputs: str, n_genes: int | None, in_features: int | None,
                 evidence: Sequence[str], hide: str, embedding_dim: int, proj_dim: int,
                 hidden_dims: Sequence[int], dropout: float, init: str, residual_floor: str | None = None,
                 knowledge_sources: Sequence[str] = KNOWLEDGE_SOURCES, knowledge_control: str | None = None):
        super().__init__()
        if not n_genes:
            raise ValueError(f"{name} needs n_genes (size of the gene id space) for its training graph")
        hidden = check_dims(hidden_dims, dropout)
        self.columns = evidence_columns(evidence)  # raises on unknown groups
        evidence = [g for g in EVIDENCE_GROUPS if g in set(evidence)]
        if inputs == "none" and not self.columns:
            raise ValueError("pair_evidence with inputs='none' needs at least one evidence group")
        if hide not in HIDE_MODES:
            raise ValueError(f"hide={hide!r} is not one of {HIDE_MODES}")
        self.evidence, self.hide = evidence, hide
        self.graph = TrainingGraph(n_genes)
        self.graph_groups = [g for g in evidence if g in GRAPH_GROUPS]
        table_groups = [g for g in evidence if g in TABLE_GROUPS]
        self.evidence_table = EvidenceTable(n_genes, table_groups) if table_groups else None
        self.knowledge = (KnowledgeEvidence(n_genes, knowledge_sources, knowledge_control)
                          if any(g in KNOWLEDGE_GROUPS for g in evidence) else None)
        self.evidence_norm = nn.BatchNorm1d(len(self.columns), affine=False) if self.columns else None
        width = len(self.columns)
        self.tf_input = self.gene_input = None
        if inputs != "none":
            self.tf_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
            self.gene_input = GeneInput(inputs, n_genes, in_features, embedding_dim)
            self.tf_proj = nn.Linear(self.tf_input.width, proj_dim)
            self.gene_proj = nn.Linear(self.gene_input.width, proj_dim)
            width += 3 * proj_dim
        self.mlp = make_mlp([width, *hidden, 1], dropout)
        init_weights(self, init)
        self.floor = FloorOffset(residual_floor, n_genes) if residual_floor else None
        if self.floor is not None:  # the residual starts at zero: the untrained model *is* the floor
            last = [m for m in self.mlp.modules() if isinstance(m, nn.Linear)][-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.uses_features = (inputs in ("expression", "hybrid")
                              or any(g in evidence for g in ("expression", "transfer")))
        self.config = dict(name=name, inputs=inputs, n_genes=int(n_genes),
                           in_features=int(in_features) if in_features and self.uses_features else None,
                           evidence=list(evidence), hide=hide, embedding_dim=int(embedding_dim),
                           proj_dim=int(proj_dim), hidden_dims=hidden, dropout=float(dropout), init=init,
                           residual_floor=residual_floor)
        if self.knowledge is not None:
            self.config.update(knowledge_sources=list(knowledge_sources), knowledge_control=knowledge_control)

    def prepare(self, ds, train_pairs) -> None:
        """Store the training positives of ``train_pairs`` (a pair table) as the graph, and fit
        the residual floor on the training table."""
        self.graph.set_edges(positive_edges_of(train_pairs))
        if self.evidence_table is not None:
            if ds is None or not getattr(ds, "has_expression", False):
                raise ValueError(f"evidence {self.evidence_table.groups} is computed from expression; "
                                 "prepare(ds, train_pairs) needs a dataset with expression")
            self.evidence_table.fill(ds)
        if self.knowledge is not None:
            self.knowledge.fill(ds, self.graph.edges.cpu().numpy())
        if self.floor is not None:
            self.floor.fit(ds, train_pairs, self.hide)

    def pair_evidence(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                      features: torch.Tensor | None = None) -> torch.Tensor:
        """Raw evidence [B, k] (columns ``self.columns``)."""
        parts = []
        if self.graph_groups:
            parts.append(self.graph.pair_evidence(tf_idx, gene_idx, self.graph_groups, features, self.hide))
        if self.evidence_table is not None:
            parts.append(self.evidence_table(tf_idx, gene_idx))
        if self.knowledge is not None:
            parts.append(self.knowledge(tf_idx, gene_idx, self.graph.edge_in_graph(tf_idx, gene_idx), self.hide))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """tf_idx, gene_idx: LongTensor [B]; features: [n_genes, d] or None -> logits [B]."""
        parts = []
        if self.columns:
            parts.append(self.evidence_norm(self.pair_evidence(tf_idx, gene_idx, features)))
        if self.tf_input is not None:
            p_tf = self.tf_proj(self.tf_input(tf_idx, features))
            p_gene = self.gene_proj(self.gene_input(gene_idx, features))
            parts += [p_tf, p_gene, p_tf * p_gene]
        logits = self.mlp(torch.cat(parts, dim=-1)).squeeze(-1)
        if self.floor is not None:
            logits = logits + self.floor(self.graph.pair_evidence(tf_idx, gene_idx, ("degree",), None, self.hide), tf_idx)
        return logits


@MODELS.register("pair_evidence", reads_expression=reads_inputs_or_evidence)
def pair_evidence(*, n_genes: int | None = None, in_features: int | None = None,
                  inputs: str = "expression", evidence: Sequence[str] = ALL_EVIDENCE, hide: str = "edge",
                  embedding_dim: int = 32, proj_dim: int = 32, hidden_dims: Sequence[int] = (64, 64),
                  dropout: float = 0.1, init: str = "default", residual_floor: str | None = None,
                  knowledge_sources: Sequence[str] = KNOWLEDGE_SOURCES,
                  knowledge_control: str | None = None) -> PairEvidenceModel:
    """All evidence groups plus 32-d projections of each gene's expression row,
    MLP (k + 96) -> 64 -> 64 -> 1. ``inputs="none"`` scores from the evidence alone.
    ``residual_floor`` ("degree" or "edge_prior"): add that floor's logit as a fixed offset
    (:class:`grnlib.models.context.FloorOffset`), so the MLP learns only the residual. The ``knowledge``
    evidence group reads ``knowledge_sources`` (:class:`grnlib.models.knowledge.KnowledgeEvidence`);
    ``knowledge_control`` ("shuffled", "blind") makes it one of its controls."""
    return PairEvidenceModel("pair_evidence", inputs=inputs, n_genes=n_genes, in_features=in_features,
                             evidence=evidence, hide=hide, embedding_dim=embedding_dim, proj_dim=proj_dim,
                             hidden_dims=hidden_dims, dropout=dropout, init=init, residual_floor=residual_floor,
                             knowledge_sources=knowledge_sources, knowledge_control=knowledge_control)
