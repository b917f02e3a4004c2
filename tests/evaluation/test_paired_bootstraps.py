"""paired_bootstraps (every scorer against one baseline on the same resamples) gives exactly the numbers of one
paired_bootstrap call per scorer: the comparison chapter relies on it to compute the floor's resamples once."""
import numpy as np

from grnlib.evaluation.metrics import paired_bootstrap, paired_bootstraps


def _scores(n=800, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    scores = {f"model{i}": rng.random(n) + 0.2 * i * y for i in range(4)}
    scores["degree"] = np.round(rng.random(n) * 10) + 2 * y  # ties, like a count floor
    return y, scores


def test_same_numbers_as_one_call_per_scorer():
    y, scores = _scores()
    together = paired_bootstraps(y, scores, "degree", metric="auroc", n_boot=300, seed=7)
    assert list(together) == ["model0", "model1", "model2", "model3"]
    for name, result in together.items():
        assert result == paired_bootstrap(y, scores[name], scores["degree"], metric="auroc", n_boot=300, seed=7)
    assert together["model3"]["delta"] > together["model0"]["delta"]


def test_function_metric_and_auprc():
    y, scores = _scores(n=300, seed=1)
    gap = lambda labels, s: float(s[labels == 1].mean() - s[labels == 0].mean())  # noqa: E731
    for metric in (gap, "auprc"):
        together = paired_bootstraps(y, scores, "degree", metric=metric, n_boot=40, seed=2)
        assert together["model2"] == paired_bootstrap(y, scores["model2"], scores["degree"], metric=metric,
                                                      n_boot=40, seed=2)
