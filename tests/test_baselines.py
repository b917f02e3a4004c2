"""Baselines: hand-checked degree formula, correlation equals numpy/scipy, signal on planted toy edges."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from grnlib.evaluation.baselines import BASELINES, score_baseline
from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.evaluation.metrics import auroc
from grnlib.evaluation.protocols import make_split


@pytest.fixture(scope="module")
def toy():
    return make_toy(n_genes=160, n_tfs=16, n_cells=80, mean_targets=8, seed=1)


@pytest.fixture(scope="module")
def all_pairs(toy):
    """Every toy edge plus as many uniform negatives: the three seed-protocol splits pooled."""
    split = make_split(toy, "seed", seed=0)
    return split, pd.concat(split.values(), ignore_index=True)


def test_degree_equals_formula_by_hand():
    ds = make_toy(n_genes=10, n_tfs=3, with_expression=False)
    train = pd.DataFrame({"tf": [0, 0, 0, 1, 2], "target": [5, 6, 7, 5, 5], "label": [1, 1, 1, 1, 0]})
    pairs = pd.DataFrame({"tf": [0, 1, 2, 2], "target": [5, 9, 6, 8]})
    # Training positives: out-degree TF0=3, TF1=1, TF2=0 (its row is a negative);
    # in-degree gene5=2 (TF2's row does not count), gene6=1, others 0.
    expected = [np.log(4) + np.log(3), np.log(2) + 0, 0 + np.log(2), 0.0]
    np.testing.assert_allclose(score_baseline("degree", ds, train, pairs), expected)


def test_correlation_and_spearman_equal_reference_implementations(toy, all_pairs):
    _, pairs = all_pairs
    x = toy.expression_matrix().astype(np.float64)
    tf, target = pairs["tf"].to_numpy(), pairs["target"].to_numpy()
    pearson = [abs(np.corrcoef(x[a], x[b])[0, 1]) for a, b in zip(tf, target)]
    spearman = [abs(spearmanr(x[a], x[b])[0]) for a, b in zip(tf, target)]
    np.testing.assert_allclose(score_baseline("correlation", toy, None, pairs), pearson, atol=1e-10)
    np.testing.assert_allclose(score_baseline("spearman", toy, None, pairs), spearman, atol=1e-10)


def test_constant_gene_scores_zero_not_nan(toy):
    ds = make_toy(n_genes=30, n_tfs=4, n_cells=20, seed=2)
    ds.expression.X[:, 7] = 1.0  # gene 7 never varies
    pairs = pd.DataFrame({"tf": [0, 1], "target": [7, 8], "label": [1, 0]})
    scores = score_baseline("correlation", ds, None, pairs)
    assert scores[0] == 0.0 and np.isfinite(scores).all()


@pytest.mark.parametrize("name", ["correlation", "spearman", "genie3"])
def test_expression_baselines_recover_planted_edges(toy, all_pairs, name):
    _, pairs = all_pairs
    scores = score_baseline(name, toy, None, pairs, seed=0)
    assert auroc(pairs["label"], scores) > 0.7


def test_genie3_fits_only_pair_targets_and_is_seeded(toy, all_pairs):
    _, pairs = all_pairs
    few = pairs.head(12)
    a = score_baseline("genie3", toy, None, few, seed=3, n_estimators=5)
    b = score_baseline("genie3", toy, None, few, seed=3, n_estimators=5)
    np.testing.assert_array_equal(a, b)
    assert ((a >= 0) & (a <= 1)).all()
    rf = score_baseline("genie3", toy, None, few, seed=3, n_estimators=5, method="random_forest")
    assert rf.shape == a.shape and not np.array_equal(rf, a)
    with pytest.raises(ValueError, match="unknown genie3 method"):
        score_baseline("genie3", toy, None, few, method="boosting")


def test_random_is_seeded_and_near_chance(all_pairs, toy):
    _, pairs = all_pairs
    a = score_baseline("random", toy, None, pairs, seed=4)
    np.testing.assert_array_equal(a, score_baseline("random", toy, None, pairs, seed=4))
    assert not np.array_equal(a, score_baseline("random", toy, None, pairs, seed=5))
    assert abs(auroc(pairs["label"], a) - 0.5) < 0.15


def test_degree_is_informative_on_random_negative_split(toy, all_pairs):
    split, _ = all_pairs
    scores = score_baseline("degree", toy, split["train"], split["test"])
    assert auroc(split["test"]["label"], scores) > 0.6


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_returns_one_finite_score_per_pair(toy, all_pairs, name):
    split, _ = all_pairs
    kw = {"n_estimators": 3} if name == "genie3" else {}
    scores = score_baseline(name, toy, split["train"], split["test"], seed=0, **kw)
    assert scores.shape == (len(split["test"]),) and scores.dtype == np.float64
    assert np.isfinite(scores).all()


def test_errors_are_clear(toy, all_pairs):
    split, _ = all_pairs
    with pytest.raises(ValueError, match="valid baselines"):
        score_baseline("pagerank", toy, split["train"], split["test"])
    no_expression = make_toy(n_genes=160, n_tfs=16, seed=1, with_expression=False)
    with pytest.raises(DataError, match="no expression"):
        score_baseline("correlation", no_expression, None, split["test"])
    with pytest.raises(DataError, match="ids outside"):
        score_baseline("random", toy, None, pd.DataFrame({"tf": [0], "target": [10_000]}))
    with pytest.raises(ValueError, match="train_pairs"):
        score_baseline("degree", toy, None, split["test"])


def test_genie3_score_of_a_pair_does_not_depend_on_the_other_pairs(toy, all_pairs):
    _, pairs = all_pairs
    together = score_baseline("genie3", toy, None, pairs.head(30), seed=2, n_estimators=4, cache=False)
    alone = score_baseline("genie3", toy, None, pairs.iloc[20:30], seed=2, n_estimators=4, cache=False)
    np.testing.assert_allclose(together[20:30], alone)
    cached = score_baseline("genie3", toy, None, pairs.iloc[20:30], seed=2, n_estimators=4)
    np.testing.assert_allclose(cached, alone)
    capped = score_baseline("genie3", toy, None, pairs, seed=2, n_estimators=4, max_targets=3)
    assert np.isfinite(capped).sum() == pairs["target"].isin(pairs["target"][np.isfinite(capped)]).sum()
    assert pairs["target"][np.isfinite(capped)].nunique() == 3


def test_genie3_tree_engine_is_scikit_learns_extra_trees_forest():
    """The lean per-tree engine averages importances exactly as ExtraTreesRegressor does: with the
    forest's own per-tree seeds it returns the forest's feature_importances_ (a constant target -> 0)."""
    from sklearn.ensemble import ExtraTreesRegressor

    from grnlib.evaluation.baselines import _extra_trees_importance, forest_tree_seeds

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 9))
    y = 2 * x[:, 0] + x[:, 3] + 0.3 * rng.normal(size=60)
    for depth in (None, 3):
        forest = ExtraTreesRegressor(n_estimators=6, max_features="sqrt", max_depth=depth, random_state=11).fit(x, y)
        seeds = forest_tree_seeds(11, 6)
        assert [t.random_state for t in forest.estimators_] == list(seeds)
        ours = _extra_trees_importance(np.asfortranarray(x, dtype=np.float32), y, seeds,
                                       max_features="sqrt", max_depth=depth, min_samples_leaf=1)
        np.testing.assert_allclose(ours, forest.feature_importances_, rtol=0, atol=1e-12)
    flat = _extra_trees_importance(np.asfortranarray(x, dtype=np.float32), np.ones(60), seeds, max_features="sqrt")
    assert not flat.any()


def test_genie3_tree_engine_scores_equal_the_forest_engine(toy, all_pairs):
    _, pairs = all_pairs
    lean = score_baseline("genie3", toy, None, pairs, seed=0, n_estimators=10, cache=False)
    forest = score_baseline("genie3", toy, None, pairs, seed=0, n_estimators=10, engine="ensemble", cache=False)
    np.testing.assert_allclose(lean, forest, rtol=1e-12, atol=1e-15)
    shallow = score_baseline("genie3", toy, None, pairs, seed=0, n_estimators=10, max_depth=2, cache=False)
    assert not np.allclose(shallow, lean)  # max_depth reaches the trees
    with pytest.raises(ValueError, match="engine"):
        score_baseline("genie3", toy, None, pairs, method="random_forest", engine="trees")
