"""Out-of-core expression (issue 23): an ``.h5ad`` read in row chunks gives the in-memory gene features.

- PCA features (fit and the predict pass) equal the in-memory recipe's within float32 rounding, for CSR
  and dense ``X``, raw counts and log data, and chunk sizes that do not divide the rows;
- the size switch (stored values against available memory) and its overrides;
- ``grnlib.fit(out_of_core=True)`` trains and ranks like the in-memory path;
- on a real Dask cluster (``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1) the
  passes give the in-process features, and a worker SIGKILLed mid-pass loses nothing.
"""
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grnlib.data import read_expression
from grnlib.errors import DataError
from grnlib.data import streaming
from grnlib.data.streaming import choose_out_of_core, open_streamed
from grnlib.features import FeatureRecipe

from dask_cluster import DASK, local_cluster, wait_for

# float32 rounding of sums over ~10^3 cells, relative to the largest feature (as tests/test_features_sparse.py)
RTOL = 2e-5


def _counts(n_cells=611, n_genes=240, seed=0) -> np.ndarray:
    """Seeded counts with cell-type programs (low-rank structure) and ~70 % zeros, some all-zero genes."""
    rng = np.random.default_rng(seed)
    types = rng.integers(0, 4, n_cells)
    rate = rng.gamma(0.4, 1.5, n_genes)[None, :] * np.exp(rng.normal(0, 1, (4, n_genes)))[types]
    rate *= rng.lognormal(0, 0.3, n_cells)[:, None]
    x = rng.poisson(rate).astype(np.float32)
    x[:, :3] = 0.0
    return x


def _write(path, x, dense=False) -> Path:
    n_cells, n_genes = x.shape
    adata = ad.AnnData(X=x if dense else sp.csr_matrix(x),
                       obs=pd.DataFrame(index=[f"cell{i}" for i in range(n_cells)]),
                       var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]))
    adata.write_h5ad(path)
    return Path(path)


def _close(a, b):
    np.testing.assert_allclose(b, a, atol=RTOL * float(np.abs(a).max()), rtol=0)


@pytest.fixture(scope="module")
def counts_file(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("ooc") / "counts.h5ad", _counts())


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("raw_counts", [True, False])
@pytest.mark.parametrize("chunk_values", [997, 5000, 10**9])  # rows per chunk: uneven, uneven, one chunk
def test_features_equal_in_memory(tmp_path, dense, raw_counts, chunk_values):
    x = _counts()
    if not raw_counts:
        x = np.log1p(x)
    path = _write(tmp_path / "m.h5ad", x, dense=dense)
    memory = read_expression(path, raw_counts=raw_counts)
    streamed = open_streamed(path, raw_counts=raw_counts, out_of_core=True, chunk_values=chunk_values)
    if chunk_values < 10**9:
        assert len(streamed.chunks()) > 1 and x.shape[0] % (streamed.chunks()[0][1]) != 0
    expected = FeatureRecipe.fit(memory, n_components=12, seed=4)
    got = FeatureRecipe.fit(streamed, n_components=12, seed=4)
    np.testing.assert_array_equal(got.cells, expected.cells)
    np.testing.assert_allclose(got.mean, expected.mean, atol=1e-6)
    assert got.scale == pytest.approx(expected.scale, rel=1e-5)
    _close(expected.reference, got.reference)
    _close(expected.components, got.components)
    _close(expected.transform(memory), got.transform(streamed))


