"""Chapters stay thin: at most 50 lines of code, no functions defined in a notebook, recipes and
default features taken from the library (never retyped), paths printed relative to the repository."""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 50


def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def code_lines(notebook: Path) -> int:
    """Non-empty, non-comment lines of the notebook's code cells."""
    return sum(1 for source in code_cells(notebook) for line in source.splitlines()
               if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_at_most_50_code_lines(notebook):
    assert code_lines(notebook) <= MAX_CODE_LINES, \
        f"{notebook.name}: {code_lines(notebook)} code lines; move helpers to grnlib.plots or grnlib.tables"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_defines_no_function(notebook):
    for source in code_cells(notebook):
        tree = ast.parse(source)
        defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                     ast.ClassDef))]
        assert not defined, f"{notebook.name} defines {defined}: move them to grnlib.plots or grnlib.tables"


# A recipe is retyped when a notebook spells out an optimiser or scheduler, and the default features
# when it spells out "PCA, 64 components": both live in the library (presets, features.DEFAULT_FEATURES).
RETYPED = [re.compile(p) for p in (r"[\"']optimizer[\"']\s*:", r"[\"']scheduler[\"']\s*:\s*[\"']warmup",
                                   r"_PHASE3_TRAIN", r"n_components[\"']?\s*[:=]\s*64\b", r"PCA.?64")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_takes_recipes_from_the_library(notebook):
    text = "\n".join(code_cells(notebook))
    found = [p.pattern for p in RETYPED if p.search(text)]
    assert not found, f"{notebook.name} retypes a recipe or the default features ({found}): use " \
                      "grnlib.tl.preset(...) / grnlib.tl.resolve_spec({'preset': ...}) with overrides"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_prints_no_absolute_results_path(notebook):
    text = "\n".join(code_cells(notebook))
    assert not re.search(r"print\(\s*[\"'](wrote|saved to)[\"']\s*,\s*out\b", text), \
        f"{notebook.name} prints an absolute results folder: print(tables.wrote(out)) shows it relative"
