"""The scale benchmark's parts: the seeded sparse count generator (benchmarks/synth.py) and the
measuring harness (benchmarks/scale.py). Small sizes only; ``make bench`` measures."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import scale, synth  # noqa: E402


def test_sampler_draws_the_negative_binomial_exactly():
    rng = np.random.default_rng(0)
    m, r = 0.3, 2.0  # a typical sparse entry: ~24 % non-zero
    mean = np.full((400, 500), m, dtype=np.float32)
    rows, cols, counts = synth.sample_counts(mean, np.full(500, r), rng)
    x = np.zeros(mean.shape)
    x[rows, cols] = counts
    assert (counts >= 1).all() and counts.dtype == np.float32
    assert (x == 0).mean() == pytest.approx((r / (r + m)) ** r, abs=0.005)
    assert x.mean() == pytest.approx(m, rel=0.02)
    assert x.var() == pytest.approx(m + m * m / r, rel=0.03)
    # Large means take the long walk up the CDF and still match.
    big = np.full((50, 200), 40.0, dtype=np.float32)
    rows, cols, counts = synth.sample_counts(big, np.full(200, 2.0), rng)
    assert counts.mean() == pytest.approx(40.0 / (1 - (2 / 42) ** 2), rel=0.03)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, shared_root):
    out = tmp_path_factory.mktemp("synth") / "m.h5ad"
    return out, synth.generate(120, 900, seed=3, out=out, progress=False)


def test_generated_matrix_is_sparse_seeded_counts_with_prior_symbols(matrix, tmp_path):
    import anndata as ad
    import scipy.sparse as sp

    from grnlib.data import load_priors, read_expression
    from grnlib.errors import DataWarning

    path, info = matrix
    adata = ad.read_h5ad(path)
    assert adata.shape == (120, 900) and sp.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    assert info["nnz"] == adata.X.nnz and abs(info["zero_fraction"] - 0.9) < 0.03
    assert np.array_equal(adata.X.data, np.round(adata.X.data)) and adata.X.data.min() >= 1
    priors = load_priors(synth.PRIOR_RESOURCES)
    assert set(adata.var_names) <= set(priors["source"]) | set(priors["target"])
    with pytest.warns(DataWarning, match="zero in every cell"):  # 120 cells: rare genes are never seen
        assert read_expression(path, raw_counts=True).n_vars == 900  # grnlib reads it as a user's file
    # Same seed, same bytes of matrix; another seed, another matrix.
    again = ad.read_h5ad(synth.generate(120, 900, seed=3, out=tmp_path / "again.h5ad", progress=False)["path"])
    assert (again.X != adata.X).nnz == 0 and list(again.var_names) == list(adata.var_names)
    other = ad.read_h5ad(synth.generate(120, 900, seed=4, out=tmp_path / "other.h5ad", progress=False)["path"])
    assert (other.X != adata.X).nnz > 0


def test_more_genes_than_prior_symbols_are_padded(shared_root):
    names = synth.gene_symbols(20_000, seed=0)
    assert len(names) == len(set(names)) == 20_000
    assert names[-1] == f"SYNTH{20_000 - sum(not n.startswith('SYNTH') for n in names):05d}"
    assert synth.gene_symbols(50, seed=0) == names[:50]


def test_parse_sizes():
    assert scale.parse_sizes("2000x5000, 10000X20000@0.97") == [(2000, 5000, 0.9), (10000, 20000, 0.97)]
    assert scale.size_name(10000, 20000, 0.97) == "10000x20000_z970" and scale.size_name(5, 6) == "5x6"
    for bad in ("2000*5000", "2000x5000@1.5", "2000x5000@lots"):
        with pytest.raises(SystemExit, match="not CELLSxGENES"):
            scale.parse_sizes(bad)


def test_unit_costs_tell_non_zeros_from_matrix_entries():
    def record(cells, genes, density, per_nnz_mb, per_entry_mb):
        nnz = int(cells * genes * density)
        return {"cells": cells, "genes": genes, "nnz": nnz,
                "train_peak_rss_mb": 400 + per_nnz_mb * nnz + per_entry_mb * cells * genes}

    sizes = [(2000, 5000, 0.1), (10000, 10000, 0.1), (20000, 20000, 0.1), (20000, 20000, 0.03)]
    sparse = [record(c, g, d, 50 / 2**20, 0.0) for c, g, d in sizes]  # 50 bytes per stored value
    fit = scale.unit_costs(sparse, "train_peak_rss_mb")
    assert fit["bytes_per_nnz"] == pytest.approx(50, abs=0.01) and fit["bytes_per_entry"] == pytest.approx(0, abs=1e-3)
    dense = [record(c, g, d, 0.0, 35 / 2**20) for c, g, d in sizes]  # the 35 bytes per entry
    fit = scale.unit_costs(dense, "train_peak_rss_mb")
    assert fit["bytes_per_entry"] == pytest.approx(35, abs=0.01) and fit["bytes_per_nnz"] == pytest.approx(0, abs=0.01)
    assert scale.unit_costs(sparse[:3], "train_peak_rss_mb") is None  # one density: cannot tell them apart


def test_measure_reports_peak_memory_and_stops_a_runaway(tmp_path):
    grow = [sys.executable, "-c", "import time; b = bytearray(300 * 2**20); time.sleep(0.5)"]
    result = scale.measure(grow, tmp_path / "ok.log", max_rss_mb=10_000, timeout=60)
    assert result["returncode"] == 0 and "error" not in result and result["peak_rss_mb"] >= 300
    hog = [sys.executable, "-c", "import time; b = bytearray(400 * 2**20); time.sleep(30)"]
    result = scale.measure(hog, tmp_path / "hog.log", max_rss_mb=200, timeout=60)
    assert result["error"].startswith("killed at") and result["seconds"] < 20
    failing = [sys.executable, "-c", "import sys; print('no such file'); sys.exit(3)"]
    result = scale.measure(failing, tmp_path / "bad.log", max_rss_mb=10_000, timeout=60)
    assert result["error"] == "exit code 3: no such file"


def test_growth_fits_and_moonshot_is_marked_extrapolated():
    records = [{"cells": c, "genes": 1000, "nnz": c * 100, "train_seconds": 5 + c * 1e-3,
                "train_peak_rss_mb": 400 + c * 0.01, "predict_seconds": 2.0, "predict_peak_rss_mb": 300.0}
               for c in (1000, 4000, 16000)]
    fit = scale.growth(records, "nnz", "train_seconds")
    assert fit["slope"] == pytest.approx(1e-5) and fit["intercept"] == pytest.approx(5.0)
    assert 0 < fit["b"] < 1  # the start-up cost bends the power law
    moon = scale.summary(records)["moonshot"]
    assert moon["measured"] is False and moon["how"].startswith("extrapolated")
    assert moon["nnz"] == 3_000_000_000 and moon["train_seconds"] == pytest.approx(5 + 3e9 * 1e-5, rel=1e-6)
    assert scale.summary(records[:1])["moonshot"] is None  # one size: nothing to extrapolate from
    rows = scale.target_rows(records + [{**records[0], "cells": 50_000, "genes": 20_000, "train_seconds": 200.0}])
    assert ("scale 50,000 x 20,000: train_seconds", 200.0, 180.0, "s") in rows


def test_scale_costs_figure_from_bench_records():
    import matplotlib

    matplotlib.use("Agg")
    from grnlib import plots, tables

    records = [{"cells": c, "genes": g, "nnz": c * g // 10, "train_seconds": 1 + c * g * 1e-7,
                "train_peak_rss_mb": 400 + c * g * 1e-5, "predict_seconds": 2.0, "predict_peak_rss_mb": 380.0}
               for c, g in ((2000, 5000), (10000, 5000), (10000, 20000))]
    failed = {"cells": 50000, "genes": 20000, "nnz": None, "train_seconds": None, "train_peak_rss_mb": None,
              "predict_seconds": None, "predict_peak_rss_mb": None, "error": "train: killed"}
    fig = plots.scale_costs(tables.bench_table({"scale": records + [failed]}, "scale"))
    axes = fig.get_axes()
    assert [ax.get_xlabel() for ax in axes] == ["cells", "genes", "non-zeros"] * 2
    assert all(ax.get_xscale() == "log" for ax in axes)
    # Two series (train, predict) of three measured points each; the failed size is not drawn.
    assert all([len(c.get_offsets()) for c in ax.collections] == [3, 3] for ax in axes)
    empty = plots.scale_costs(tables.bench_table({}, "scale"))
    assert all(ax.texts for ax in empty.get_axes())  # "not in this run" instead of an error


def test_out_of_core_records_are_extrapolated_per_path_and_merged():
    """Issue 23: the out-of-core records get their own fits; goal sizes not run are extrapolated (time from
    CPU seconds) and labelled; a partial run keeps the other paths' records."""
    ooc = [{"path": "out-of-core", "cells": c, "genes": 20_000, "nnz": c * 2000, "train_seconds": 30 + c * 1e-3,
            "train_cpu_seconds": 20 + c * 2e-3, "train_peak_rss_mb": 800 + c * 1e-4, "predict_seconds": 10.0,
            "predict_cpu_seconds": 5 + c * 1e-4, "predict_peak_rss_mb": 900.0} for c in (50_000, 100_000, 200_000)]
    memory = [{"cells": 50_000, "genes": 20_000, "nnz": 10**8, "train_seconds": 64.0, "train_peak_rss_mb": 1725.0,
               "predict_seconds": 21.0, "predict_peak_rss_mb": 1640.0}]
    summary = scale.summary(memory + ooc)
    assert summary["moonshot"] is None  # one in-memory size: the in-memory fits ignore the out-of-core records
    guesses = {(g["cells"], g["genes"]): g for g in summary["out_of_core"]["extrapolated"]}
    assert set(guesses) == {(500_000, 20_000), (1_000_000, 30_000)}
    assert all(g["measured"] is False and g["how"].startswith("extrapolated") for g in guesses.values())
    assert guesses[(500_000, 20_000)]["train_cpu_seconds"] == pytest.approx(20 + 500_000 * 2e-3, rel=1e-6)
    assert summary["out_of_core"]["rss_bytes_per_nnz"]["train_peak_rss_mb"] == pytest.approx(1e-4 / 2000 * 2**20,
                                                                                              abs=1e-3)
    rows = {name: value for name, value, *_ in scale.target_rows(memory + ooc)}
    name = ("out of core 500,000 x 20,000: train_cpu_seconds (extrapolated from 3 sizes, CPU seconds: wall on an "
            "idle core)")
    assert rows[name] == pytest.approx(1020.0, rel=1e-6)
    assert rows["out of core: train peak RSS growth (bytes per non-zero)"] < 1
    merged = scale.merge_records(memory + ooc[:1], [{**ooc[0], "train_seconds": 1.0}])
    assert [(r["path"], r["train_seconds"]) for r in merged] == [("in-memory", 64.0), ("out-of-core", 1.0)]