def test_predict_pass_reads_the_training_cells_by_name(tmp_path, counts_file):
    """A saved recipe (no memory of its matrix) makes one pass; extra and reordered cells are as in memory."""
    memory = read_expression(counts_file, raw_counts=True)
    recipe = FeatureRecipe.fit(memory, n_components=8, seed=1)
    meta, tensors = recipe.state()
    import torch

    loaded = FeatureRecipe.from_state(json.loads(json.dumps(meta)), {k: torch.as_tensor(v) for k, v in tensors.items()})
    x = _counts()
    order = np.random.default_rng(2).permutation(x.shape[0])
    extra = np.vstack([x[order], _counts(n_cells=50, seed=9)])  # shuffled training cells + 50 new ones
    names = [f"cell{i}" for i in order] + [f"new{i}" for i in range(50)]
    path = tmp_path / "extra.h5ad"
    ad.AnnData(X=sp.csr_matrix(extra), obs=pd.DataFrame(index=names),
               var=pd.DataFrame(index=[f"G{i}" for i in range(x.shape[1])])).write_h5ad(path)
    streamed = open_streamed(path, raw_counts=True, out_of_core=True, chunk_values=3001)
    genes = np.array([5, 0, 17, 200])
    _close(recipe.transform(memory), loaded.transform(streamed))
    _close(recipe.transform(memory)[genes], loaded.transform(streamed, genes=genes))


def test_missing_cells_and_other_kinds_say_to_read_in_memory(tmp_path, counts_file):
    streamed = open_streamed(counts_file, raw_counts=True, out_of_core=True)
    with pytest.raises(DataError, match="--in-memory"):
        FeatureRecipe.fit(streamed, kind="pseudobulk")
    recipe = FeatureRecipe.fit(read_expression(counts_file, raw_counts=True), n_components=4)
    recipe.cells = [f"other{i}" for i in range(len(recipe.cells))]
    with pytest.raises(DataError, match="training cells.*--in-memory"):
        recipe.transform(streamed)


def test_the_size_switch():
    """In memory while its estimate fits half the available memory; the overrides win; the reason is worded."""
    fits = streaming.in_memory_estimate_mb(10**6)
    chosen, reason = choose_out_of_core(10**6, available=4 * fits)
    assert not chosen and reason.startswith("in memory") and "--out-of-core" in reason
    chosen, reason = choose_out_of_core(10**9, available=24 * 1024)  # 10^9 values on 24 GB: ~14 GB in memory
    assert chosen and reason.startswith("out of core") and "--in-memory" in reason
    assert choose_out_of_core(10**9, out_of_core=False, available=1024)[0] is False
    assert choose_out_of_core(10, out_of_core=True)[0] is True
    assert streaming.in_memory_estimate_mb(2 * 10**8) > streaming.in_memory_estimate_mb(10**8)


def test_automatic_switch_on_a_file(counts_file, monkeypatch):
    assert open_streamed(counts_file, raw_counts=True) is None  # a small file: the in-memory path
    assert open_streamed(counts_file, raw_counts=True, out_of_core=False) is None
    monkeypatch.setattr(streaming, "available_mb", lambda: 1.0)  # a machine without memory to spare
    streamed = open_streamed(counts_file, raw_counts=True)
    assert streamed is not None and streamed.shape == (611, 240) and streamed.nnz > 0


def test_the_automatic_choice_is_said_in_the_progress_line(counts_file, monkeypatch, capsys):
    from grnlib import progress

    monkeypatch.setattr(progress, "enabled", lambda: True)
    monkeypatch.setattr(streaming, "available_mb", lambda: 1.0)
    open_streamed(counts_file, raw_counts=True)
    line = capsys.readouterr().err
    assert "counts.h5ad: out of core (in memory needs" in line and "--in-memory to force" in line


def test_checks_of_the_first_pass(tmp_path):
    """The checks of read_expression, in the first pass training makes, or in predict's single pass."""
    x = _counts(n_cells=50, n_genes=30)
    x[7, 4] = -1.0
    with pytest.raises(DataError, match="negative value.*cell7"):
        open_streamed(_write(tmp_path / "neg.h5ad", x), raw_counts=True, out_of_core=True, chunk_values=200).first_pass()
    x[7, 4] = np.nan
    with pytest.raises(DataError, match="NaN.*cell7"):
        open_streamed(_write(tmp_path / "nan.h5ad", x), out_of_core=True, chunk_values=200).first_pass()
    recipe = FeatureRecipe.fit(read_expression(_write(tmp_path / "ok.h5ad", _counts(n_cells=50, n_genes=30))),
                               n_components=3)
    streamed = open_streamed(tmp_path / "nan.h5ad", out_of_core=True, chunk_values=200)
    with pytest.raises(DataError, match="NaN.*cell7"):
        recipe.transform(streamed)  # a saved recipe on a file not read before: its one pass checks it
    csc = tmp_path / "csc.h5ad"
    ad.AnnData(X=sp.csc_matrix(_counts(n_cells=20, n_genes=10))).write_h5ad(csc)
    with pytest.raises(DataError, match="cannot be read out of core.*csr"):
        open_streamed(csc, out_of_core=True)
    with pytest.warns(Warning, match="zero variance"):
        open_streamed(tmp_path / "ok.h5ad", raw_counts=True, out_of_core=True).first_pass()


