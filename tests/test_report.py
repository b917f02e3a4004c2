"""grnlib.report runs notebooks in parallel (costliest first), tags them for the book, prints one line
per chapter, writes timings.json, and stops on a failure."""
import json

import nbformat
import pytest
import yaml

from grnlib import report
from grnlib.report import chapter_costs, costliest_first, run_notebooks, timings_path


def make_project(root, cells: dict[str, str]):
    (root / "notebooks").mkdir()
    (root / "params" / "ci").mkdir(parents=True)
    for name, code in cells.items():
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell("value = 0")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(code)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")
        (root / "params" / "ci" / f"{name}.yaml").write_text("value: 7\n")


def test_parallel_run_executes_tags_and_times_every_notebook(tmp_path, capfd):
    make_project(tmp_path, {"00_a": "print(value * 2)", "01_b": "print(value + 1)"})
    written = run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=2)
    assert [p.name for p in written] == ["00_a.ipynb", "01_b.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    assert "14" in nb.cells[-1].outputs[0]["text"]  # the injected value reached the kernel
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters", "remove-cell"] in tags and ["injected-parameters", "hide-input"] in tags
    timings = json.loads((tmp_path / "build" / "ci" / "timings.json").read_text())
    assert set(timings["chapters"]) == {"00_a", "01_b"}
    assert all(c["seconds"] > 0 and c["status"] == "ok" for c in timings["chapters"].values())
    assert all(c["cpu_seconds"] > 0.5 for c in timings["chapters"].values())  # the kernel's CPU counts too
    assert timings["notebooks_seconds"] > 0
    out, err = capfd.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("[report]")]
    assert sorted(line.split()[1] for line in lines) == ["00_a", "01_b"]
    assert all(line.split()[3:5] == ["s", "ok"] and line.split()[5] == "(CPU" for line in lines)
    # IPC transport: the kernels have no unencrypted TCP to warn about, and their log stays quiet.
    assert "without encryption" not in out + err and "IPKernelApp" not in out + err


def test_a_failing_notebook_stops_the_run(tmp_path):
    make_project(tmp_path, {"00_ok": "x = 1", "01_broken": "raise ValueError('bad data in chapter')"})
    with pytest.raises(Exception, match="bad data in chapter"):
        run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=2)


def test_data_warnings_in_a_chapter_print_on_one_line(tmp_path):
    """Even a chapter that does not call grnlib.tables.setup_notebook(): the runner's kernel does."""
    make_project(tmp_path, {"00_w": "import warnings\nfrom grnlib.errors import DataWarning\n"
                                    "warnings.warn('x.csv: 3 genes dropped', DataWarning)"})
    (written,) = run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=1)
    stderr = [o for o in nbformat.read(written, as_version=4).cells[-1].outputs if o.get("name") == "stderr"]
    assert stderr[0]["text"] == "DataWarning: x.csv: 3 genes dropped\n"  # no file:line, no source line


def test_first_run_orders_by_the_committed_estimate_then_by_the_last_run(tmp_path):
    names = ["00_a", "01_b", "02_c", "03_d"]
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "chapter_costs.yaml").write_text(yaml.safe_dump({"ci": {"00_a": 5, "01_b": 50, "02_c": 20},
                                                                           "full": {"00_a": 500}}))
    costs = chapter_costs(tmp_path, "ci")
    assert costs == {"00_a": 5.0, "01_b": 50.0, "02_c": 20.0}
    assert costliest_first(names, costs) == ["01_b", "02_c", "03_d", "00_a"]  # unknown: the median cost
    report.write_timings(tmp_path, "ci", {"00_a": {"seconds": 99.0, "status": "ok"}})
    assert chapter_costs(tmp_path, "ci") == {"00_a": 99.0}  # a run's own timings win
    assert timings_path(tmp_path, "full") == tmp_path / "book" / "_build" / "timings.json"
    assert chapter_costs(tmp_path, "other") == {}


def test_record_costs_keeps_other_sections(tmp_path):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "chapter_costs.yaml").write_text(yaml.safe_dump({"full": {"00_a": 500}}))
    report.write_timings(tmp_path, "ci", {"00_a": {"seconds": 12.4, "status": "ok"}}, total_seconds=20.0)
    path = report.record_costs(tmp_path, "ci")
    assert yaml.safe_load(path.read_text()) == {"full": {"00_a": 500}, "ci": {"00_a": 12}}
    assert path.read_text().startswith("# Seconds each chapter took")


