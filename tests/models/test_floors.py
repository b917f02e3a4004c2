"""Floors as numbers: XSwap keeps every degree, the edge prior is a seeded, leave-one-out
function of the degrees, the per-TF base rates and the degree logit."""
import time

import numpy as np
import pandas as pd
import pytest

from grnlib.data import make_toy
from grnlib.evaluation.baselines import score_baseline
from grnlib.evaluation.metrics import auroc
from grnlib.evaluation.protocols import make_split
from grnlib.models.floors import (EdgePrior, base_rate_offsets, bilinear, degree_logit, loo_log_degrees,
                                  positive_edges, xswap, zietz_approximation)


@pytest.fixture(scope="module")
def toy():
    return make_toy(n_genes=300, n_tfs=40, mean_targets=15, seed=4, with_expression=False)


@pytest.fixture(scope="module")
def split(toy):
    return make_split(toy, "seed", seed=0)


def test_xswap_keeps_degrees_and_makes_a_valid_different_network(toy, split):
    edges = positive_edges(split["train"])
    tfs = np.unique(edges[0])
    row = np.full(toy.n_genes, -1)
    row[tfs] = np.arange(tfs.size)
    sources = row[edges[0]]
    permuted = xswap(sources, edges[1], tfs, toy.n_genes, np.random.default_rng(0), swaps_per_edge=10)
    assert np.array_equal(np.bincount(permuted, minlength=toy.n_genes), np.bincount(edges[1], minlength=toy.n_genes))
    codes = sources * toy.n_genes + permuted
    assert np.unique(codes).size == codes.size  # no duplicate edges
    assert not np.any(tfs[sources] == permuted)  # no self pairs
    assert np.mean(permuted != edges[1]) > 0.8  # well mixed
    again = xswap(sources, edges[1], tfs, toy.n_genes, np.random.default_rng(0), swaps_per_edge=10)
    assert np.array_equal(permuted, again)  # seeded


def test_edge_prior_matches_its_degrees_and_is_leave_one_out(toy, split):
    train = split["train"]
    prior = EdgePrior.fit(train, toy.n_genes, n_permutations=10, seed=0, candidate_tfs=toy.tf_ids)
    edges = positive_edges(train)
    # the expected number of edges of the permuted networks is the real one
    tfs = np.asarray(toy.tf_ids)
    pairs = pd.DataFrame({"tf": np.repeat(tfs, toy.n_genes), "target": np.tile(np.arange(toy.n_genes), tfs.size)})
    pairs = pairs[pairs["tf"] != pairs["target"]]
    p = 1 / (1 + np.exp(-prior.score(train, pairs, toy.n_genes, leave_one_out=False)))
    assert p.sum() == pytest.approx(edges.shape[1], rel=0.1)
    # grid points are exact; a training positive is scored at its degrees minus its own edge
    assert bilinear(np.array([0.0, 1.0]), np.array([0.0, 2.0]), np.array([[0.0, 2.0], [1.0, 3.0]]),
                    [0.5, 1.0], [1.0, 2.0]) == pytest.approx([1.5, 3.0])
    positive = train[train["label"] == 1].head(1)
    x = np.expm1(loo_log_degrees(train, positive, toy.n_genes, leave_one_out=False))[0]
    assert prior.score(train, positive, toy.n_genes)[0] == pytest.approx(prior.logit([x[0] - 1], [x[1] - 1])[0])
    # more degree, more prior
    assert prior.logit([10], [5])[0] > prior.logit([2], [5])[0] > prior.logit([2], [0])[0]
    assert zietz_approximation(0, 5, 100) == 0


def test_edge_prior_baseline_is_a_floor_and_fast(toy, split):
    start = time.perf_counter()
    scores = score_baseline("edge_prior", toy, split["train"], split["test"], seed=0)
    seconds = time.perf_counter() - start
    assert auroc(split["test"]["label"], scores) > 0.6  # degrees carry signal on uniform negatives
    assert seconds < 5
    assert np.array_equal(scores, score_baseline("edge_prior", toy, split["train"], split["test"], seed=0))


def test_base_rates_and_degree_logit(toy):
    balanced = make_split(toy, "heldout-tf", seed=0)["train"]
    uniform = make_split(toy, "seed", seed=0)["train"]
    assert base_rate_offsets(balanced, toy.n_genes).slope < 0.3
    assert base_rate_offsets(uniform, toy.n_genes).slope > 0.7
    w_out, w_in, _ = degree_logit(uniform, toy.n_genes)
    assert w_out > 0  # on uniform negatives a TF's degree says how many of its pairs are edges
    hidden = degree_logit(balanced, toy.n_genes, hide_tf=True)
    assert hidden[0] == 0.0  # a hidden TF has no out-degree to weigh