def test_fit_out_of_core_matches_in_memory(tmp_path):
    """grnlib.fit on a file, streamed and loaded: the same held-out pairs, close metrics, one ranking pass."""
    import grnlib

    x = _counts(n_cells=400, n_genes=120, seed=3)
    path = _write(tmp_path / "fit.h5ad", x)
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(120)]
    net = pd.DataFrame({"source": rng.choice(genes[:12], 150), "target": rng.choice(genes[12:], 150)})
    kwargs = dict(model="phase1", raw_counts=True, epochs=2, features={"kind": "pca", "n_components": 8}, seed=0)
    memory = grnlib.fit(path, net.drop_duplicates(), out_of_core=False, **kwargs)
    streamed = grnlib.fit(path, net.drop_duplicates(), out_of_core=True, **kwargs)
    _close(memory.user_model.recipe.reference, streamed.user_model.recipe.reference)
    pd.testing.assert_frame_equal(memory.user_model.split["test"], streamed.user_model.split["test"])
    a, b = memory.metrics, streamed.metrics
    assert abs(a.loc["phase1", "auroc"] - b.loc["phase1", "auroc"]) < 0.02
    ranked = streamed.rank(path, top_k=50)
    assert len(ranked) == 50


# -- a real Dask cluster ---------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, {name: Popen}): :func:`dask_cluster.local_cluster` run from the repository."""
    pytest.importorskip("dask.distributed")
    if not DASK.is_file():
        pytest.skip("the dask command is not installed")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    with local_cluster(tmp_path_factory.mktemp("cluster"), env, cwd=ROOT) as running:
        yield running


