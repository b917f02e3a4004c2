"""Run every notebook through papermill (in order, or several at once), then build the Jupyter Book.

``python -m grnlib.report --params full`` is what ``make report`` runs: executed notebooks go to
``book/notebooks/`` and the HTML to ``book/_build/html``. ``--params ci`` uses the small
``params/ci/`` set and builds a separate copy of the book under ``build/ci/book`` so a test run never
overwrites the full report. ``--prepare-only`` writes parameterised, unexecuted notebooks
(what nbval then executes).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from grnlib.paths import project_root

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
BOOK_SOURCES = ("_config.yml", "_toc.yml", "*.md", "references.bib", "_static")


def notebook_names(root: Path) -> list[str]:
    """Notebook stems in run order (their number prefix)."""
    return sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load_params(root: Path, name: str, params: str) -> dict:
    folder = root / "params" if params == "full" else root / "params" / params
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: parameter file missing. Fix: create it with the keys of "
                                f"the parameters cell of notebooks/{name}.ipynb")
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def book_dir(root: Path, params: str) -> Path:
    """The book source folder to build: ``book/`` for full runs, a staged copy otherwise."""
    if params == "full":
        return root / "book"
    staged = root / "build" / params / "book"
    staged.mkdir(parents=True, exist_ok=True)
    for pattern in BOOK_SOURCES:
        for src in (root / "book").glob(pattern):
            dst = staged / src.name
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
    return staged


def run_notebooks(root: Path, params: str, out_dir: Path, names: list[str] | None = None,
                  prepare_only: bool = False, jobs: int = 1) -> list[Path]:
    """Execute (or only parameterise) each notebook; stop at the first failure.

    ``jobs > 1`` runs that many notebooks at once, each kernel on one CPU thread: the models here
    are small, so one thread per notebook uses the cores better than two threads on one notebook.
    """
    # The kernel inherits our environment; a headless MPLBACKEND such as Agg would stop it from
    # choosing the inline backend, and every figure would vanish from the executed notebooks.
    os.environ.pop("MPLBACKEND", None)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = names or notebook_names(root)
    if min(jobs, len(names)) <= 1 or prepare_only:
        return [run_one(root, name, params, out_dir, prepare_only)[0] for name in names]
    for var in THREAD_VARIABLES:
        os.environ[var] = "1"
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    # Longest first (as timed by the last run): the slowest chapter should not start last.
    timings_file = root / "build" / f"report_seconds_{params}.json"
    last = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    order = sorted(names, key=lambda name: -last.get(name, 0.0))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(run_one, root, name, params, out_dir, False) for name in order}
        done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for name in names:  # re-raises the first failure, in notebook order
            if futures[name] in done:
                futures[name].result()
    results = {name: futures[name].result() for name in names}
    timings_file.parent.mkdir(parents=True, exist_ok=True)
    timings_file.write_text(json.dumps({**last, **{name: seconds for name, (_, seconds) in results.items()}},
                                       indent=1))
    return [path for path, _ in results.values()]


def run_one(root: Path, name: str, params: str, out_dir: Path, prepare_only: bool) -> tuple[Path, float]:
    """Execute (or parameterise) one notebook; returns its output path and the seconds it took."""
    import papermill as pm

    started = time.perf_counter()
    output = out_dir / f"{name}.ipynb"
    pm.execute_notebook(
        str(root / "notebooks" / f"{name}.ipynb"), str(output),
        parameters=load_params(root, name, params), cwd=str(root / "notebooks"),
        prepare_only=prepare_only, progress_bar=False, kernel_name="python3",
    )
    if not prepare_only:
        tag_for_book(output)
    seconds = time.perf_counter() - started
    verb = "prepared" if prepare_only else "executed"
    print(f"[report] {verb} {name} in {seconds:.1f}s -> {output}", flush=True)
    return output, seconds


def tag_for_book(path: Path) -> None:
    """Readers see outputs first: fold every code cell's source and drop the notebook's default
    parameters cell (the injected one right after it shows the values actually used)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        extra = "remove-cell" if "parameters" in tags else "hide-input"
        if extra not in tags:
            tags.append(extra)
    nbformat.write(nb, path)


def build_book(source: Path) -> Path:
    """Jupyter Book 1.x build that fails on any warning or broken reference."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(source), "--all", "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True)
    return source / "_build" / "html" / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grnlib.report", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="full", help="'full' (params/) or a subfolder of params/, e.g. 'ci'")
    parser.add_argument("--only", nargs="*", help="notebook names to run (default: all, in order)")
    parser.add_argument("--prepare-only", action="store_true", help="parameterise without executing")
    parser.add_argument("--out", type=Path, help="folder for the notebooks (default: the book's notebooks/)")
    parser.add_argument("--no-book", action="store_true", help="skip the Jupyter Book build")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks executed at once, one CPU thread each (default: the CPU count; 1 = "
                             "in order, with torch's default threads)")
    args = parser.parse_args(argv)

    root = project_root(Path(__file__).parent)
    started = time.perf_counter()
    source = book_dir(root, args.params)
    out = args.out or source / "notebooks"
    try:
        run_notebooks(root, args.params, out, args.only, args.prepare_only, args.jobs)
    except Exception as exc:  # papermill's error already names the failing cell
        print(f"[report] notebook run failed: {exc}", file=sys.stderr)
        return 1
    if not (args.no_book or args.prepare_only):
        index = build_book(source)
        print(f"[report] book: {index}")
    print(f"[report] done in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
