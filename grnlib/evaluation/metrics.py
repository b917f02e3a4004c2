"""Metrics for scored TF -> target pairs: threshold metrics, ranking metrics, per-TF (macro) AUROC and
AUPRC, bootstrap and paired confidence intervals.

Everything is plain numpy and tie-aware. Ranking metrics work on *bins* of equal scores, sorted
from the highest score down; with that form one sort serves the exact metric and every bootstrap
resample (a resample only changes how many times each pair counts), so 1000 resamples of a few
thousand pairs take well under a second. ``tests/test_metrics.py`` checks agreement with
scikit-learn, including ties.

Conventions:
    * ``y_true`` is 0/1, ``y_score`` is "higher means more likely an edge"; a pair is predicted
      positive when ``score >= threshold``.
    * AUROC counts a tie between a positive and a negative as half a correct ordering.
    * AUPRC is average precision (step-wise, no interpolation), as ``sklearn.metrics.average_precision_score``.
    * Early precision is precision among the top-k scores, k = number of positives; pairs tied at the
      cut-off count by their expected share (as if ties were broken at random).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc", "pos_rate",
               "auprc_ratio", "early_precision", "early_precision_ratio", "n")

# Bootstrap resamples are processed in chunks so the index matrix stays around this many entries.
_BOOTSTRAP_CHUNK_ENTRIES = 4_000_000


def _as_arrays(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to (int64 labels [n], float64 scores [n])."""
    y = np.asarray(y_true).ravel()
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} entries but y_score has {s.size}")
    if y.size == 0:
        raise ValueError("cannot compute metrics on zero pairs")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0 and 1 labels")
    if not np.isfinite(s).all():
        bad = int((~np.isfinite(s)).sum())
        raise ValueError(f"y_score has {bad} NaN/inf values; every pair needs a finite score")
    return y.astype(np.int64), s


def _score_bins(s: np.ndarray) -> tuple[np.ndarray, int]:
    """Bin id of each score ([n], 0 = highest distinct score) and the number of bins."""
    _, inverse = np.unique(-s, return_inverse=True)
    return inverse.ravel(), int(inverse.max()) + 1


def _bin_counts(bins: np.ndarray, n_bins: int, y: np.ndarray,
                idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative counts per score bin.

    Without ``idx`` returns two arrays [n_bins]. With ``idx`` ([n_rows, m] resampled positions)
    returns two arrays [n_rows, n_bins], one row per resample.
    """
    if idx is None:
        pos = np.bincount(bins, weights=y, minlength=n_bins)
        total = np.bincount(bins, minlength=n_bins).astype(np.float64)
        return pos, total - pos
    n_rows = idx.shape[0]
    flat = (np.arange(n_rows)[:, None] * n_bins + bins[idx]).ravel()
    pos = np.bincount(flat, weights=y[idx].ravel(), minlength=n_rows * n_bins)
    total = np.bincount(flat, minlength=n_rows * n_bins).astype(np.float64)
    return pos.reshape(n_rows, n_bins), (total - pos).reshape(n_rows, n_bins)


def _auroc_from_bins(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUROC from per-bin counts ([..., n_bins], bins from high to low score); NaN if one class is absent."""
    n_pos, n_neg = pos.sum(-1), neg.sum(-1)
    neg_below = n_neg[..., None] - np.cumsum(neg, axis=-1)  # negatives with a strictly lower score
    correct = (pos * (neg_below + 0.5 * neg)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), correct / (n_pos * n_neg), np.nan)


