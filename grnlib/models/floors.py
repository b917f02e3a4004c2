"""The floors as numbers a model can build on: per-TF base rates, the degree logit and the
XSwap edge prior, all estimated from a training pair table only.

- :func:`base_rate_offsets`: per TF, ``log(pi/(1-pi)) - log(rho/(1-rho))`` with ``pi`` the TF's
  base rate among all candidate genes (training out-degree / (n_genes - 1)) and ``rho`` its positive
  fraction in the training table: the case-control (prior) correction of Prentice & Pyke (1979),
  King & Zeng (2001), "logit adjustment" (Menon et al. 2021). A model fitted on a table that holds
  one negative per positive for every TF learns rates near ``rho = 0.5`` for every TF; adding the
  offset puts each TF's base rate back. :mod:`grnlib.evaluation.correction` decides when to.
- :func:`degree_logit`: a 2-feature logistic fit of the labels on the leave-one-out log degrees.
- :class:`EdgePrior`: the probability that a TF -> gene edge exists in a degree-preserving
  permutation of the training network (XSwap, Hanhijärvi et al. 2009; the "edge prior" of
  Zietz et al. 2024, GigaScience).

numpy only (plus scikit-learn's logistic regression); no torch, so evaluation code and models share it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SMOOTHING = 0.5  # Jeffreys pseudo-counts: keeps every rate inside (0, 1)
# Chosen on validation drawn like test, never on test (grnlib.evaluation.floor_choices; the numbers it chose
# from are results/beyond_floor/floor_choices.csv; tests/evaluation/test_floor_choices.py re-derives both):
EDGE_PRIOR_PSEUDO = 100.0  # weight of the closed form in EdgePrior's class smoothing, in permutations
UNSEEN_TF_PI = "own"  # a TF without training rows: "own" base rate (its out-degree, 0, smoothed) or "pooled"
UNSEEN_TF_PI_RULES = ("own", "pooled")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


@dataclass
class BaseRates:
    """Per-gene-id (as TF) base rates and the correction offsets; see :func:`base_rate_offsets`.

    Attributes:
        offsets: float64 [n_genes] ``logit(pi) - logit(rho)`` for every gene id as a TF.
        pi: float64 [n_genes] smoothed base rate among the candidate genes.
        rho: float64 [n_genes] smoothed positive fraction in the training table (the pooled
            fraction for TFs without training rows).
        seen: bool [n_genes] the TF has rows in the training table.
        slope: weighted least-squares slope of ``logit(rho)`` on ``logit(pi)`` over the TFs with
            training rows (NaN when fewer than two distinct base rates): ~1 when the table's
            negatives do not depend on the TF (uniform sampling, or every gene of a TF), ~0 when
            every TF gets the same number of negatives per positive (per-TF case-control).
    """

    offsets: np.ndarray
    pi: np.ndarray
    rho: np.ndarray
    seen: np.ndarray
    slope: float


def out_degrees(edges: np.ndarray, n_genes: int) -> np.ndarray:
    """Distinct targets per TF of an int [2, E] edge array (self pairs dropped) -> int64 [n_genes]."""
    edges = np.asarray(edges, dtype=np.int64).reshape(2, -1)
    edges = edges[:, edges[0] != edges[1]]
    if edges.shape[1]:
        edges = np.unique(edges, axis=1)
    return np.bincount(edges[0], minlength=n_genes).astype(np.int64)


def positive_edges(pairs: pd.DataFrame) -> np.ndarray:
    """int64 [2, E] distinct (tf, target) of the positive rows (self pairs dropped)."""
    positives = pairs.loc[pairs["label"] == 1, ["tf", "target"]].to_numpy(dtype=np.int64)
    positives = positives[positives[:, 0] != positives[:, 1]]
    return np.unique(positives, axis=0).T.copy() if len(positives) else np.zeros((2, 0), np.int64)


def base_rate_offsets(train_pairs: pd.DataFrame, n_genes: int, edges: np.ndarray | None = None,
                      smoothing: float = SMOOTHING, unseen_pi: str | None = None) -> BaseRates:
    """Per-TF base rate ``pi``, training positive fraction ``rho`` and the offsets between them.

    Args:
        train_pairs: the training pair table (tf, target, label).
        n_genes: size of the gene id space; ``n_genes - 1`` candidate targets per TF.
        edges: int [2, E] network whose out-degrees define ``pi`` (default: the training
            positives). ``grnlib predict`` passes every prior edge.
        smoothing: pseudo-count added to positives and to negatives of both rates.

    ``pi`` is defined for every gene id (a TF without edges has ``pi = s / (n - 1 + 2 s)``);
    ``rho`` needs training rows, so TFs without any take the pooled training fraction.
    ``unseen_pi`` (default :data:`UNSEEN_TF_PI`): a TF without training rows keeps its ``"own"`` ``pi``
    or takes the ``"pooled"`` ``pi`` of the TFs with rows.
    """
    unseen_pi = UNSEEN_TF_PI if unseen_pi is None else unseen_pi
    if unseen_pi not in UNSEEN_TF_PI_RULES:
        raise ValueError(f"unseen_pi must be one of {UNSEEN_TF_PI_RULES}, got {unseen_pi!r}")
    tf = train_pairs["tf"].to_numpy(np.int64)
    label = train_pairs["label"].to_numpy(np.float64)
    rows = np.bincount(tf, minlength=n_genes).astype(np.float64)
    pos = np.bincount(tf, weights=label, minlength=n_genes)
    degree = out_degrees(positive_edges(train_pairs) if edges is None else edges, n_genes)
    n_candidates = max(n_genes - 1, 1)
    pi = (degree + smoothing) / (n_candidates + 2 * smoothing)
    pooled = (label.sum() + smoothing) / (len(label) + 2 * smoothing)
    seen = rows > 0
    rho = np.where(seen, (pos + smoothing) / (rows + 2 * smoothing), pooled)
    if unseen_pi == "pooled" and seen.any():
        pooled_pi = (degree[seen].sum() + smoothing) / (seen.sum() * n_candidates + 2 * smoothing)
        pi = np.where(seen, pi, pooled_pi)
    offsets = _logit(pi) - _logit(rho)
    slope = float("nan")
    x, y, w = _logit(pi[seen]), _logit(rho[seen]), rows[seen]
    if seen.sum() >= 2 and np.ptp(x) > 0:
        xm, ym = np.average(x, weights=w), np.average(y, weights=w)
        slope = float(np.average((x - xm) * (y - ym), weights=w) / np.average((x - xm) ** 2, weights=w))
    return BaseRates(offsets=offsets, pi=pi, rho=rho, seen=seen, slope=slope)


# -- degree -----------------------------------------------------------------------------------
def loo_log_degrees(train_pairs: pd.DataFrame, pairs: pd.DataFrame, n_genes: int,
                    hide_tf: bool = False, leave_one_out: bool = True) -> np.ndarray:
    """[len(pairs), 2] log(1 + out-degree of the TF), log(1 + in-degree of the target), counted
    over the training positives *without the pair's own edge* (leave-one-out, as in
    :mod:`grnlib.models.context`); ``hide_tf`` counts the TF as unseen (out-degree 0)."""
    edges = positive_edges(train_pairs)
    out = np.bincount(edges[0], minlength=n_genes)
    inn = np.bincount(edges[1], minlength=n_genes)
    tf, target = pairs["tf"].to_numpy(np.int64), pairs["target"].to_numpy(np.int64)
    own = np.zeros(tf.size, dtype=np.int64)
    if leave_one_out:
        own = np.isin(tf * n_genes + target, edges[0] * n_genes + edges[1]).astype(np.int64)
    out_loo = np.zeros_like(tf) if hide_tf else out[tf] - own
    return np.c_[np.log1p(out_loo), np.log1p(inn[target] - own)].astype(np.float64)


def degree_logit(train_pairs: pd.DataFrame, n_genes: int, hide_tf: bool = False,
                 c: float = 100.0) -> np.ndarray:
    """Coefficients ``[w_out, w_in, bias]`` of a logistic regression of the training labels on
    :func:`loo_log_degrees`: the degree floor as a logit on the training table's scale."""
    from sklearn.linear_model import LogisticRegression

    x = loo_log_degrees(train_pairs, train_pairs, n_genes, hide_tf)
    y = train_pairs["label"].to_numpy(np.int64)
    if len(np.unique(y)) < 2:
        rate = (y.sum() + SMOOTHING) / (len(y) + 2 * SMOOTHING)
        return np.array([0.0, 0.0, float(_logit(rate))])
    fit = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    return np.r_[fit.coef_.ravel(), fit.intercept_].astype(np.float64)


