"""The sweep runner: plans, scorer names, resuming, Dask execution, summaries (toy data, < ~30 s)."""
import json

import numpy as np
import pandas as pd
import pytest

from grnlib.benchmark import sweep
from grnlib.data import make_toy
from grnlib.errors import DataError
from grnlib.evaluation import cells as cells_module
from grnlib.evaluation.cells import Cell


def _real_data_available() -> bool:
    try:
        from grnlib.data import split_samples

        return 1 in split_samples("beeline/Specific/hHEP/500")
    except Exception:  # no data root on this machine
        return False


@pytest.fixture
def toy_cells(monkeypatch):
    """Cells over two toy datasets; evaluate_cell calls are counted in ``calls``."""
    datasets = {"toy/a": make_toy(n_genes=60, n_tfs=8, n_cells=30, seed=1),
                "toy/b": make_toy(n_genes=60, n_tfs=8, n_cells=30, seed=2, with_expression=False)}
    for name, ds in datasets.items():
        ds.id = name
    calls = []
    original = sweep.evaluate_cell

    def counting(cell, *args, **kwargs):
        calls.append(cell.key)
        return original(cell, *args, **kwargs)

    monkeypatch.setattr(cells_module, "cached_dataset", lambda dataset, root: datasets[dataset])
    monkeypatch.setattr(sweep, "evaluate_cell", counting)
    cells = [Cell(d, p, s, 0, ("degree", "random"), None) for d in datasets for p in ("seed", "heldout-tf")
             for s in (0, 1)]
    return cells, calls


def test_run_resumes_without_redoing_finished_cells(toy_cells, tmp_path):
    cells, calls = toy_cells
    first = sweep.run_sweep(cells[:5], tmp_path, n_workers=0, progress=False)
    assert first == {**first, "planned": 5, "done": 5, "skipped": 0, "failed": 0}
    assert len(calls) == 5
    # A killed run can leave a torn last line: it is ignored and that cell is not counted as done.
    with open(tmp_path / sweep.CELL_FILE, "a") as fh:
        fh.write('{"key": "' + cells[5].key + '", "resu')
    second = sweep.run_sweep(cells, tmp_path, n_workers=0, progress=False)
    assert second["skipped"] == 5 and second["done"] == 3
    assert calls[5:] == [c.key for c in cells[5:]]  # only the unfinished cells ran
    keys = [c["key"] for c in sweep.read_cells(tmp_path)]
    assert sorted(keys) == sorted(c.key for c in cells)
    third = sweep.run_sweep(cells, tmp_path, n_workers=0, progress=False)
    assert third["done"] == 0 and third["skipped"] == len(cells) and len(calls) == 8
    meta = json.loads((tmp_path / sweep.META_FILE).read_text())
    assert meta["n_cells_planned"] == len(cells) and "git_commit" in meta and "host" in meta


def test_records_hold_every_metric_per_scorer(toy_cells, tmp_path):
    cells, _ = toy_cells
    sweep.run_sweep(cells[:1], tmp_path, n_workers=0, progress=False)
    frame = sweep.results_frame(tmp_path)
    assert list(frame["model"]) == ["degree", "random"]
    for column in ("dataset", "protocol", "seed", "fold", "split", "auroc", "auprc", "pos_rate", "n_test", "mcc",
                   "per_tf_auroc", "early_precision_ratio"):
        assert column in frame, column
    assert (frame["split"] == "test").all() and (frame["n_test"] == frame["n"]).all()


def test_failed_cell_is_logged_and_retried(toy_cells, tmp_path):
    cells, _ = toy_cells
    bad = Cell("toy/b", "seed", 0, 0, ("degree", "correlation"), None)  # toy/b has no expression
    counts = sweep.run_sweep([bad, cells[0]], tmp_path, n_workers=0, progress=False)
    assert counts["failed"] == 1 and counts["done"] == 1
    error = json.loads((tmp_path / sweep.ERROR_FILE).read_text().splitlines()[0])
    assert error["key"] == bad.key and "expression" in error["error"]
    assert sweep.run_sweep([bad], tmp_path, n_workers=0, progress=False)["failed"] == 1  # tried again


def test_a_cell_that_fails_once_is_retried_and_no_longer_counted_as_failed(toy_cells, monkeypatch, tmp_path):
    cells, _ = toy_cells
    counting = sweep.evaluate_cell
    failures = []

    def fails_first_time(cell, *args, **kwargs):
        if not failures:
            failures.append(cell.key)
            raise ValueError("Expected more than 1 value per channel when training")
        return counting(cell, *args, **kwargs)

    monkeypatch.setattr(sweep, "evaluate_cell", fails_first_time)
    assert sweep.run_sweep(cells[:2], tmp_path, n_workers=0, progress=False)["failed"] == 1
    assert list(sweep.open_errors(tmp_path)) == [cells[0].key]
    again = sweep.run_sweep(cells[:2], tmp_path, n_workers=0, progress=False)
    assert again["done"] == 1 and again["failed"] == 0 and again["skipped"] == 1
    assert len((tmp_path / sweep.ERROR_FILE).read_text().splitlines()) == 1  # the log keeps the old failure
    assert sweep.open_errors(tmp_path) == {}
    paths = sweep.summarize(tmp_path, tmp_path / "bench", name="toy")
    assert json.loads(paths["meta"].read_text())["n_errors"] == 0