def _auprc_from_bins(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Average precision from per-bin counts ([..., n_bins]); NaN without positives."""
    tp, fp = np.cumsum(pos, axis=-1), np.cumsum(neg, axis=-1)
    n_pos = pos.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 0.0)
        return np.where(n_pos > 0, (pos * precision).sum(-1) / n_pos, np.nan)


def _auprc_ratio_from_bins(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    pos_rate = pos.sum(-1) / (pos.sum(-1) + neg.sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return _auprc_from_bins(pos, neg) / pos_rate


_BIN_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "auroc": _auroc_from_bins,
    "auprc": _auprc_from_bins,
    "auprc_ratio": _auprc_ratio_from_bins,
}


def auroc(y_true, y_score) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class is present."""
    y, s = _as_arrays(y_true, y_score)
    bins, n_bins = _score_bins(s)
    return float(_auroc_from_bins(*_bin_counts(bins, n_bins, y)))


def auprc(y_true, y_score) -> float:
    """Average precision (area under the precision-recall step curve); NaN without positives."""
    y, s = _as_arrays(y_true, y_score)
    bins, n_bins = _score_bins(s)
    return float(_auprc_from_bins(*_bin_counts(bins, n_bins, y)))


def early_precision(y_true, y_score, k: int | None = None) -> float:
    """Precision among the ``k`` highest scores (default k = number of positives).

    Pairs tied with the k-th score count by their expected share, so the value does not depend
    on how the sort happens to order ties. NaN when k is 0.
    """
    y, s = _as_arrays(y_true, y_score)
    k = int(y.sum()) if k is None else int(k)
    if k <= 0:
        return float("nan")
    bins, n_bins = _score_bins(s)
    return float(_early_precision_from_bins(*_bin_counts(bins, n_bins, y), k=min(k, y.size)))


def _early_precision_from_bins(pos: np.ndarray, neg: np.ndarray, k=None) -> np.ndarray:
    """Early precision from per-bin counts ([..., n_bins], high to low score); k defaults to the
    number of positives (per row). The bin holding the k-th pair counts by its expected share."""
    k = pos.sum(-1) if k is None else np.broadcast_to(np.asarray(k, dtype=np.float64), pos.shape[:-1])
    total = pos + neg
    cumulative = np.cumsum(total, axis=-1)
    cut = np.argmax(cumulative >= np.asarray(k)[..., None] - 1e-9, axis=-1)[..., None]  # bin of the k-th pair
    pos_before = np.take_along_axis(np.cumsum(pos, axis=-1) - pos, cut, -1)[..., 0]
    total_before = np.take_along_axis(cumulative - total, cut, -1)[..., 0]
    share = np.take_along_axis(pos, cut, -1)[..., 0] / np.maximum(np.take_along_axis(total, cut, -1)[..., 0], 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, (pos_before + (k - total_before) * share) / k, np.nan)


def auprc_davis_goadrich(y_true, y_score) -> float:
    """Area under the precision-recall curve with Davis & Goadrich's (2006) interpolation, as R's
    PRROC computes it (``pr.curve(...)$auc.davis.goadrich``): the AUPRC that BEELINE reports.

    Between consecutive score bins the curve is a trapezoid, except where a bin adds more than one
    positive and changes the precision: there it is interpolated positive by positive, the
    negatives of the bin spread evenly. The first bin counts its own precision. It differs from
    :func:`auprc` (average precision, a step curve), e.g. ``+ - +`` gives 0.792 here, 0.833 there.
    NaN without positives.
    """
    y, s = _as_arrays(y_true, y_score)
    bins, n_bins = _score_bins(s)
    pos, neg = _bin_counts(bins, n_bins, y)
    n_pos = pos.sum()
    if n_pos == 0:
        return float("nan")
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    tp_prev, fp_prev = tp - pos, fp - neg
    precision = tp / (tp + fp)
    previous = np.r_[precision[0], (tp_prev / np.maximum(tp_prev + fp_prev, 1e-300))[1:]]
    interpolate = (pos > 1) & (precision != previous)
    area = (pos * (previous + precision) / 2)[~interpolate].sum()
    rows = np.flatnonzero(interpolate)
    if rows.size:
        steps = pos[rows].astype(np.int64)
        row = np.repeat(rows, steps)
        x = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)  # 0 .. d-1 within each bin
        slope = neg[row] / pos[row]  # negatives per positive inside the bin

        def at(step):
            return (tp_prev[row] + step) / (tp_prev[row] + step + fp_prev[row] + slope * step)

        area += ((at(x) + at(x + 1)) / 2).sum()
    return float(area / n_pos)


def ranking_metrics(y_true, y_score) -> dict:
    """The threshold-free metrics of one scored pair set, from one sort: ``auroc``, ``auprc``
    (average precision), ``auprc_dg`` (:func:`auprc_davis_goadrich`, BEELINE's AUPRC),
    ``early_precision`` (top-k, k = positives), ``early_precision_ratio`` (/ ``pos_rate``: BEELINE's
    EPR), ``pos_rate``, ``n_pos`` and ``n``."""
    y, s = _as_arrays(y_true, y_score)
    bins, n_bins = _score_bins(s)
    pos, neg = _bin_counts(bins, n_bins, y)
    pos_rate = float(y.mean())
    early = float(_early_precision_from_bins(pos, neg))
    return {"auroc": float(_auroc_from_bins(pos, neg)), "auprc": float(_auprc_from_bins(pos, neg)),
            "auprc_dg": auprc_davis_goadrich(y, s), "early_precision": early,
            "early_precision_ratio": early / pos_rate if pos_rate > 0 else float("nan"),
            "pos_rate": pos_rate, "n_pos": int(y.sum()), "n": int(y.size)}


