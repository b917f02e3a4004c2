"""The in-memory form every loader returns and every model, baseline and protocol consumes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PAIR_COLUMNS = ("tf", "target", "label")
"""A *pair table* is a DataFrame with int64 gene ids ``tf``, ``target`` and a 0/1 ``label``."""


@dataclass
class GRNDataset:
    """A gene universe, its TFs, the known positive edges and (optionally) expression.

    Gene ids are positions in ``genes``: gene ``i`` is ``genes[i]``. TFs are genes too, so
    ``tf_ids`` indexes the same space and TF and target ids can be compared directly.

    Attributes:
        id: human-readable dataset id, e.g. ``beeline/Specific/hHEP/500``.
        genes: gene symbols, position == integer id, unique.
        tf_ids: int64 array of gene ids that are TFs, sorted, unique.
        edges: positive edges, DataFrame with int64 columns ``tf``, ``target``.
        expression: AnnData (cells x genes) whose ``var_names`` equal ``genes`` in order,
            or ``None`` when the setting ships no expression.
        source: folder or file the data came from (for error messages and provenance).
    """

    id: str
    genes: pd.Index
    tf_ids: np.ndarray
    edges: pd.DataFrame
    expression: object | None = None
    source: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def n_tfs(self) -> int:
        return len(self.tf_ids)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def has_expression(self) -> bool:
        return self.expression is not None

    @property
    def density(self) -> float:
        """Positive edges over all possible TF x gene pairs (self-pairs excluded)."""
        return self.n_edges / max(1, self.n_tfs * (self.n_genes - 1))

    def expression_matrix(self) -> np.ndarray:
        """Dense float32 genes x cells matrix (one row per gene id)."""
        if self.expression is None:
            raise ValueError(f"{self.id} has no expression data")
        x = self.expression.X
        if getattr(self.expression, "out_of_core", False):  # pair statistics: a seeded sample of the cells
            from grnlib.data.streaming import PAIR_SAMPLE_CELLS

            x = self.expression.sample(PAIR_SAMPLE_CELLS).X
        x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        return np.ascontiguousarray(x.T, dtype=np.float32)

    def symbols(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Pair table with gene symbols added (``tf_symbol``, ``target_symbol``)."""
        out = pairs.copy()
        out["tf_symbol"] = self.genes[pairs["tf"].to_numpy()]
        out["target_symbol"] = self.genes[pairs["target"].to_numpy()]
        return out

    def __repr__(self) -> str:
        expr = "no expression" if self.expression is None else f"{self.expression.n_obs} cells"
        return (f"GRNDataset({self.id!r}: {self.n_genes} genes, {self.n_tfs} TFs, "
                f"{self.n_edges} edges, {expr})")