def test_dask_local_cluster_runs_cells(toy_cells, tmp_path):
    pytest.importorskip("dask.distributed")
    cells, calls = toy_cells
    counts = sweep.run_sweep(cells[:3], tmp_path, n_workers=1, processes=False, progress=False)
    assert counts["done"] == 3 and counts["failed"] == 0
    assert sorted(calls) == sorted(c.key for c in cells[:3])
    assert len(sweep.read_cells(tmp_path)) == 3


def test_append_jsonl_writes_whole_lines(tmp_path):
    path = tmp_path / "x.jsonl"
    sweep.append_jsonl(path, {"a": np.int64(1), "b": [np.float32(0.5)]})
    sweep.append_jsonl(path, {"a": 2})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["a"] for line in lines] == [1, 2]
    with pytest.raises(ValueError):
        sweep.append_jsonl(path, {"a": float("nan")})  # strict JSON: NaN never reaches the file
    assert len(path.read_text().splitlines()) == 2


def test_summaries_and_confidence_intervals(toy_cells, tmp_path):
    cells, _ = toy_cells
    raw = tmp_path / "raw"
    sweep.run_sweep(cells, raw, n_workers=0, progress=False)
    paths = sweep.summarize(raw, tmp_path / "bench", name="toy")
    summary = pd.read_csv(paths["summary"])
    assert set(summary["model"]) == {"degree", "random"}
    assert (summary["n_seeds"] == 2).all()
    row = summary[(summary["dataset"] == "toy/a") & (summary["protocol"] == "seed") & (summary["model"] == "degree")]
    cell_rows = pd.read_csv(paths["cells"])
    expected = cell_rows[(cell_rows["dataset"] == "toy/a") & (cell_rows["protocol"] == "seed")
                         & (cell_rows["model"] == "degree")]["auroc"].mean()
    assert row["auroc_mean"].iloc[0] == pytest.approx(expected, abs=1e-4)
    loaded = sweep.load_summary(tmp_path / "bench", "toy")
    assert loaded["meta"]["n_cells"] == len(cells)
    assert loaded["meta"]["ci_method"].startswith("mean ± t(0.975, n - 1)")


def test_aggregate_ci_is_a_t_interval_over_settings():
    summary = pd.DataFrame({"dataset": ["a", "b", "c", "a", "b", "c"], "protocol": ["p"] * 6, "network": ["n"] * 6,
                            "model": ["degree"] * 3 + ["m"] * 3, "auroc_mean": [0.5, 0.6, 0.7, 0.6, 0.8, 0.7]})
    table = sweep.aggregate(summary, ("protocol", "network")).set_index("model")
    values = np.array([0.6, 0.8, 0.7])
    logits = np.log(values / (1 - values))  # a bounded metric: the t interval of the mean logit, mapped back
    half = 4.302653 * logits.std(ddof=1) / np.sqrt(3)  # t(0.975, df = 2): 3 settings, not 1.96
    assert table.loc["m", "mean"] == pytest.approx(0.7)
    assert table.loc["m", "ci_high"] == pytest.approx(1 / (1 + np.exp(-(logits.mean() + half))))
    assert table.loc["m", "ci_low"] == pytest.approx(1 / (1 + np.exp(-(logits.mean() - half))))
    assert table.loc["m", "delta"] == pytest.approx(0.1)  # paired over settings
    assert table.loc["degree", "delta"] == pytest.approx(0.0)


@pytest.mark.skipif(not _real_data_available(), reason="BEELINE data not available")
def test_plans_respect_expression_splits_and_reserved_sets():
    full = sweep.make_plan("full")
    assert full and not any("mHSC-L" in c.dataset or "Lofgof" in c.dataset for c in full)
    by_dataset = {}
    for cell in full:
        by_dataset.setdefault(cell.dataset, set()).update(cell.models)
    assert "phase1" not in by_dataset["beeline/Specific/hESC/500"]  # no expression
    assert {"degree", "baseline", "phase3"} <= by_dataset["beeline/Specific/hESC/500"]
    assert "genie3" in by_dataset["beeline/Specific/hHEP/500"] and "genie3" not in by_dataset["beeline/Specific/hHEP/1000"]
    assert "phase3" not in by_dataset["beeline/Specific/hHEP/1000"]
    assert not any(c.protocol == "released" and "hESC" in c.dataset for c in full)  # no released splits
    assert {c.protocol for c in full} == {"released", "seed", "heldout-tf", "degree-matched"}
    reserved = sweep.make_plan("full", reserved=True)
    assert reserved and all("mHSC-L" in c.dataset or "Lofgof" in c.dataset for c in reserved)
    assert sweep.estimate_seconds(full)["wall_seconds"] > 0
    assert [c.seed for c in full] == sorted(c.seed for c in full)  # seed-major


