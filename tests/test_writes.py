"""Every file the package or a notebook writes goes through grnlib.io (atomic: nothing half-written stays).

The check reads the code (an AST walk, so a call named inside a string or a message is not one) and fails
on a direct write anywhere else: pandas' and matplotlib's writers, ``torch.save``, ``json.dump``,
``np.save``, ``open(..., "w")`` and the tmp-and-rename of a hand-made atomic write.
"""
import ast
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
WRITER = REPO / "grnlib" / "io.py"
#: ``x.name(...)`` writes a file whatever ``x`` is.
WRITING_METHODS = {"to_csv", "to_parquet", "to_excel", "to_hdf", "to_pickle", "to_feather", "savefig",
                   "write_text", "write_bytes", "write_h5ad", "write_zarr"}
#: ``module.name(...)`` writes a file (or moves a hand-written one into place).
WRITING_FUNCTIONS = {("torch", "save"), ("json", "dump"), ("np", "save"), ("np", "savez"),
                     ("np", "savez_compressed"), ("numpy", "save"), ("pickle", "dump"), ("nbformat", "write"),
                     ("yaml", "dump"), ("yaml", "safe_dump"), ("os", "replace"), ("os", "rename"),
                     ("shutil", "move")}


def _open_mode(call: ast.Call) -> str:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"


def direct_writes(source: str) -> list[tuple[int, str]]:
    """(line, call) of every direct file write in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if func.attr in WRITING_METHODS:
                found.append((node.lineno, f".{func.attr}()"))
            elif (owner, func.attr) in WRITING_FUNCTIONS:
                # yaml.safe_dump(data) returns text; only a stream argument makes it write
                if owner != "yaml" or len(node.args) > 1 or any(k.arg == "stream" for k in node.keywords):
                    found.append((node.lineno, f"{owner}.{func.attr}()"))
            elif func.attr == "open" and set(_open_mode(node)) & set("wax+"):
                found.append((node.lineno, f"{owner or ''}.open(..., {_open_mode(node)!r})"))
        elif isinstance(func, ast.Name) and func.id == "open" and set(_open_mode(node)) & set("wax+"):
            found.append((node.lineno, f"open(..., {_open_mode(node)!r})"))
    return sorted(found)


def test_the_check_finds_direct_writes():
    source = """
import json, torch
frame.to_csv("x.csv")
fig.savefig(path)
torch.save(state, path)
json.dump(payload, handle)
with open(path, "w") as fh: pass
with gzip.open(path, mode="wt") as fh: pass
Path(p).write_text("x")
yaml.safe_dump(data, handle)
os.replace(tmp, path)
text = yaml.safe_dump(data)                  # returns text: not a write
with open(path) as fh: pass                  # reading
raise DataError(path, "bad", "pd.read_csv(...).to_csv('fixed.csv')")  # a message
"""
    assert [line for line, _ in direct_writes(source)] == [3, 4, 5, 6, 7, 8, 9, 10, 11]


def _package_files():
    return sorted(p for p in (REPO / "grnlib").rglob("*.py") if p != WRITER)


def test_the_package_writes_only_through_grnlib_io():
    offenders = [f"{path.relative_to(REPO)}:{line}: {call}" for path in _package_files()
                 for line, call in direct_writes(path.read_text())]
    assert offenders == [], "write through grnlib.io (write_table, write_json, write_figure, ...):\n" + \
        "\n".join(offenders)


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_write_only_through_their_chapter(notebook):
    nb = nbformat.read(notebook, as_version=4)
    offenders = [f"cell {i} line {line}: {call}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                 for line, call in direct_writes(cell.source)]
    assert offenders == [], "save through grnlib.Chapter(name).save(...):\n" + "\n".join(offenders)