# -- XSwap edge prior -------------------------------------------------------------------------
def xswap(sources: np.ndarray, targets: np.ndarray, source_gene: np.ndarray, n_genes: int,
          rng: np.random.Generator, swaps_per_edge: float = 10.0) -> np.ndarray:
    """Degree-preserving permutation of a directed bipartite-style network (XSwap).

    A swap takes edges ``a -> b`` and ``c -> d`` and rewires them to ``a -> d`` and ``c -> b``;
    it is refused when it would create a self pair, an edge that exists, or the same new edge
    twice. Every TF keeps its out-degree and every gene its in-degree. Swaps are proposed in
    rounds of ``E // 2`` at once (a random matching of the edges, so no edge is in two swaps of a
    round); ``swaps_per_edge * E`` swaps are proposed in all.

    Args:
        sources: int [E] TF row of each edge (0..m-1); targets: int [E] target gene id.
        source_gene: int [m] gene id of each TF row (self pairs are ``source_gene[a] == target``).
        n_genes: size of the gene id space.

    Returns:
        int64 [E] the permuted targets (the sources do not move).
    """
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64).copy()
    n_edges = sources.size
    if n_edges < 2:
        return targets
    present = np.zeros((int(source_gene.size), n_genes), dtype=bool)
    present[sources, targets] = True
    half = n_edges // 2
    rounds = int(np.ceil(swaps_per_edge * n_edges / half))
    for _ in range(rounds):
        order = rng.permutation(n_edges)
        i, j = order[:half], order[half:2 * half]
        a, b, c, d = sources[i], targets[i], sources[j], targets[j]
        ok = (a != c) & (b != d) & (source_gene[a] != d) & (source_gene[c] != b)
        ok &= ~present[a, d] & ~present[c, b]
        new_codes = np.r_[a * n_genes + d, c * n_genes + b]
        valid_codes = np.r_[ok, ok]
        unique, counts = np.unique(new_codes[valid_codes], return_counts=True)
        clash = np.isin(new_codes, unique[counts > 1])
        ok &= ~clash[:half] & ~clash[half:]
        i, j, a, b, c, d = i[ok], j[ok], a[ok], b[ok], c[ok], d[ok]
        present[a, b] = False
        present[c, d] = False
        present[a, d] = True
        present[c, b] = True
        targets[i], targets[j] = d, b
    return targets


