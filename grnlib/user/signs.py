"""Signs of TF -> target edges: activation (+1) or repression (-1), with a confidence.

A prior edge with a known mode of regulation (CollecTRI's and DoRothEA's ``weight`` +-1, TRRUST's
Activation/Repression, a ``sign``/``mor`` column) keeps it, with confidence 1. A new edge gets the
sign of a logistic model fitted on the prior's own signed edges, from two pieces of evidence:

- ``tf_mode``: how often the TF activates among its signed prior edges (smoothed log-odds; left out
  for the edge itself while fitting, so the fit sees what a new edge of that TF would see);
- ``association``: the TF-target Pearson correlation across the cells, as a Fisher z
  (``atanh(r) sqrt(n_cells - 3)``), computed from the TF and target columns only (sparse-safe).

The fit learns from the user's data how much each says: on BEELINE hHEP and the Chen hESC cells,
the correlation sign agreed with CollecTRI's sign about as often as chance (see the README), so
there the TF's mode carries the prediction. Without enough signed prior edges of both signs the
correlation alone decides, its confidence ``Phi(|z|)`` (then uncalibrated: treat it as a ranking).
``sign_confidence`` is the predicted probability of the chosen sign, in [0.5, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_SIGNED_EDGES = 20  # fewer signed prior edges (or one sign only): no fit, the correlation decides
CHUNK_TFS = 128  # TF columns multiplied with the matrix at a time: CHUNK_TFS x genes floats
# Cells read for the correlations: evenly spaced rows beyond this. A sign needs far fewer cells than
# an atlas holds, and the products cost time in proportion to the cells (10,000 x 20,000 at 10 %
# non-zeros: 15 s for 1,000 TFs with every cell on one core).
MAX_CELLS = 3000


def association(x, tf_cols: np.ndarray, target_cols: np.ndarray, stats=None) -> np.ndarray:
    """Pearson correlation across cells (rows of ``x``, sparse or dense) of each pair's TF column
    and target column, float64 [n_pairs]; 0 where either is constant.

    Only products of TF columns with the matrix are formed (``CHUNK_TFS`` TFs at a time), so a
    sparse matrix is never densified; ``stats`` = (mean, std) per column when already known.
    """
    import scipy.sparse as sp

    from grnlib.features import gene_stats

    tf_cols, target_cols = np.asarray(tf_cols, np.int64), np.asarray(target_cols, np.int64)
    n_cells = x.shape[0]
    mean, std = stats if stats is not None else gene_stats(x, np.arange(x.shape[1]).astype(str))
    out = np.zeros(tf_cols.size)
    if tf_cols.size == 0:
        return out
    tfs, row = np.unique(tf_cols, return_inverse=True)
    row = row.ravel()
    for start in range(0, tfs.size, CHUNK_TFS):
        chunk = tfs[start:start + CHUNK_TFS]
        tf_columns = x[:, chunk]  # cells x chunk: the only part made dense
        tf_columns = tf_columns.toarray() if sp.issparse(tf_columns) else np.asarray(tf_columns)
        block = np.asarray(x.T @ tf_columns).T  # [chunk, genes] sums of products
        picked = (row >= start) & (row < start + chunk.size)
        tf, target = tf_cols[picked], target_cols[picked]
        covariance = block[row[picked] - start, target] / n_cells - mean[tf] * mean[target]
        scale = std[tf] * std[target]
        out[picked] = np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0)
    return np.clip(out, -1.0, 1.0)


def fisher_z(r: np.ndarray, n_cells: int) -> np.ndarray:
    """``atanh(r) sqrt(n - 3)``: a correlation as a standard normal deviate (clipped at |r| < 0.999)."""
    return np.arctanh(np.clip(r, -0.999, 0.999)) * np.sqrt(max(n_cells - 3, 1))


def _log_odds(activating, total):
    return np.log(activating + 1.0) - np.log(total - activating + 1.0)  # Beta(1, 1) smoothed


@dataclass
class SignModel:
    """Activation probability of a TF -> target edge from the TF's prior mode and the correlation.

    Attributes:
        activating, signed: float64 [n_genes] per TF id: signed prior edges that activate, and all
            signed prior edges.
        coef: [bias, w_tf_mode, w_association] of the logistic fit, or None (correlation only).
        n_fit: signed prior edges the fit saw.
    """

    activating: np.ndarray
    signed: np.ndarray
    coef: np.ndarray | None
    n_fit: int

    @classmethod
    def fit(cls, prior: pd.DataFrame, n_genes: int, z: np.ndarray) -> "SignModel":
        """From prior edges (``tf``, ``target`` ids, ``sign`` -1/0/1) and the Fisher z of each."""
        sign = prior["sign"].to_numpy() if "sign" in prior else np.zeros(len(prior))
        known = sign != 0
        tf = prior["tf"].to_numpy(np.int64)[known]
        up = (sign[known] > 0).astype(np.float64)
        activating = np.bincount(tf, weights=up, minlength=n_genes)
        signed = np.bincount(tf, minlength=n_genes).astype(np.float64)
        coef = None
        if known.sum() >= MIN_SIGNED_EDGES and 0 < up.sum() < up.size:
            from sklearn.linear_model import LogisticRegression

            # leave the edge's own sign out of its TF's mode, as a new edge would see it
            mode = _log_odds(activating[tf] - up, signed[tf] - 1)
            features = np.c_[mode, z[known]]
            fitted = LogisticRegression(C=1.0).fit(features, up)
            coef = np.r_[fitted.intercept_, fitted.coef_.ravel()]
        return cls(activating=activating, signed=signed, coef=coef, n_fit=int(known.sum()))

    def activation_probability(self, tf: np.ndarray, z: np.ndarray) -> np.ndarray:
        """P(activation) of edges from TF ids ``tf`` with correlation deviates ``z``."""
        from scipy.special import expit
        from scipy.stats import norm

        if self.coef is None:
            return norm.cdf(z)
        mode = _log_odds(self.activating[tf], self.signed[tf])
        return expit(self.coef[0] + self.coef[1] * mode + self.coef[2] * z)


def edge_signs(tf: np.ndarray, target: np.ndarray, prior: pd.DataFrame, n_genes: int, x, columns: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(sign int8 [n], sign_confidence float64 [n]) of the edges ``tf -> target`` (gene ids).

    Args:
        prior: prior edges by gene id (``tf``, ``target``, optional ``sign``): signed ones keep their
            sign (confidence 1) and train the :class:`SignModel` for the others.
        n_genes: size of the gene-id space.
        x: expression, cells x columns (sparse or dense); ``columns[g]`` is gene ``g``'s column
            (-1: not measured, correlation 0). At most :data:`MAX_CELLS` evenly spaced cells are read.
    """
    tf, target = np.asarray(tf, np.int64), np.asarray(target, np.int64)
    columns = np.asarray(columns, np.int64)
    if x.shape[0] > MAX_CELLS or getattr(x, "out_of_core", False):  # rows spread over the matrix: every
        # part of an ordered atlas is read (a matrix read out of core: only these rows are read from its file)
        x = x[np.unique(np.linspace(0, x.shape[0] - 1, min(MAX_CELLS, x.shape[0])).round().astype(np.int64))]
    prior_tf, prior_target = prior["tf"].to_numpy(np.int64), prior["target"].to_numpy(np.int64)
    prior_sign = prior["sign"].to_numpy() if "sign" in prior else np.zeros(len(prior), np.int8)
    signed = prior_sign != 0
    # one pass over the matrix for the signed prior edges (the fit) and the edges to sign
    a, b = np.r_[prior_tf[signed], tf], np.r_[prior_target[signed], target]
    measured = (columns[a] >= 0) & (columns[b] >= 0)
    r = np.zeros(a.size)
    r[measured] = association(x, columns[a][measured], columns[b][measured])
    z = fisher_z(r, x.shape[0])
    prior_z = np.zeros(len(prior))
    prior_z[signed] = z[:int(signed.sum())]
    model = SignModel.fit(prior, n_genes, prior_z)
    p = model.activation_probability(tf, z[int(signed.sum()):])
    sign = np.where(p >= 0.5, 1, -1).astype(np.int8)
    confidence = np.maximum(p, 1 - p)
    # a prior edge with a known mode keeps it
    codes = prior_tf[signed] * n_genes + prior_target[signed]
    order = np.argsort(codes)
    query = tf * n_genes + target
    at = np.clip(np.searchsorted(codes[order], query), 0, max(codes.size - 1, 0))
    known = codes.size > 0
    hit = np.zeros(query.size, bool) if not known else codes[order][at] == query
    if hit.any():
        sign[hit] = prior_sign[signed][order][at[hit]]
        confidence[hit] = 1.0
    return sign, confidence