def _confusion(y: np.ndarray, s: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    return tp, fp, fn, tn


def _mcc(tp, fp, fn, tn):
    """Matthews correlation; 0 where the denominator vanishes (scikit-learn's convention). Works on arrays."""
    tp, fp, fn, tn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn, tn))
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (tp * tn - fp * fn) / np.where(denominator > 0, denominator, 1), 0.0)


def _f1(tp, fp, fn):
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def binary_metrics(y_true, y_score, threshold: float = 0.5) -> dict:
    """All scalar metrics of one scored pair set.

    Args:
        y_true: [n] 0/1 labels.
        y_score: [n] finite scores, higher = more likely an edge.
        threshold: pairs with ``score >= threshold`` are predicted positive (accuracy, precision,
            recall, F1, MCC); choose it on validation with :func:`choose_threshold`.

    Returns:
        dict with keys ``METRIC_KEYS``: accuracy, precision, recall, f1, mcc, auroc, auprc,
        pos_rate, auprc_ratio (= auprc / pos_rate, 1 = random), early_precision,
        early_precision_ratio (= early_precision / pos_rate), n. Precision/recall/F1 are 0 where
        undefined (scikit-learn's ``zero_division=0``); ranking metrics are NaN with one class.
    """
    y, s = _as_arrays(y_true, y_score)
    tp, fp, fn, tn = _confusion(y, s, threshold)
    n = y.size
    pos_rate = float(y.mean())
    bins, n_bins = _score_bins(s)
    pos, neg = _bin_counts(bins, n_bins, y)
    area_pr = float(_auprc_from_bins(pos, neg))
    early = early_precision(y, s)
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f1": float(_f1(tp, fp, fn)),
        "mcc": float(_mcc(tp, fp, fn, tn)),
        "auroc": float(_auroc_from_bins(pos, neg)),
        "auprc": area_pr,
        "pos_rate": pos_rate,
        "auprc_ratio": area_pr / pos_rate if pos_rate > 0 else float("nan"),
        "early_precision": early,
        "early_precision_ratio": early / pos_rate if pos_rate > 0 else float("nan"),
        "n": int(n),
    }


def choose_threshold(y_val, s_val, metric: str = "f1") -> float:
    """The decision threshold that maximises ``metric`` ("f1", "accuracy" or "mcc") on validation.

    Every distinct validation score is tried as a cut (and "predict nothing positive"); the
    returned value is the midpoint between the chosen cut's score and the next lower score, so
    it sits between validation scores instead of on one. Ties in the metric go to the highest
    threshold. Use the result as ``binary_metrics(y_test, s_test, threshold=...)``.
    """
    scorers = {
        "f1": lambda tp, fp, fn, tn: _f1(tp, fp, fn),
        "accuracy": lambda tp, fp, fn, tn: (tp + tn) / (tp + fp + fn + tn),
        "mcc": _mcc,
    }
    if metric not in scorers:
        raise ValueError(f"unknown threshold metric {metric!r}; choose one of {sorted(scorers)}")
    y, s = _as_arrays(y_val, s_val)
    bins, n_bins = _score_bins(s)
    pos, neg = _bin_counts(bins, n_bins, y)
    # Cut j predicts bins 0..j positive; a leading zero is the "nothing positive" cut.
    tp = np.concatenate([[0.0], np.cumsum(pos)])
    fp = np.concatenate([[0.0], np.cumsum(neg)])
    fn, tn = pos.sum() - tp, neg.sum() - fp
    best = int(np.argmax(scorers[metric](tp, fp, fn, tn)))
    distinct = -np.unique(-s)  # descending distinct scores; bin j has score distinct[j]
    if best == 0:
        return float(np.nextafter(distinct[0], np.inf))
    j = best - 1
    if j == n_bins - 1:
        return float(distinct[j])
    middle = 0.5 * (distinct[j] + distinct[j + 1])
    return float(middle if distinct[j + 1] < middle <= distinct[j] else distinct[j])


