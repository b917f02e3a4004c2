"""grnlib.report runs notebooks in parallel, tags them for the book, and stops on a failure."""
import json

import nbformat
import pytest

from grnlib.report import run_notebooks


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


def test_parallel_run_executes_tags_and_times_every_notebook(tmp_path):
    make_project(tmp_path, {"00_a": "print(value * 2)", "01_b": "print(value + 1)"})
    written = run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=2)
    assert [p.name for p in written] == ["00_a.ipynb", "01_b.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    assert "14" in nb.cells[-1].outputs[0]["text"]  # the injected value reached the kernel
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters", "remove-cell"] in tags and ["injected-parameters", "hide-input"] in tags
    timings = json.loads((tmp_path / "build" / "report_seconds_ci.json").read_text())
    assert set(timings) == {"00_a", "01_b"} and all(s > 0 for s in timings.values())


def test_a_failing_notebook_stops_the_run(tmp_path):
    make_project(tmp_path, {"00_ok": "x = 1", "01_broken": "raise ValueError('bad data in chapter')"})
    with pytest.raises(Exception, match="bad data in chapter"):
        run_notebooks(tmp_path, "ci", tmp_path / "out", jobs=2)
