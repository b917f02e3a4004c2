"""``seed/...`` ids work in every command: ``grnlib evaluate``, the sweep's plans and runs, and the
beyond-the-floor ablation (which loads through the catalog)."""
import json

import pytest

SEED = "seed/trrust+dorothea/hHEP"  # 951 genes, 1,950 edges, 425 cells: seconds per split


@pytest.fixture(autouse=True)
def _needs_data(shared_root):
    """Skips (through shared_root) when the reference data is absent."""


def test_evaluate_runs_on_a_seed_id(tmp_path, shared_root):
    from grnlib.cli import main

    out = tmp_path / "seed.json"
    code = main(["evaluate", "--dataset", "seed/dorothea+trrust/hHEP", "--protocol", "heldout-tf",
                 "--models", "degree,correlation", "--seeds", "0", "--root", str(shared_root), "--out", str(out),
                 "--quiet"])
    assert code == 0
    payload = json.loads(out.read_text())
    assert payload["config"]["dataset"] == SEED  # the canonical id is recorded
    records = {r["model"]: r for r in payload["results"]}
    assert set(records) == {"degree", "correlation"}
    assert all(0.0 <= r["auroc"] <= 1.0 and r["n_test"] > 0 for r in records.values())


def test_evaluate_refuses_released_on_a_seed_id(tmp_path, shared_root, capsys):
    from grnlib.cli import main

    code = main(["evaluate", "--dataset", SEED, "--protocol", "released", "--models", "degree",
                 "--root", str(shared_root), "--out", str(tmp_path / "x.json"), "--quiet"])
    assert code == 1 and "has no released splits" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_sweep_plans_and_runs_seed_ids(tmp_path, shared_root):
    from grnlib.benchmark import sweep

    cells = sweep.make_plan("reduced", datasets=(SEED, "beeline/STRING/mHSC-GM/500"), seeds=(0,),
                            models=("degree", "random"), root=shared_root)
    # released needs published splits: only the BEELINE setting gets a released cell.
    assert {(c.dataset, c.protocol) for c in cells} == {
        (SEED, "heldout-tf"), (SEED, "degree-matched"), ("beeline/STRING/mHSC-GM/500", "released"),
        ("beeline/STRING/mHSC-GM/500", "heldout-tf"), ("beeline/STRING/mHSC-GM/500", "degree-matched")}
    assert sweep.estimate_seconds(cells, root=shared_root)["cells"] == len(cells)
    seed_cell = next(c for c in cells if c.dataset == SEED and c.protocol == "heldout-tf")
    counts = sweep.run_sweep([seed_cell], tmp_path, n_workers=0, root=shared_root, progress=False)
    assert counts["done"] == 1 and counts["failed"] == 0
    assert set(sweep.results_frame(tmp_path)["dataset"]) == {SEED}


def test_sweep_rejects_an_unknown_dataset_id(shared_root):
    from grnlib.benchmark import sweep
    from grnlib.errors import DataError

    with pytest.raises(DataError, match="unknown dataset id 'seed/trrust/mESC'"):
        sweep.make_plan("reduced", datasets=("seed/trrust/mESC",), root=shared_root)


def test_beyond_floor_loads_seed_settings_through_the_catalog(monkeypatch, shared_root):
    from grnlib.benchmark import beyond_floor
    from grnlib.data import load_dataset

    monkeypatch.setenv("GRNLIB_DATA_DIR", str(shared_root))
    ds = beyond_floor.load_setting(SEED)
    reference = load_dataset(SEED, shared_root)
    assert ds.id == SEED and ds.meta["family"] == "seed"
    assert ds.genes.equals(reference.genes) and len(ds.edges) == len(reference.edges)
