"""The `grnlib datasets` command and the CLI's error handling."""
import json

import pytest

from grnlib import cli


def test_datasets_table(shared_root, capsys):
    assert cli.main(["datasets", "--root", str(shared_root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "network", "cell", "size", "n_genes", "n_tfs", "n_edges",
                              "has_expression", "n_splits", "reserved"]
    row = next(line for line in out if line.split()[0] == "beeline/Specific/hHEP/500").split()
    assert row[4:] == ["948", "448", "9939", "True", "5", "False"]
    assert len(out) == 1 + 51 + 4 + 108  # 44 BEELINE, 5 DREAM4, 2 Stone & Roy, 4 listed seed/... ids, 108 subsample/...


def test_datasets_json(shared_root, capsys):
    assert cli.main(["datasets", "--json", "--family", "stone-roy", "--root", str(shared_root)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["stone-roy/hESC", "stone-roy/mESC"]
    assert records[0]["n_edges"] == 2380 and records[0]["size"] is None and records[0]["reserved"] is False


def test_data_error_is_one_line_exit_1(tmp_path, capsys):
    assert cli.main(["datasets", "--root", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("grnlib datasets: error: ") and "is not a folder. Fix:" in err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2


def test_subcommands_are_registered_by_module(monkeypatch):
    names = [name for name, _ in cli.SUBCOMMANDS]
    assert names[0] == "datasets"
    # A registered module that does not exist yet is skipped, not an error.
    monkeypatch.setattr(cli, "SUBCOMMANDS", [("datasets", "grnlib.cli"), ("later", "grnlib.cli_later")])
    parser = cli.build_parser()
    assert "datasets" in parser.format_help() and "later" not in parser.format_help()