@pytest.mark.slow
def test_cli_train_and_predict_on_the_scheduler(cluster, tmp_path):
    """``grnlib train/predict --scheduler ADDRESS`` run their passes on the cluster."""
    address, _ = cluster
    path = _write(tmp_path / "cli.h5ad", _counts(n_cells=300, n_genes=100, seed=7))
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(100)]
    pd.DataFrame({"source": rng.choice(genes[:10], 120), "target": rng.choice(genes[10:], 120)}).drop_duplicates() \
        .to_csv(tmp_path / "net.csv", index=False)
    env = dict(os.environ, OMP_NUM_THREADS="1", GRNLIB_NO_CACHE="1")
    common = ["--expression", str(path), "--scheduler", address, "--threads", "1"]
    train = subprocess.run([sys.executable, "-m", "grnlib.cli", "train", *common, "--raw-counts", "--priors",
                            str(tmp_path / "net.csv"), "--model", "phase1", "--epochs", "1", "--out",
                            str(tmp_path / "model")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert train.returncode == 0, train.stderr[-2000:]
    predict = subprocess.run([sys.executable, "-m", "grnlib.cli", "predict", "--model", str(tmp_path / "model"),
                              *common, "--top-k", "20", "--out", str(tmp_path / "ranked.tsv")], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert predict.returncode == 0, predict.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "ranked.tsv", sep="\t")) == 20


def test_unreachable_scheduler_is_a_data_error():
    pytest.importorskip("dask.distributed")
    with pytest.raises(DataError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9.*--scheduler"):
        streaming.connect("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.slow
def test_dask_cluster_gives_the_in_process_features_and_survives_a_killed_worker(cluster, tmp_path):
    from dask.distributed import Client

    address, workers = cluster
    x = _counts(n_cells=6000, n_genes=300, seed=5)
    path = _write(tmp_path / "cluster.h5ad", x)
    expected = FeatureRecipe.fit(read_expression(path, raw_counts=True), n_components=10, seed=2)
    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
        streamed = open_streamed(path, raw_counts=True, client=client, chunk_values=20_000)
        assert len(streamed.chunks()) >= 20
        on_cluster = FeatureRecipe.fit(streamed, n_components=10, seed=2)
        _close(expected.reference, on_cluster.reference)
        ran_on = client.run(os.getpid)
        assert len(ran_on) == 2 and os.getpid() not in ran_on.values()  # the workers computed it

        # again, SIGKILLing w1 while it runs a chunk task: the scheduler gives its tasks to w2
        names = {w["name"]: addr for addr, w in client.scheduler_info()["workers"].items()}
        result, errors = {}, []

        def fit():
            try:
                result["recipe"] = FeatureRecipe.fit(streamed, n_components=10, seed=2)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
        thread = threading.Thread(target=fit)
        thread.start()
        wait_for(lambda: any("grnlib-chunk" in str(k) for k in client.processing().get(names["w1"], ())), 30,
                  "a chunk task running on worker w1")
        os.kill(workers["w1"].pid, signal.SIGKILL)
        workers["w1"].wait(timeout=10)
        thread.join(timeout=60)
        assert not thread.is_alive() and not errors, errors
        assert len(client.scheduler_info()["workers"]) == 1
        _close(expected.reference, result["recipe"].reference)


def test_normalised_values_are_kept_once_and_removed(counts_file):
    """Raw counts are normalised by the first pass into a local file that later passes read; it goes with
    the matrix object."""
    import gc

    streamed = open_streamed(counts_file, raw_counts=True, out_of_core=True, chunk_values=3000)
    assert streamed.source.spill is None  # nothing is read before it is needed
    streamed.first_pass()
    spill = Path(streamed.source.spill)
    assert spill.is_file() and spill.stat().st_size == 4 * streamed.nnz
    memory = read_expression(counts_file, raw_counts=True)
    np.testing.assert_array_equal(np.fromfile(spill, dtype=np.float32), memory.X.data)
    start, stop = streamed.chunks()[2]
    np.testing.assert_array_equal(streamed.source.read(start, stop).toarray(), memory.X[start:stop].toarray())
    del streamed
    gc.collect()
    assert not spill.exists()


def test_pair_statistics_read_a_seeded_cell_sample(counts_file, monkeypatch):
    """Out of core, ``GRNDataset.expression_matrix`` (pair evidence, correlation baselines) is a seeded sample."""
    from grnlib.data import GRNDataset

    monkeypatch.setattr(streaming, "PAIR_SAMPLE_CELLS", 100)
    streamed = open_streamed(counts_file, raw_counts=True, out_of_core=True)
    ds = GRNDataset(id="s", genes=pd.Index(streamed.var_names), tf_ids=np.arange(3),
                    edges=pd.DataFrame({"tf": [0, 1], "target": [5, 6]}), expression=streamed)
    x = ds.expression_matrix()
    assert x.shape == (240, 100) and x.dtype == np.float32
    np.testing.assert_array_equal(x, ds.expression_matrix())  # seeded: the same cells every time
    memory = read_expression(counts_file, raw_counts=True)
    rows = np.sort(np.random.default_rng([0, 17]).choice(611, 100, replace=False))
    np.testing.assert_array_equal(x, memory.X[rows].toarray().T)


def test_agreement_reads_several_chunks_and_reports_float32_rounding():
    """What chapter 11 shows for the feature goal: the toy matrix in several chunks, within float32 rounding."""
    from grnlib import features_ooc

    check = features_ooc.agreement()
    assert check["chunks"] > 1 and check["cells"] == 2000
    assert check["equal"] and 0 <= check["relative"] <= features_ooc.FLOAT32_RTOL