def test_committed_estimate_names_every_chapter():
    from grnlib.paths import project_root

    root = project_root()
    costs = yaml.safe_load((root / "params" / "chapter_costs.yaml").read_text())
    for params in ("full", "ci"):
        assert set(costs[params]) == set(report.notebook_names(root)), f"params/chapter_costs.yaml [{params}]"


def test_an_unchanged_chapter_is_copied_from_the_cache_and_any_change_runs_it(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("GRNLIB_RUN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GRNLIB_NO_CACHE", raising=False)
    report._inputs_fingerprint.cache_clear()
    code = ("import time, pathlib\nout = pathlib.Path(results_dir) / '00_t'\nout.mkdir(parents=True, exist_ok=True)\n"
            "(out / 'x.txt').write_text('1')\nprint('ran at', time.time_ns())")
    make_project(tmp_path, {"00_t": code})
    (tmp_path / "params" / "ci" / "00_t.yaml").write_text(f"value: 7\nresults_dir: {tmp_path / 'results'}\n")
    (tmp_path / "grnlib").mkdir()
    (tmp_path / "grnlib" / "model.py").write_text("A = 1\n")

    def run():
        (written,) = run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=1)
        status = json.loads(timings_path(tmp_path, "ci").read_text())["chapters"]["00_t"]["status"]
        return status, nbformat.read(written, as_version=4).cells[-1].outputs[0]["text"]

    first = run()
    assert first[0] == "ok"
    assert run() == ("cached", first[1])  # the same executed output, no kernel
    assert "cached (executed in" in capfd.readouterr().out
    # any input changes the key: the package code...
    (tmp_path / "grnlib" / "model.py").write_text("A = 2\n")
    report._inputs_fingerprint.cache_clear()
    second = run()
    assert second[0] == "ok" and second[1] != first[1]
    # ... the chapter's parameters; a missing output folder; --no-cache
    (tmp_path / "params" / "ci" / "00_t.yaml").write_text(f"value: 8\nresults_dir: {tmp_path / 'results'}\n")
    assert run()[0] == "ok" and run()[0] == "cached"
    (tmp_path / "results" / "00_t" / "x.txt").unlink()
    assert run()[0] == "ok" and (tmp_path / "results" / "00_t" / "x.txt").is_file()
    monkeypatch.setenv("GRNLIB_NO_CACHE", "1")
    assert run()[0] == "ok"
    monkeypatch.delenv("GRNLIB_NO_CACHE")
    # a damaged entry is dropped with a warning and the chapter runs again
    from grnlib.evaluation.cache import _path

    entry = _path(report.chapter_key(tmp_path, "00_t", "ci"), ".ipynb")
    entry.write_bytes(entry.read_bytes()[:-20])
    with pytest.warns(UserWarning, match="damaged"):
        assert run()[0] == "ok"
    assert run()[0] == "cached"


def test_a_book_built_with_other_params_carries_the_smoke_banner(tmp_path):
    (tmp_path / "book" / "_static").mkdir(parents=True)
    (tmp_path / "book" / "_config.yml").write_text("title: t\nhtml:\n  use_repository_button: false\n")
    staged = report.book_dir(tmp_path, "ci")
    settings = yaml.safe_load((staged / "_config.yml").read_text())
    assert settings["html"]["announcement"].startswith("Smoke-test build") and "ci" in settings["html"]["announcement"]
    assert settings["html"]["use_repository_button"] is False  # the rest of the config is kept
    assert "announcement" not in (tmp_path / "book" / "_config.yml").read_text()  # the full book has none
    assert report.book_dir(tmp_path, "full") == tmp_path / "book"


def test_the_readme_papermill_line_prints_no_tcp_warning(tmp_path):
    """`papermill ... --engine grnlib` (the README's batch line) runs the kernel over IPC: no TCP warning."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from grnlib.paths import project_root

    line = re.search(r"^\.venv/bin/papermill .*$", (project_root() / "README.md").read_text(), re.M).group(0)
    assert "--engine grnlib" in line
    make_project(tmp_path, {"00_a": "print(value + 1)"})
    papermill = Path(sys.executable).with_name("papermill")
    proc = subprocess.run([str(papermill), str(tmp_path / "notebooks" / "00_a.ipynb"), str(tmp_path / "out.ipynb"),
                           "-f", str(tmp_path / "params" / "ci" / "00_a.yaml"), "--engine", "grnlib"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "without encryption" not in proc.stdout + proc.stderr
    assert "8" in nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[-1].outputs[0]["text"]
