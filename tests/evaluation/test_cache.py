"""The run cache: a second identical run is served from the cache with identical metrics; any change
of spec, data, split or seed misses; damaged entries are recomputed; the size limit holds."""
import pytest

from grnlib.data import make_toy
from grnlib.evaluation import cache
from grnlib.evaluation.experiment import evaluate_split
from grnlib.evaluation.protocols import make_split

RUN = {"preset": "baseline", "train": {"epochs": 2}}


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "runs"))
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    return tmp_path / "runs"


def _toy():
    ds = make_toy(n_genes=40, n_tfs=6, n_cells=20, seed=3)
    return ds, make_split(ds, "seed", seed=0)


def _metrics(evaluation):
    return evaluation.metrics.drop(columns=["cached", "seconds"]).to_dict(orient="records")


def test_second_run_is_served_from_the_cache_with_identical_metrics(fresh_cache):
    ds, split = _toy()
    first = evaluate_split(ds, split, [RUN, "phase1"], baselines=("degree",), seed=0)
    second = evaluate_split(ds, split, [RUN, "phase1"], baselines=("degree",), seed=0)
    assert not first.metrics["cached"].any() and second.metrics["cached"].all()
    assert _metrics(first) == _metrics(second)
    trained = second.trained["phase1"]
    assert trained.recipe is not None and trained.features.shape[0] == ds.n_genes
    assert len(second.histories["baseline"]) == 2


def test_a_changed_spec_seed_or_split_misses(fresh_cache):
    ds, split = _toy()
    evaluate_split(ds, split, [RUN], baselines=(), seed=0)
    other_split = make_split(ds, "seed", seed=1)
    for args in [(split, [{**RUN, "train": {"epochs": 3}}], 0), (split, [RUN], 1), (other_split, [RUN], 0)]:
        assert not evaluate_split(ds, args[0], args[1], baselines=(), seed=args[2]).metrics["cached"].any()


def test_damaged_entries_are_recomputed(fresh_cache):
    ds, split = _toy()
    first = evaluate_split(ds, split, [RUN], baselines=("degree",), seed=0)
    for entry in fresh_cache.glob("*/*.pt"):
        entry.write_bytes(entry.read_bytes()[:-10])  # truncated
    with pytest.warns(UserWarning, match="damaged"):
        again = evaluate_split(ds, split, [RUN], baselines=("degree",), seed=0)
    assert not again.metrics["cached"].any() and _metrics(first) == _metrics(again)


def test_disabled_cache_writes_nothing(fresh_cache, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    ds, split = _toy()
    evaluate_split(ds, split, [RUN], seed=0)
    assert not fresh_cache.exists() or not list(fresh_cache.rglob("*.pt"))


def test_size_limit_evicts_least_recently_used(fresh_cache):
    ds, split = _toy()
    evaluate_split(ds, split, [RUN, "phase1"], baselines=("degree",), seed=0)
    assert len(list(fresh_cache.glob("*/*.pt"))) == 3
    assert cache.evict(0) == 3 and not list(fresh_cache.glob("*/*.pt"))


def _hammer(root, worker):
    import os
    import warnings

    import torch

    os.environ[cache.ENV_DIR] = root
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn or damaged entry would warn
        for i in range(30):
            cache.store("ab" * 20, {"val": torch.full((1000,), float(worker)), "seconds": float(i)})
            entry = cache.load("ab" * 20)
            assert entry is not None and entry["val"].shape == (1000,)


def test_concurrent_writers_of_one_key_never_tear_an_entry(fresh_cache):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(str(fresh_cache), w)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0]
