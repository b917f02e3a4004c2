"""Metrics agree with scikit-learn (ties included); thresholds, per-TF AUROC and bootstrap behave."""
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from grnlib.evaluation import metrics


def _tied_data(seed: int, n: int = 400):
    """Labels and scores rounded to one decimal, so many scores tie across classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    s = np.round(rng.normal(size=n) + 0.7 * y, 1)
    return y, s


@pytest.mark.parametrize("seed", range(5))
def test_ranking_metrics_match_sklearn_with_ties(seed):
    y, s = _tied_data(seed)
    assert len(np.unique(s)) < len(s) / 3  # the data really has ties
    assert metrics.auroc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert metrics.auprc(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_threshold_metrics_match_sklearn(seed):
    y, s = _tied_data(seed)
    threshold = 0.3  # on the 0.1 grid, so ">=" matters for tied scores
    pred = (s >= threshold).astype(int)
    out = metrics.binary_metrics(y, s, threshold=threshold)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert out["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert out["mcc"] == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert out["auroc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert out["auprc_ratio"] == pytest.approx(out["auprc"] / y.mean())
    assert out["n"] == len(y)
    assert set(out) == set(metrics.METRIC_KEYS)


def test_degenerate_threshold_metrics_follow_sklearn_zero_division():
    y = np.array([0, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4])
    out = metrics.binary_metrics(y, s, threshold=0.9)  # nothing predicted positive
    assert out["precision"] == 0.0 and out["f1"] == 0.0 and out["mcc"] == 0.0
    assert out["accuracy"] == 0.5


def test_early_precision_by_hand_with_tie_at_cutoff():
    # 2 positives -> top-2. Scores: 0.9 (pos) then a three-way tie at 0.5 with one positive.
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    # One slot left for three tied pairs, one of which is positive: expected 1 + 1/3 hits.
    assert metrics.early_precision(y, s) == pytest.approx((1 + 1 / 3) / 2)
    out = metrics.binary_metrics(y, s)
    assert out["early_precision_ratio"] == pytest.approx(out["early_precision"] / 0.4)


def test_perfect_and_reversed_rankings():
    y = np.array([0, 0, 1, 1])
    assert metrics.auroc(y, [1, 2, 3, 4]) == 1.0
    assert metrics.auroc(y, [4, 3, 2, 1]) == 0.0
    assert metrics.auroc(y, [1, 1, 1, 1]) == 0.5
    assert np.isnan(metrics.auroc([1, 1], [0.2, 0.3]))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="NaN"):
        metrics.auroc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="0 and 1"):
        metrics.auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="entries"):
        metrics.auroc([0, 1, 1], [0.1, 0.2])


@pytest.mark.parametrize("name", ["f1", "accuracy", "mcc"])
def test_choose_threshold_is_optimal_on_validation(name):
    y, s = _tied_data(7, n=300)
    scorer = {"f1": skm.f1_score, "accuracy": skm.accuracy_score, "mcc": skm.matthews_corrcoef}[name]
    best_possible = max(scorer(y, (s >= t).astype(int)) for t in np.r_[np.unique(s), s.max() + 1])
    threshold = metrics.choose_threshold(y, s, metric=name)
    assert scorer(y, (s >= threshold).astype(int)) == pytest.approx(best_possible)
    # The returned threshold sits between distinct validation scores, not on one (unless lowest).
    assert threshold not in set(s) or threshold == s.min()
    with pytest.raises(ValueError, match="unknown threshold metric"):
        metrics.choose_threshold(y, s, metric="auroc")


def test_per_tf_auroc_matches_sklearn_and_skips_single_class_tfs():
    rng = np.random.default_rng(3)
    pairs = pd.DataFrame({"tf": np.repeat([5, 7, 9], 40), "target": np.tile(np.arange(40), 3),
                          "label": rng.integers(0, 2, size=120)})
    pairs.loc[pairs["tf"] == 9, "label"] = 1  # TF 9 has no negatives
    scores = np.round(rng.normal(size=120), 1)
    table = metrics.per_tf_auroc(pairs, scores)
    assert list(table["tf"]) == [5, 7]
    for tf in (5, 7):
        rows = (pairs["tf"] == tf).to_numpy()
        expected = skm.roc_auc_score(pairs.loc[rows, "label"], scores[rows])
        assert table.loc[table["tf"] == tf, "auroc"].item() == pytest.approx(expected)
    out = metrics.evaluate_scores(pairs, scores, threshold=0.0)
    assert out["per_tf_auroc"] == pytest.approx(table["auroc"].mean())
    assert out["n_tfs_per_tf_auroc"] == 2


def test_bootstrap_ci_fast_path_agrees_with_sklearn_loop():
    y, s = _tied_data(11, n=500)
    fast = metrics.bootstrap_ci(y, s, "auroc", n_boot=400, seed=0)
    slow = metrics.bootstrap_ci(y, s, skm.roc_auc_score, n_boot=400, seed=1)
    point = skm.roc_auc_score(y, s)
    assert fast[0] < point < fast[1]
    assert fast == pytest.approx(slow, abs=0.015)  # two bootstrap estimates of the same interval
    assert metrics.bootstrap_ci(y, s, "auroc", n_boot=400, seed=0) == fast  # seeded
    low, high = metrics.bootstrap_ci(y, s, "auprc", n_boot=200, seed=0)
    assert low < skm.average_precision_score(y, s) < high


def test_bootstrap_ci_narrows_with_more_pairs():
    small = metrics.bootstrap_ci(*_tied_data(1, n=200), n_boot=300)
    large = metrics.bootstrap_ci(*_tied_data(1, n=3000), n_boot=300)
    assert (large[1] - large[0]) < 0.6 * (small[1] - small[0])


def test_paired_bootstrap_detects_better_model_and_not_identical_one():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=800)
    base = rng.normal(size=800) + 0.3 * y
    model = base + 1.0 * y
    out = metrics.paired_bootstrap(y, model, base, n_boot=500, seed=0)
    assert out["delta"] == pytest.approx(skm.roc_auc_score(y, model) - skm.roc_auc_score(y, base))
    assert 0 < out["ci_low"] < out["delta"] < out["ci_high"]
    assert out["p_value"] < 0.01
    same = metrics.paired_bootstrap(y, base, base, n_boot=200, seed=0)
    assert same["delta"] == 0 and same["p_value"] == 1.0


def test_per_tf_metrics_match_sklearn_per_tf_with_ties():
    rng = np.random.default_rng(4)
    tfs = np.repeat([2, 3, 8, 11], 50)
    pairs = pd.DataFrame({"tf": tfs, "target": np.tile(np.arange(50), 4),
                          "label": (rng.random(200) < np.repeat([0.1, 0.5, 0.3, 0.0], 50)).astype(int)})
    scores = np.round(rng.normal(size=200) + pairs["label"].to_numpy(), 1)  # many ties
    table = metrics.per_tf_metrics(pairs.sample(frac=1, random_state=0), scores[pairs.sample(frac=1, random_state=0).index])
    assert list(table["tf"]) == [2, 3, 8]  # TF 11 has no positives
    for tf in (2, 3, 8):
        rows = (pairs["tf"] == tf).to_numpy()
        got = table.set_index("tf").loc[tf]
        assert got["auroc"] == pytest.approx(skm.roc_auc_score(pairs.loc[rows, "label"], scores[rows]))
        assert got["auprc"] == pytest.approx(skm.average_precision_score(pairs.loc[rows, "label"], scores[rows]))
    out = metrics.evaluate_scores(pairs, scores)
    assert out["per_tf_auprc"] == pytest.approx(table["auprc"].mean())
    # a per-TF offset changes pooled AUROC but leaves the per-TF (macro) metrics unchanged
    shifted = scores + 5.0 * pairs["tf"].to_numpy()
    moved = metrics.evaluate_scores(pairs, shifted)
    assert moved["per_tf_auroc"] == pytest.approx(out["per_tf_auroc"])
    assert moved["per_tf_auprc"] == pytest.approx(out["per_tf_auprc"])
    assert moved["auroc"] != pytest.approx(out["auroc"])


def test_paired_ci_over_seeds():
    base = np.array([0.80, 0.82, 0.79, 0.81, 0.80])
    better = base + np.array([0.03, 0.02, 0.04, 0.03, 0.025])
    out = metrics.paired_ci(better, base)
    assert out["delta"] == pytest.approx(0.029)
    assert 0 < out["ci_low"] < out["delta"] < out["ci_high"] and out["p_value"] < 0.01 and out["n"] == 5
    noisy = metrics.paired_ci(base + np.array([0.02, -0.03, 0.01, -0.01, 0.0]), base)
    assert noisy["ci_low"] < 0 < noisy["ci_high"] and noisy["p_value"] > 0.5
    assert np.isnan(metrics.paired_ci([0.9], [0.8])["ci_low"])
    assert metrics.paired_ci([0.9, np.nan, 0.7], [0.8, 0.5, 0.6])["n"] == 2