def per_tf_metrics(pairs: pd.DataFrame, scores) -> pd.DataFrame:
    """AUROC and AUPRC (average precision) of each TF over its own pairs, for TFs that have both
    positives and negatives: the *macro* view that says whether a scorer ranks a TF's targets above
    its non-targets, whatever the TF's number of targets.

    Args:
        pairs: pair table (columns ``tf``, ``label``; ``target`` unused).
        scores: [len(pairs)] scores aligned with the rows of ``pairs``.

    Returns:
        DataFrame[tf, n_pos, n_neg, auroc, auprc] sorted by tf; the column means are the per-TF
        AUROC and AUPRC. Ties count as in :func:`auroc` and :func:`auprc`.
    """
    y, s = _as_arrays(pairs["label"].to_numpy(), scores)
    tf = pairs["tf"].to_numpy()
    # Bins of equal (tf, score), from the highest score down inside each TF: the per-TF form of
    # the binned metrics above, computed for every TF at once.
    order = np.lexsort((-s, tf))
    tf_sorted, s_sorted, y_sorted = tf[order], s[order], y[order]
    new_bin = np.r_[True, (tf_sorted[1:] != tf_sorted[:-1]) | (s_sorted[1:] != s_sorted[:-1])]
    bin_id = np.cumsum(new_bin) - 1
    pos = np.bincount(bin_id, weights=y_sorted).astype(np.float64)
    total = np.bincount(bin_id).astype(np.float64)
    neg = total - pos
    bin_tf = tf_sorted[new_bin]
    first_bin = np.r_[True, bin_tf[1:] != bin_tf[:-1]]
    group = np.cumsum(first_bin) - 1  # TF index of each bin
    n_pos = np.bincount(group, weights=pos)
    n_neg = np.bincount(group, weights=neg)
    start = np.flatnonzero(first_bin)

    def within(values):  # cumulative sum restarted at each TF
        running = np.cumsum(values)
        return running - np.r_[0.0, running][start][group]

    tp, fp = within(pos), within(neg)
    neg_below = n_neg[group] - fp  # negatives of the same TF with a strictly lower score
    correct = np.bincount(group, weights=pos * (neg_below + 0.5 * neg))
    precision = tp / np.maximum(tp + fp, 1.0)
    precision_sum = np.bincount(group, weights=pos * precision)
    keep = (n_pos > 0) & (n_neg > 0)
    out = pd.DataFrame({"tf": bin_tf[first_bin][keep].astype(np.int64), "n_pos": n_pos[keep].astype(np.int64),
                        "n_neg": n_neg[keep].astype(np.int64)})
    out["auroc"] = correct[keep] / (n_pos[keep] * n_neg[keep])
    out["auprc"] = precision_sum[keep] / n_pos[keep]
    return out


def per_tf_auroc(pairs: pd.DataFrame, scores) -> pd.DataFrame:
    """AUROC of each TF over its own pairs, for TFs that have both positives and negatives.

    Returns:
        DataFrame[tf, n_pos, n_neg, auroc] sorted by tf (:func:`per_tf_metrics` without AUPRC).
    """
    return per_tf_metrics(pairs, scores).drop(columns="auprc")


def evaluate_scores(test_pairs: pd.DataFrame, scores, threshold: float = 0.5) -> dict:
    """:func:`binary_metrics` on a pair table plus the macro (per-TF) view: ``per_tf_auroc`` and
    ``per_tf_auprc`` (means over the TFs with both classes, NaN if none) and ``n_tfs_per_tf_auroc``
    (how many TFs those means cover). Pooled metrics reward knowing *how many* targets each TF has;
    per-TF metrics only *which* ones (a per-TF offset, such as the TF's degree, leaves them unchanged)."""
    out = binary_metrics(test_pairs["label"].to_numpy(), scores, threshold)
    per_tf = per_tf_metrics(test_pairs, scores)
    out["per_tf_auroc"] = float(per_tf["auroc"].mean()) if len(per_tf) else float("nan")
    out["per_tf_auprc"] = float(per_tf["auprc"].mean()) if len(per_tf) else float("nan")
    out["n_tfs_per_tf_auroc"] = int(len(per_tf))
    return out


def _resampled_metric(y: np.ndarray, score_list: list[np.ndarray], metric, n_boot: int,
                      seed: int) -> np.ndarray:
    """Metric of each score vector on the same ``n_boot`` resamples (with replacement): [len(score_list), n_boot]."""
    rng = np.random.default_rng(seed)
    n = y.size
    out = np.empty((len(score_list), n_boot))
    if callable(metric):
        for b in range(n_boot):
            idx = rng.integers(0, n, size=n)
            for i, s in enumerate(score_list):
                y_b = y[idx]
                out[i, b] = metric(y_b, s[idx]) if 0 < y_b.sum() < n else np.nan
        return out
    if metric not in _BIN_METRICS:
        raise ValueError(f"unknown bootstrap metric {metric!r}; choose one of {sorted(_BIN_METRICS)} "
                         "or pass a function metric(y_true, y_score) -> float")
    binned = [_score_bins(s) for s in score_list]
    chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // n)
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        for i, (bins, n_bins) in enumerate(binned):
            out[i, start:start + idx.shape[0]] = _BIN_METRICS[metric](*_bin_counts(bins, n_bins, y, idx))
    return out


