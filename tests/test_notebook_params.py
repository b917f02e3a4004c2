"""Each notebook has exactly one `parameters` cell whose keys equal its params files."""
import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def parameter_keys(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    tree = ast.parse("".join(tagged[0]["source"]))
    keys = set()
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, \
            f"{notebook.name}: the parameters cell holds only simple assignments"
        assert isinstance(node.targets[0], ast.Name)
        ast.literal_eval(node.value)  # flat literals only, so papermill can override them
        keys.add(node.targets[0].id)
    return keys


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("params_dir", ["params", "params/ci"])
def test_parameters_cell_matches_params_file(notebook, params_dir):
    path = ROOT / params_dir / f"{notebook.stem}.yaml"
    assert path.is_file(), f"missing {path}"
    params = yaml.safe_load(path.read_text()) or {}
    assert set(params) == parameter_keys(notebook)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")


def test_every_notebook_is_in_the_book():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.stem}" in toc, f"{notebook.stem} missing from book/_toc.yml"


def test_book_lists_the_chapters_in_number_order():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    listed = re.findall(r"file:\s*notebooks/(\d\d_\w+)", toc)
    assert listed == sorted(listed), f"book/_toc.yml lists chapters out of order: {listed}"
    assert listed == [n.stem for n in NOTEBOOKS]
