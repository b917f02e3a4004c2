"""Notebooks import grnlib only through its public face: the root (``grnlib.fit``, ``grnlib.Chapter`` ...)
and the public namespaces (``grnlib.data``, ``tl``, ``ev``, ``bm``, ``pl``, ``tables``), never a module
path inside the package, so the package can move its modules without breaking a chapter."""
import ast
from pathlib import Path

import nbformat
import pytest

import grnlib

REPO = Path(__file__).resolve().parents[1]
PUBLIC_ROOT = set(grnlib.__all__) | set(grnlib.NAMESPACES)
PUBLIC_MODULES = {"grnlib", *(f"grnlib.{name}" for name in grnlib.NAMESPACES)}


def private_uses(source: str) -> list[str]:
    """Imports of (and attribute paths into) grnlib that are not public."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "grnlib" and a.name not in PUBLIC_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "grnlib":
            if node.module not in PUBLIC_MODULES:
                found.append(f"from {node.module} import ...")
            elif node.module == "grnlib":
                found += [f"from grnlib import {a.name}" for a in node.names if a.name not in PUBLIC_ROOT]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "grnlib" \
                and node.attr not in PUBLIC_ROOT | {"__version__"}:
            found.append(f"grnlib.{node.attr}")
    return found


def test_the_check_finds_private_paths():
    source = """
import grnlib
import grnlib.evaluation.experiment
from grnlib import Chapter, pl, tables, plots
from grnlib.ev import evaluate_split
from grnlib.evaluation.presets import preset
grnlib.pl.targets(ranked, "X")
grnlib.user.signs
"""
    assert private_uses(source) == ["import grnlib.evaluation.experiment", "from grnlib import plots",
                                    "from grnlib.evaluation.presets import ...", "grnlib.user"]


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_import_only_public_namespaces(notebook):
    nb = nbformat.read(notebook, as_version=4)
    found = [f"cell {i}: {use}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             for use in private_uses(cell.source)]
    assert found == [], f"import from {sorted(PUBLIC_MODULES)} instead:\n" + "\n".join(found)