def test_unreachable_or_empty_scheduler_is_one_clear_error(monkeypatch):
    pytest.importorskip("dask.distributed")
    import socket

    from dask.distributed import LocalCluster

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT", 1)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DataError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:\d+'.*dask scheduler"):
        sweep._connect(f"tcp://127.0.0.1:{port}")
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(DataError, match="has no worker after 1 s.*dask worker"):
            sweep._connect(cluster.scheduler_address)


def _floors_summary():
    """Two settings; degree is the higher floor on validation in `a`, the edge prior in `b`."""
    rows = []
    for dataset, (deg_val, ep_val) in {"beeline/Specific/a/500": (0.8, 0.7), "beeline/Specific/b/500": (0.6, 0.9)}.items():
        for model, test, per_tf, val in (("degree", 0.80, 0.70, deg_val), ("edge_prior", 0.84, 0.72, ep_val),
                                         ("m", 0.86, 0.80, 0.95)):
            rows.append({"dataset": dataset, "network": "Specific", "protocol": "released", "model": model,
                         "auroc_mean": test, "auprc_mean": test / 2, "per_tf_auroc_mean": per_tf,
                         "val_auroc_mean": val})
    rows.append({**rows[-1], "dataset": "beeline/Specific/c/500"})  # no floor ran here: left out
    return pd.DataFrame(rows)


def test_against_floors_judges_each_setting_against_its_higher_floor_on_validation():
    from grnlib.benchmark.summary import against_floors, floors_figure, higher_floor

    summary = _floors_summary()
    assert higher_floor(summary).tolist() == ["degree", "edge_prior"]
    table = against_floors(summary)
    row = table.loc[("AUROC", "released", "Specific", "m")]
    assert row["n"] == 2 and row["mean"] == "0.860"
    assert row["degree"] == "0.800" and row["edge_prior"] == "0.840"
    # gaps: 0.86 - 0.80 (a: degree higher on validation) and 0.86 - 0.84 (b: edge prior)
    assert row["Δ vs higher floor"].startswith("+0.040 ± ")
    per_tf = against_floors(summary, ["m"], "per_tf_auroc").loc[("per-TF AUROC", "released", "Specific", "m")]
    assert per_tf["Δ vs higher floor"].startswith("+0.090 ± ")
    assert against_floors(summary[summary["model"] != "edge_prior"], ["m"]).empty
    fig = floors_figure(summary)
    assert len(fig.axes) == 2 and {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {
        "degree", "edge_prior", "m"}


def test_tf_folds_are_averaged_within_a_seed_and_seeds_are_the_units():
    rows = [{"dataset": "d", "protocol": "heldout-tf", "model": "m", "seed": seed, "fold": fold,
             "auroc": 0.6 + 0.1 * seed + 0.01 * fold} for seed in (0, 1) for fold in (0, 1, 2)]
    table = sweep.summarize_frame(pd.DataFrame(rows)).iloc[0]
    assert (table["n_seeds"], table["n_folds"]) == (2, 3)
    assert table["auroc_mean"] == pytest.approx(0.66)
    assert table["auroc_std"] == pytest.approx(np.std([0.61, 0.71], ddof=1))  # over seed means, not 6 rows


def test_plan_runs_tf_folds_and_the_heldout_variants_only_under_the_tf_protocols(monkeypatch):
    from grnlib.data.catalog import as_table

    rows = [{"id": "x/1", "family": "x", "network": "n", "cell": "c", "size": 500, "n_genes": 10, "n_tfs": 2,
             "n_edges": 5, "has_expression": True, "n_splits": 5, "reserved": False},
            {"id": "x/2", "family": "x", "network": "n", "cell": "hESC", "size": 500, "n_genes": 10, "n_tfs": 2,
             "n_edges": 5, "has_expression": False, "n_splits": 0, "reserved": False}]
    monkeypatch.setattr(sweep, "_settings", lambda *args, **kwargs: as_table(rows))
    cells = sweep.make_plan("robust", seeds=(0,))
    tf_cells = [c for c in cells if c.protocol == "heldout-tf" and c.dataset == "x/1"]
    assert sorted(c.fold for c in tf_cells) == [0, 1, 2]
    assert "pair_evidence_heldout" in tf_cells[0].models and "pair_evidence" not in tf_cells[0].models
    released = [c for c in cells if c.protocol == "released"]
    assert len(released) == 1 and released[0].fold == 0 and "stack" in released[0].models
    assert not any(m.endswith("_heldout") for m in released[0].models)
    no_expression = [c for c in cells if c.dataset == "x/2"]  # hESC: TF protocols, floors only
    assert no_expression and {c.protocol for c in no_expression} == {"heldout-tf", "degree-matched"}
    assert all(c.models == ("degree", "edge_prior") for c in no_expression)
    assert [c.fold for c in cells[:3]] == [0, 0, 0]  # fold-major within a seed: a partial run is even


def test_open_errors_skip_a_torn_last_line(tmp_path):
    # a sweep killed while appending leaves half a line; the summary must still read the log
    (tmp_path / sweep.ERROR_FILE).write_text('{"key": "a|released|0|0", "error": "ValueError: x"}\n{"key": "b|rel')
    assert sweep.open_errors(tmp_path) == {"a|released|0|0": "ValueError: x"}
