"""Issue 20, item 5 (command line): `grnlib fetch`, `grnlib datasets --paths`, and data-relative ids
(`beeline/...`) accepted wherever a file is."""
import json

import pytest
from test_fetch import _copy, server  # noqa: F401  (the local HTTP server fixture)

from grnlib import cli
from grnlib.data import cache_dir, content_sha256
from grnlib.data.manifest import load_manifest

EXPRESSION = "beeline/Specific/hHEP/TFs+500/BL--ExpressionData.csv.gz"


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fetch_finds_a_file_a_short_name_and_a_dataset_in_the_data_root(shared_root, capsys):
    code, out, _ = run(["fetch", "priors/human/collectri.csv.gz"], capsys)
    assert code == 0 and out.splitlines() == [str(shared_root / "priors/human/collectri.csv.gz")]
    assert run(["fetch", "trrust"], capsys)[1].splitlines() == [
        str(shared_root / "priors/human/trrust_rawdata.human.tsv.gz")]
    code, out, _ = run(["fetch", "beeline/Specific/hHEP/500"], capsys)
    assert code == 0 and str(shared_root / EXPRESSION) in out.splitlines() and len(out.splitlines()) == 5


@pytest.mark.parametrize("name, problem", [
    ("beeline/Specific/hHEP/TFs+50", "is neither a dataset id nor a reference data file (close: "),
    ("human_tfs", "names 2 files")])
def test_fetch_unknown_or_ambiguous_names_are_one_line(name, problem, shared_root, capsys):
    code, out, err = run(["fetch", name], capsys)
    assert code == 1 and out == ""
    assert err.startswith("grnlib fetch: error: ") and problem in err and err.count("\n") == 1


def test_fetch_downloads_into_the_cache_and_verifies(shared_root, server, monkeypatch, capsys):  # noqa: F811
    www, url = server
    monkeypatch.setenv("GRNLIB_DATA_URL", url)
    monkeypatch.setattr("grnlib.data.download.find_shared_data", lambda: None)  # no local data root
    _copy(shared_root, www, "priors/human/dorothea.csv.gz")
    code, out, err = run(["fetch", "dorothea"], capsys)
    assert code == 0, err
    path = cache_dir() / "priors/human/dorothea.csv.gz"
    assert out.splitlines() == [str(path)]
    assert content_sha256(path) == load_manifest()["priors/human/dorothea.csv.gz"].sha256


def test_datasets_paths_lists_files_under_the_data_root(shared_root, capsys):
    code, out, _ = run(["datasets", "--paths", "--family", "beeline"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"data root: {shared_root}"
    row = next(line for line in lines if line.split()[:1] == ["beeline/Specific/hHEP/500"]).split()
    assert row[1] == EXPRESSION and "beeline/Specific/hHEP/TFs+500/Label.csv.gz" in row
    assert "  priors/human/collectri.csv.gz" in lines and "  tf-lists/human_tfs_lambert2018.csv" in lines
    for relpath in (EXPRESSION, "priors/human/collectri.csv.gz"):
        assert (shared_root / relpath).is_file()
    payload = json.loads(run(["datasets", "--paths", "--json", "--family", "stone-roy"], capsys)[1])
    assert payload["root"] == str(shared_root) and payload["datasets"][0]["id"] == "stone-roy/hESC"


def test_train_and_predict_accept_data_relative_ids(shared_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative ids do not exist here: they resolve under the data root
    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    (tmp_path / "p.yaml").write_text("model_cfg: {inputs: none}\ntrain: {epochs: 1}\n")
    code, _, err = run(["train", "--expression", EXPRESSION, "--priors", "priors/human/trrust_rawdata.human.tsv.gz",
                        "--model", "pair_evidence", "--params", "p.yaml", "--out", "m", "--quiet", "--threads", "1"],
                       capsys)
    assert code == 0, err
    code, _, err = run(["predict", "--model", "m", "--expression", EXPRESSION, "--top-k", 10, "--out", "r.tsv",
                        "--quiet", "--threads", "1"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "p.yaml", "r.tsv"]  # nothing copied in


def test_a_missing_relative_file_is_still_reported_as_given(shared_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["train", "--expression", "beeline/nowhere.csv", "--priors", "x.csv", "--model", "phase1",
                        "--out", "m", "--quiet"], capsys)
    assert code == 1 and "beeline/nowhere.csv: expression file not found" in err
    assert list(tmp_path.iterdir()) == []