def zietz_approximation(out_degree, in_degree, n_edges: int) -> np.ndarray:
    """Closed-form edge prior of Zietz et al. (2024): ``u v / sqrt((u v)^2 + (m - u - v + 1)^2)``."""
    u, v = np.asarray(out_degree, np.float64), np.asarray(in_degree, np.float64)
    uv = u * v
    return uv / np.sqrt(uv ** 2 + np.maximum(n_edges - u - v + 1.0, 1.0) ** 2)


@dataclass
class EdgePrior:
    """The XSwap edge prior of a training network, as a function of (out-degree, in-degree).

    Every pair whose TF has out-degree ``u`` and whose target has in-degree ``v`` has the same
    probability of being an edge in a uniformly random network with the training degrees, so the
    fractions of permuted networks holding an edge are averaged within each (u, v) class: that
    removes Monte-Carlo noise and gives a value for degree pairs of which only one pair exists.
    Class values are smoothed toward :func:`zietz_approximation` (a degree of 0 counted as 0.5) with
    ``pseudo`` permutations' weight (:data:`EDGE_PRIOR_PSEUDO`), so a TF or target without training edges still ranks by
    the other side's degree. Between and beyond the observed degrees (the leave-one-out degrees
    of training positives) the logit is interpolated bilinearly in log(1 + degree).

    Attributes:
        out_values, in_values: float64 [k], [l] the observed degrees (grid axes).
        grid_logit: float64 [k, l] smoothed logit of the class edge prior.
        n_edges, n_permutations.
    """

    out_values: np.ndarray
    in_values: np.ndarray
    grid_logit: np.ndarray
    n_edges: int
    n_permutations: int

    @classmethod
    def fit(cls, train_pairs: pd.DataFrame, n_genes: int, n_permutations: int = 20,
            swaps_per_edge: float = 10.0, seed: int = 0, pseudo: float | None = None,
            candidate_tfs=None) -> "EdgePrior":
        """XSwap ``n_permutations`` times (each from the training network, seeded by
        ``(seed, permutation)``) and average edge presence per degree class.

        ``candidate_tfs``: gene ids that may be TFs (default: the TFs of ``train_pairs``);
        they take part with their training out-degree, 0 for a TF without positives.
        ``pseudo``: weight of the closed form, in permutations (default :data:`EDGE_PRIOR_PSEUDO`,
        chosen on validation by :mod:`grnlib.evaluation.floor_choices`; ``inf``: the closed form alone).
        The low-degree classes are sparse, so the weight matters most on small networks.
        """
        pseudo = float(EDGE_PRIOR_PSEUDO if pseudo is None else pseudo)
        edges = positive_edges(train_pairs)
        tfs = np.unique(np.r_[train_pairs["tf"].to_numpy(np.int64),
                              np.asarray([] if candidate_tfs is None else candidate_tfs, np.int64)])
        row_of = np.full(n_genes, -1, dtype=np.int64)
        row_of[tfs] = np.arange(tfs.size)
        out = np.bincount(edges[0], minlength=n_genes)[tfs]              # [m]
        inn = np.bincount(edges[1], minlength=n_genes)                   # [n]
        present = np.zeros((tfs.size, n_genes), dtype=np.float64)
        sources = row_of[edges[0]]
        for p in range(n_permutations):
            rng = np.random.default_rng([seed, p])
            permuted = xswap(sources, edges[1], tfs, n_genes, rng, swaps_per_edge)
            np.add.at(present, (sources, permuted), 1.0)
        out_values, out_class = np.unique(out, return_inverse=True)
        in_values, in_class = np.unique(inn, return_inverse=True)
        not_self = np.ones((tfs.size, n_genes), dtype=bool)
        not_self[np.arange(tfs.size), tfs] = False
        cls_id = (out_class.ravel()[:, None] * in_values.size + in_class.ravel()[None, :])[not_self]
        n_cells = out_values.size * in_values.size
        hits = np.bincount(cls_id, weights=present[not_self], minlength=n_cells)
        members = np.bincount(cls_id, minlength=n_cells).astype(np.float64)
        mean = np.divide(hits, members * max(n_permutations, 1), out=np.zeros(n_cells), where=members > 0)
        prior = zietz_approximation(np.maximum(out_values[:, None], 0.5), np.maximum(in_values[None, :], 0.5),
                                    edges.shape[1]).ravel()
        # a class without members (a self-pair-only class) falls back to the closed form
        weight = np.where(members > 0, n_permutations, 0.0)
        smoothed = prior if np.isinf(pseudo) else (mean * weight + pseudo * prior) / (weight + pseudo)
        smoothed = np.clip(smoothed, 1e-12, 1 - 1e-12)
        return cls(out_values=out_values.astype(np.float64), in_values=in_values.astype(np.float64),
                   grid_logit=_logit(smoothed).reshape(out_values.size, in_values.size),
                   n_edges=int(edges.shape[1]), n_permutations=int(n_permutations))

    def logit(self, out_degree, in_degree) -> np.ndarray:
        """Logit of the edge prior at (out-degree, in-degree) ([B] each) -> float64 [B]."""
        return bilinear(np.log1p(self.out_values), np.log1p(self.in_values), self.grid_logit,
                        np.log1p(np.asarray(out_degree, np.float64)), np.log1p(np.asarray(in_degree, np.float64)))

    def score(self, train_pairs: pd.DataFrame, pairs: pd.DataFrame, n_genes: int,
              leave_one_out: bool = True, hide_tf: bool = False) -> np.ndarray:
        """Edge-prior logit of each pair, at its training degrees (without its own edge when
        ``leave_one_out``: the value a training positive would have if it were unknown)."""
        x = np.expm1(loo_log_degrees(train_pairs, pairs, n_genes, hide_tf, leave_one_out))
        return self.logit(x[:, 0], x[:, 1])


def bilinear(x_axis: np.ndarray, y_axis: np.ndarray, grid: np.ndarray, x, y) -> np.ndarray:
    """Bilinear interpolation (linear extrapolation outside) of ``grid[len(x_axis), len(y_axis)]``;
    an axis with one value is constant along it."""
    def locate(axis, v):
        if axis.size == 1:
            return np.zeros(v.shape, np.int64), np.zeros(v.shape), 0
        k = np.clip(np.searchsorted(axis, v, side="right") - 1, 0, axis.size - 2)
        return k, (v - axis[k]) / (axis[k + 1] - axis[k]), 1

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    i, tx, dx = locate(x_axis, x)
    j, ty, dy = locate(y_axis, y)
    g00, g10 = grid[i, j], grid[i + dx, j]
    g01, g11 = grid[i, j + dy], grid[i + dx, j + dy]
    return (1 - tx) * ((1 - ty) * g00 + ty * g01) + tx * ((1 - ty) * g10 + ty * g11)