def bootstrap_ci(y, s, metric="auroc", n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a metric over pairs resampled with replacement.

    Args:
        y: [n] 0/1 labels; s: [n] scores.
        metric: "auroc", "auprc", "auprc_ratio" (fast path), or a function ``f(y, s) -> float``.
        n_boot: resamples; resamples with a single class are skipped.
        level: coverage of the interval (0.95 -> 2.5th and 97.5th percentiles).

    Returns:
        (low, high).
    """
    y, s = _as_arrays(y, s)
    values = _resampled_metric(y, [s], metric, n_boot, seed)[0]
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap(y, s_model, s_base, metric="auroc", n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict:
    """Paired bootstrap comparison of a model against a baseline on the same pairs.

    Both score vectors are evaluated on the same resamples, so the pair-level correlation
    between them is kept (the comparison is much tighter than two separate CIs).

    Returns:
        dict(delta = metric(model) - metric(base) on all pairs, ci_low, ci_high = percentile
        interval of the resampled deltas, p_value = two-sided bootstrap p-value
        ``min(1, 2 * min(P(delta* <= 0), P(delta* >= 0)))`` with a +1 correction so it is never 0,
        n_boot = resamples used).
    """
    return paired_bootstraps(y, {"model": s_model, "base": s_base}, "base", metric, n_boot, seed, level)["model"]


def paired_bootstraps(y, scores: dict, base: str, metric="auroc", n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95) -> dict:
    """:func:`paired_bootstrap` of every score vector in ``scores`` (name -> scores) against ``scores[base]``,
    all on the same resamples: the same numbers as one call per name, with the baseline's resampled metric
    computed once instead of once per name. Returns name -> that call's dict, for every name but ``base``."""
    y, _ = _as_arrays(y, scores[base])
    names = [name for name in scores if name != base]
    vectors = [_as_arrays(y, scores[name])[1] for name in [*names, base]]
    if callable(metric):
        full = [float(metric(y, s)) for s in vectors]
    else:
        if metric not in _BIN_METRICS:
            raise ValueError(f"unknown bootstrap metric {metric!r}; choose one of {sorted(_BIN_METRICS)}")
        full = [float(_BIN_METRICS[metric](*_bin_counts(*_score_bins(s), y))) for s in vectors]
    resampled = _resampled_metric(y, vectors, metric, n_boot, seed)
    tail = 100 * (1 - level) / 2
    out = {}
    for i, name in enumerate(names):
        deltas = resampled[i] - resampled[-1]
        deltas = deltas[np.isfinite(deltas)]
        low, high = np.percentile(deltas, [tail, 100 - tail])
        b = deltas.size
        p_low = (np.sum(deltas <= 0) + 1) / (b + 1)
        p_high = (np.sum(deltas >= 0) + 1) / (b + 1)
        out[name] = {"delta": full[i] - full[-1], "ci_low": float(low), "ci_high": float(high),
                     "p_value": float(min(1.0, 2 * min(p_low, p_high))), "n_boot": int(b)}
    return out


def paired_ci(model_values, base_values, level: float = 0.95) -> dict:
    """Mean paired difference ``model - base`` over matched units (seeds of one setting, or
    settings), with a Student-t interval: the CI to use when the units, not the pairs, are the
    replicates (a paired bootstrap over test pairs, :func:`paired_bootstrap`, covers one split).

    Args:
        model_values, base_values: [n] the metric of each unit, matched by position; units where
            either is NaN are dropped.
        level: coverage of the interval.

    Returns:
        dict(delta, ci_low, ci_high, p_value (two-sided one-sample t-test of the differences),
        n). With one unit the interval and p-value are NaN; with identical values both ends equal
        the delta and the p-value is 1.
    """
    from scipy import stats

    a = np.asarray(model_values, dtype=np.float64).ravel()
    b = np.asarray(base_values, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"model_values has {a.size} entries but base_values has {b.size}")
    diff = (a - b)[np.isfinite(a) & np.isfinite(b)]
    n = int(diff.size)
    if n == 0:
        return {"delta": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan"), "n": 0}
    delta = float(diff.mean())
    if n < 2:
        return {"delta": delta, "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan"), "n": n}
    sem = float(diff.std(ddof=1) / np.sqrt(n))
    if sem == 0:
        return {"delta": delta, "ci_low": delta, "ci_high": delta, "p_value": 1.0 if delta == 0 else 0.0, "n": n}
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem
    p_value = float(2 * stats.t.sf(abs(delta) / sem, n - 1))
    return {"delta": delta, "ci_low": delta - half, "ci_high": delta + half, "p_value": p_value, "n": n}


def cluster_bootstrap(y_true, scores: dict, clusters, n_boot: int = 200, seed: int = 0) -> dict:
    """Metrics of several scorers over the same resamples of *clusters* (e.g. TFs) drawn with
    replacement: the interval for a network scored on every TF x gene pair, where pairs of one TF
    are not independent (its targets share the TF's quality and size).

    Each resample weights every pair by how often its cluster was drawn; the pooled metrics then
    come from weighted bin counts (one sparse product per resample chunk, no per-resample sort),
    the per-cluster ones as weighted means of the per-cluster values of :func:`per_tf_metrics`.

    Args:
        y_true: [n] 0/1 labels; scores: {name: [n] scores}; clusters: [n] cluster of each pair.
        n_boot: resamples (all scorers share them, so differences between scorers are paired).

    Returns:
        {name: {"auroc", "auprc", "early_precision_ratio", "per_tf_auroc", "per_tf_auprc": float64 [n_boot]}}
        (NaN where a resample lacks a class).
    """
    from scipy import sparse

    y = np.asarray(y_true).astype(np.int64).ravel()
    _, cluster = np.unique(np.asarray(clusters), return_inverse=True)
    cluster = cluster.ravel()
    n_clusters = int(cluster.max()) + 1
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_clusters, size=(n_boot, n_clusters))
    weights = np.stack([np.bincount(row, minlength=n_clusters) for row in draws]).astype(np.float64)
    out = {}
    for name, score in scores.items():
        y, s = _as_arrays(y, score)
        bins, n_bins = _score_bins(s)
        keys, inverse = np.unique(cluster.astype(np.int64) * n_bins + bins, return_inverse=True)
        pos_k = np.bincount(inverse.ravel(), weights=y)
        neg_k = np.bincount(inverse.ravel()).astype(np.float64) - pos_k
        shape = (n_clusters, n_bins)
        pos_m = sparse.csr_matrix((pos_k, (keys // n_bins, keys % n_bins)), shape=shape)
        neg_m = sparse.csr_matrix((neg_k, (keys // n_bins, keys % n_bins)), shape=shape)
        values = {key: np.empty(n_boot) for key in ("auroc", "auprc", "early_precision_ratio")}
        chunk = max(1, _BOOTSTRAP_CHUNK_ENTRIES // n_bins)
        for start in range(0, n_boot, chunk):
            w = weights[start:start + chunk]
            pos, neg = np.asarray((pos_m.T @ w.T).T), np.asarray((neg_m.T @ w.T).T)  # [chunk, n_bins]
            part = slice(start, start + w.shape[0])
            values["auroc"][part] = _auroc_from_bins(pos, neg)
            values["auprc"][part] = _auprc_from_bins(pos, neg)
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = pos.sum(-1) / (pos.sum(-1) + neg.sum(-1))
                values["early_precision_ratio"][part] = _early_precision_from_bins(pos, neg) / rate
        per_tf = per_tf_metrics(pd.DataFrame({"tf": cluster, "label": y}), s)
        w = weights[:, per_tf["tf"].to_numpy()]
        with np.errstate(invalid="ignore", divide="ignore"):
            for key in ("auroc", "auprc"):
                values[f"per_tf_{key}"] = (w @ per_tf[key].to_numpy()) / w.sum(1)
        out[name] = values
    return out


#: Readable names of the metrics, the column headers of formatted tables (short, so a table fits the book's
#: content column).
METRIC_LABELS = {"auroc": "AUROC", "auprc": "AUPRC", "auprc_ratio": "AUPRC / rate", "accuracy": "accuracy",
                 "f1": "F1", "mcc": "MCC", "early_precision_ratio": "early prec. ratio", "brier": "Brier",
                 "per_tf_auroc": "per-TF AUROC", "per_tf_auprc": "per-TF AUPRC"}
