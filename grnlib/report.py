"""Run every notebook through papermill (several at once, costliest first), then build the Jupyter Book.

``python -m grnlib.report --params full`` is what ``make report`` runs: executed notebooks go to
``book/notebooks/`` and the HTML to ``book/_build/html``. ``--params ci`` uses the small
``params/ci/`` set and builds a separate copy of the book under ``build/ci/book`` so a test run never
overwrites the full report. ``--prepare-only`` writes parameterised, unexecuted notebooks
(what nbval then executes).

The run prints one line per chapter (name, seconds, status, CPU seconds) and writes every chapter's wall
and CPU seconds and the total to ``timings.json`` in the build folder (:func:`timings_path`). The next run
starts the costliest chapters first from those timings; a fresh clone has none and orders by the committed
estimate in ``params/chapter_costs.yaml``.

An executed chapter is cached (:func:`chapter_key`): a rerun whose notebook, parameters, package and
benchmark code, committed results, data files and library versions are unchanged copies the executed
notebook instead of running it, so a rebuild with unchanged code runs no kernel. The entries sit in the
run cache (:mod:`grnlib.evaluation.cache`: checksummed, size-limited, outside the repository), and
``--no-cache`` turns both off. A cached chapter does not rewrite its ``results/<chapter>`` files; a
missing output folder makes it run again. Kernels talk to the runner over IPC sockets, not TCP, so no kernel warns
about unencrypted TCP; chapters print data warnings on one line (:func:`grnlib.tables.setup_notebook`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import yaml

from grnlib.engine import KERNEL_SETUP  # part of the chapter cache key
from grnlib.entry import run_main
from grnlib.io import write_bytes, write_json, write_notebook, write_text, write_yaml
from grnlib.paths import project_root

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
BOOK_SOURCES = ("_config.yml", "_toc.yml", "*.md", "references.bib", "_static")
#: Where the report runner writes the book's computed pages (the first page's headline), under the book source.
GENERATED = "_generated"
#: The banner on every page of a book built with a parameter set other than ``full``.
SMOKE_BANNER = ("Smoke-test build (parameter set '{params}': few seeds, few epochs): the chapters' numbers check that "
                "they run, they are not results (the first page's table reads the committed sweeps). The full book is "
                "built by 'make report'.")
# What a chapter's output depends on besides its notebook and parameters (chapter_key).
CHAPTER_CODE = ("grnlib", "benchmarks")
COMMITTED_RESULTS = ("benchmark", "bench", "beyond_floor", "knowledge")  # the rest of results/ is the chapters' output
LIBRARIES = ("torch", "numpy", "scipy", "pandas", "scikit-learn", "anndata", "matplotlib", "seaborn",
             "papermill", "ipykernel")
CHAPTER_FORMAT = "grnlib-chapter-v1"


def notebook_names(root: Path) -> list[str]:
    """Notebook stems in run order (their number prefix)."""
    return sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load_params(root: Path, name: str, params: str) -> dict:
    folder = root / "params" if params == "full" else root / "params" / params
    path = folder / f"{name}.yaml"
    if not path.is_file():
        from grnlib.errors import DataError

        raise DataError(path, "parameter file missing",
                        f"create it with the keys of the parameters cell of notebooks/{name}.ipynb")
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def notebook_defaults(root: Path, name: str) -> dict:
    """The values of the notebook's ``parameters`` cell (flat literal assignments)."""
    import ast

    path = root / "notebooks" / f"{name}.ipynb"
    if not path.is_file():
        from grnlib.errors import DataError

        raise DataError(path, "no such notebook", f"name one of {', '.join(notebook_names(root))}")
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    source = "".join(tagged[0]["source"]) if tagged else ""
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}


def check_params(root: Path, names: list[str], params: str) -> None:
    """DataError (one line, naming the file) for a params file with a key its notebook's parameters cell
    lacks, or a value of a type that neither the cell's default nor the committed params files use for
    it (papermill would inject either silently, and the chapter would fail minutes later or, worse, run
    with a string where a number belongs). An int is accepted where a float is."""
    from grnlib.errors import DataError

    folder = root / "params" if params == "full" else root / "params" / params
    for name in names:
        values, defaults = load_params(root, name, params), notebook_defaults(root, name)
        path = folder / f"{name}.yaml"
        committed = [load_params(root, name, p) for p in ("full", "ci") if (root / "params" / (
            "" if p == "full" else p) / f"{name}.yaml").is_file()]
        if not isinstance(values, dict):
            raise DataError(path, f"holds a {type(values).__name__}, not a mapping of parameters",
                            f"write the keys of the parameters cell of notebooks/{name}.ipynb")
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise DataError(path, f"unknown key(s) {unknown}: notebooks/{name}.ipynb has no such parameter",
                            f"use only {sorted(defaults)}")
        for key, value in values.items():
            default = defaults[key]
            seen = {type(default)} | {type(c[key]) for c in committed if isinstance(c, dict) and key in c}
            fits = (default is None or value is None or type(value) in seen
                    or (float in seen and type(value) is int))
            if not fits:
                raise DataError(path, f"{key} is {value!r} ({type(value).__name__}) but the notebook's default is "
                                f"{default!r} ({type(default).__name__})",
                                f"give {key} a {type(default).__name__} value" + (
                                    " (numbers without quotes)" if isinstance(value, str) else ""))


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
    mark_smoke_build(staged / "_config.yml", params)
    return staged


def mark_smoke_build(config: Path, params: str) -> None:
    """Put :data:`SMOKE_BANNER` on every page of the staged book (sphinx-book-theme's announcement bar), so
    a book built with small parameters never reads like results."""
    settings = yaml.safe_load(config.read_text()) or {}
    settings.setdefault("html", {})["announcement"] = SMOKE_BANNER.format(params=params)
    write_yaml(config, settings, allow_unicode=True)


def write_generated_pages(root: Path, source: Path) -> Path:
    """The book's computed pages, from the committed sweep summaries: ``<source>/_generated/headline.md`` and
    its figure (``python -m grnlib.benchmark.headline``, run in its own process: the report runner sits beside
    the benchmark package and does not import it)."""
    out = source / GENERATED
    cmd = [sys.executable, "-m", "grnlib.benchmark.headline", "--summaries", str(root / "results" / "benchmark"),
           "--out", str(out)]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    if proc.returncode:
        raise RuntimeError(f"the headline page failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return out / "headline.md"


def timings_path(root: Path, params: str) -> Path:
    """Where a run's per-chapter timings go: ``book/_build/timings.json`` for the full book,
    ``build/<params>/timings.json`` otherwise."""
    return root / "book" / "_build" / "timings.json" if params == "full" else root / "build" / params / "timings.json"


def chapter_costs(root: Path, params: str) -> dict[str, float]:
    """Seconds each chapter is expected to take: the last run's timings, else the committed estimate
    (``params/chapter_costs.yaml``, one section per params set), else nothing."""
    last = timings_path(root, params)
    if last.is_file():
        try:
            return {name: float(c["seconds"]) for name, c in json.loads(last.read_text())["chapters"].items()}
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable or older file: fall back to the estimate
    committed = root / "params" / "chapter_costs.yaml"
    if committed.is_file():
        with open(committed) as fh:
            return {name: float(s) for name, s in ((yaml.safe_load(fh) or {}).get(params) or {}).items()}
    return {}


def costliest_first(names: list[str], costs: dict[str, float]) -> list[str]:
    """``names`` by expected cost, longest first; chapters without an estimate get the median cost."""
    known = sorted(costs[n] for n in names if n in costs)
    default = known[len(known) // 2] if known else 0.0
    return sorted(names, key=lambda name: -costs.get(name, default))


def _line(name: str, seconds: float, status: str) -> str:
    return f"[report] {name:<24} {seconds:7.1f} s  {status}"


def run_notebooks(root: Path, params: str, out_dir: Path, names: list[str] | None = None,
                  prepare_only: bool = False, jobs: int = 1) -> list[Path]:
    """Execute (or only parameterise) each notebook; stop at the first failure.

    Prints one line per chapter as it finishes and writes :func:`timings_path` (chapters run now
    replace their earlier entries). ``jobs > 1`` runs that many notebooks at once, costliest first,
    each kernel on one CPU thread: the models here are small, so one thread per notebook uses the
    cores better than two threads on one notebook.
    """
    # The kernel inherits our environment; a headless MPLBACKEND such as Agg would stop it from
    # choosing the inline backend, and every figure would vanish from the executed notebooks.
    os.environ.pop("MPLBACKEND", None)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = names or notebook_names(root)
    if prepare_only:
        return [run_one(root, name, params, out_dir, True)[0] for name in names]
    started = time.perf_counter()
    results, failure = {}, None
    if min(jobs, len(names)) <= 1:
        for name in names:
            try:
                results[name] = run_one(root, name, params, out_dir, False)
            except Exception as exc:  # noqa: BLE001 - reported, then re-raised below
                failure = (name, exc)
                break
    else:
        for var in THREAD_VARIABLES:
            os.environ[var] = "1"
        from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            order = costliest_first(names, chapter_costs(root, params))
            futures = {pool.submit(run_one, root, name, params, out_dir, False): name for name in order}
            pending = set(futures)
            while pending and failure is None:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None and failure is None:
                        failure = (futures[future], future.exception())
                    elif future.exception() is None:
                        results[futures[future]] = future.result()
            for future in pending:
                future.cancel()
    if failure is not None:
        name, exc = failure
        print(_line(name, 0.0, f"FAILED: {_first_line(exc)}"), flush=True)
    write_timings(root, params, {name: {"seconds": round(seconds, 1), "cpu_seconds": cpu, "status": status}
                                 for name, (_, seconds, status, cpu) in results.items()},
                  notebooks_seconds=time.perf_counter() - started, jobs=jobs, ran=sorted(results))
    if failure is not None:
        raise failure[1]
    return [results[name][0] for name in names]


def _first_line(exc: BaseException) -> str:
    """The message that names the problem: papermill's error ends with the cell's exception line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def write_timings(root: Path, params: str, chapters: dict | None = None, **fields) -> Path:
    """Merge ``chapters`` (name -> {seconds, status}) and ``fields`` into :func:`timings_path`, keeping
    earlier chapters' entries (``ran`` lists the chapters of the latest run, whose ``notebooks_seconds``,
    ``book_seconds`` and ``total_seconds`` the file holds)."""

    path = timings_path(root, params)
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        data = {}
    data = {**data, "params": params, **{k: round(v, 1) if isinstance(v, float) else v for k, v in fields.items()}}
    data["chapters"] = dict(sorted({**data.get("chapters", {}), **(chapters or {})}.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    return path


@lru_cache(maxsize=4)
def _inputs_fingerprint(root: Path) -> str:
    """Hash of everything every chapter reads besides its own notebook and parameters: the package and
    benchmark code (file contents), the committed results, the data files (path, size and modification
    time: the data root can be large) and the versions of the libraries that compute and draw."""
    from importlib.metadata import PackageNotFoundError, version

    from grnlib.data.download import data_root
    from grnlib.evaluation.cache import cache_root

    h = hashlib.blake2b(digest_size=20)
    h.update(f"{CHAPTER_FORMAT}|{KERNEL_SETUP}|{sys.version}".encode())
    contents = [root / name for name in CHAPTER_CODE] + [root / "results" / name for name in COMMITTED_RESULTS]
    for folder in contents:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    data, runs = data_root().resolve(), cache_root().resolve()
    for path in sorted(data.rglob("*")):
        if runs in path.parents or not path.is_file():
            continue
        stat = path.stat()
        h.update(f"{path.relative_to(data)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    for library in LIBRARIES:
        try:
            h.update(f"{library}={version(library)}".encode())
        except PackageNotFoundError:
            h.update(f"{library}=-".encode())
    return h.hexdigest()


def chapter_key(root: Path, name: str, params: str) -> str:
    """The cache key of one executed chapter: its notebook, its parameters and :func:`_inputs_fingerprint`."""
    h = hashlib.blake2b(digest_size=20)
    h.update((root / "notebooks" / f"{name}.ipynb").read_bytes())
    h.update(json.dumps(load_params(root, name, params), sort_keys=True, default=str).encode())
    h.update(_inputs_fingerprint(root).encode())
    return h.hexdigest()


def _outputs_present(root: Path, name: str, params: str) -> bool:
    """False when the chapter writes to ``<results_dir>/<chapter>`` and that folder is missing or empty."""
    values = load_params(root, name, params)
    if "results_dir" not in values:
        return True
    base = Path(str(values["results_dir"]))
    folder = (base if base.is_absolute() else root / base) / name
    return folder.is_dir() and any(folder.iterdir())


def _cached_chapter(root: Path, name: str, params: str, output: Path) -> tuple[float, float | None] | None:
    """Copy a cached execution of the chapter to ``output``; returns the wall and CPU seconds it took to
    execute then, or None when there is none to use."""
    import nbformat

    from grnlib.evaluation import cache

    if not cache.enabled() or not _outputs_present(root, name, params):
        return None
    payload = cache.load_bytes(chapter_key(root, name, params), ".ipynb",
                               lambda raw: (raw, nbformat.reads(raw.decode(), as_version=4)))
    if payload is None:
        return None
    raw, nb = payload
    write_bytes(output, raw)
    executed = nb.metadata.get("grnlib", {})
    return float(executed.get("executed_seconds", 0.0)), executed.get("executed_cpu_seconds")


def _store_chapter(root: Path, name: str, params: str, output: Path, seconds: float, cpu: float) -> None:
    import nbformat

    from grnlib.evaluation import cache

    if not cache.enabled():
        return
    nb = nbformat.read(output, as_version=4)
    nb.metadata["grnlib"] = {"executed_seconds": round(seconds, 1), "executed_cpu_seconds": cpu}
    cache.store_bytes(chapter_key(root, name, params), ".ipynb", nbformat.writes(nb).encode())


def run_one(root: Path, name: str, params: str, out_dir: Path,
            prepare_only: bool) -> tuple[Path, float, str, float | None]:
    """Execute (or parameterise) one notebook, or copy its cached execution; prints its line and
    returns its output path, wall seconds, status and CPU seconds (:func:`_cpu_seconds`; for a cached
    chapter, those its execution took)."""
    import papermill as pm
    from papermill.engines import papermill_engines

    from grnlib.engine import QuietEngine

    papermill_engines.register("grnlib", QuietEngine)  # also an entry point; registered here for old installs
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    output = out_dir / f"{name}.ipynb"
    if not prepare_only:
        executed = _cached_chapter(root, name, params, output)
        if executed is not None:
            print(_line(name, time.perf_counter() - started, f"cached (executed in {executed[0]:.1f} s)"),
                  flush=True)
            return output, executed[0], "cached", executed[1]
    # The grnlib engine (grnlib.engine): IPC sockets instead of TCP, so the kernel has nothing to warn
    # about, and every chapter gets the book's display settings (one-line data warnings, no progress
    # lines) even if it forgets to ask for them.
    pm.execute_notebook(
        str(root / "notebooks" / f"{name}.ipynb"), str(output),
        parameters=load_params(root, name, params), cwd=str(root / "notebooks"),
        prepare_only=prepare_only, progress_bar=False, kernel_name="python3", engine_name="grnlib",
    )
    seconds, cpu = time.perf_counter() - started, round(_cpu_seconds() - cpu_started, 1)
    if not prepare_only:
        tag_for_book(output)
        _store_chapter(root, name, params, output, seconds, cpu)
    status = "prepared" if prepare_only else f"ok  (CPU {cpu:.1f} s)"
    print(_line(name, seconds, status), flush=True)
    return output, seconds, "prepared" if prepare_only else "ok", cpu


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children: a chapter's kernel is a child
    that ends with the chapter, so the difference around one chapter is its CPU cost, which unlike the wall
    time does not grow when other work shares the cores."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


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
    write_notebook(nb, path)


def build_book(source: Path) -> Path:
    """Jupyter Book 1.x build that fails on any warning or broken reference. Its log is kept in
    ``_build/book.log`` and printed only when the build fails."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(source), "--all", "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = source / "_build" / "book.log"
    write_text(log, proc.stdout + proc.stderr)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-6000:] + proc.stderr[-6000:])
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return source / "_build" / "html" / "index.html"


def read_bench(path) -> dict:
    """The committed benchmark run (``results/bench/bench.json``), or ``{}`` when there is none yet."""
    path = project_root() / path
    return json.loads(path.read_text()) if path.is_file() else {}


def live_scoring(genes, tfs: int, top_k: int, out) -> dict:
    """Time genome-wide scoring now, on this machine: ``benchmarks/run.py --only scoring`` in a fresh
    process (so its peak memory is its own) for each of ``genes``; returns the run's ``bench.json``."""
    root, genes = project_root(), sorted(genes)
    cmd = [sys.executable, str(root / "benchmarks" / "run.py"), "--only", "scoring", "--no-naive",
           "--genes", str(genes[-1]), "--scaling", ",".join(map(str, genes[:-1])) or str(genes[-1]),
           "--tfs", str(tfs), "--top-k", str(top_k), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"live scoring run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads((Path(out) / "bench.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grnlib.report", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="full", help="'full' (params/) or a subfolder of params/, e.g. 'ci'")
    parser.add_argument("--only", nargs="*", help="notebook names to run (default: all, in order)")
    parser.add_argument("--prepare-only", action="store_true", help="parameterise without executing")
    parser.add_argument("--out", type=Path, help="folder for the notebooks (default: the book's notebooks/)")
    parser.add_argument("--no-book", action="store_true", help="skip the Jupyter Book build")
    parser.add_argument("--record-costs", action="store_true",
                        help="after the run, copy its chapter timings into params/chapter_costs.yaml (commit it: "
                             "a fresh clone orders its first run by those)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks executed at once, one CPU thread each (default: the CPU count; 1 = "
                             "in order, with torch's default threads)")
    parser.add_argument("--no-cache", action="store_true",
                        help="execute every chapter and retrain every run: neither the chapter cache nor the "
                             "run cache is read or filled")
    args = parser.parse_args(argv)
    from grnlib.evaluation.cache import disabled

    with disabled(args.no_cache):  # the kernels inherit the environment
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    root = project_root(Path(__file__).parent)
    started = time.perf_counter()
    source = book_dir(root, args.params)
    out = args.out or source / "notebooks"
    # every params file before the first chapter runs: a typo never costs the chapters before it
    check_params(root, args.only or notebook_names(root), args.params)
    try:
        run_notebooks(root, args.params, out, args.only, args.prepare_only, args.jobs)
    except Exception as exc:  # papermill's error names the failing cell; the one-line status was printed
        print(f"[report] notebook run failed:\n{exc}", file=sys.stderr)
        return 1
    if args.prepare_only:
        return 0
    if not args.no_book:
        book_started = time.perf_counter()
        try:
            write_generated_pages(root, source)
            index = build_book(source)
        except (subprocess.CalledProcessError, RuntimeError):
            print(_line("book", time.perf_counter() - book_started, f"FAILED (log: {_relative(source, root)}"
                        "/_build/book.log)"), flush=True)
            return 1
        print(_line("book", time.perf_counter() - book_started, f"ok: {_relative(index, root)}"), flush=True)
        write_timings(root, args.params, book_seconds=time.perf_counter() - book_started)
    total = time.perf_counter() - started
    timings = write_timings(root, args.params, total_seconds=total)
    print(_line("total", total, f"timings: {_relative(timings, root)}"), flush=True)
    if args.record_costs:
        print(f"[report] chapter costs recorded in {_relative(record_costs(root, args.params), root)}")
    return 0


def record_costs(root: Path, params: str) -> Path:
    """Copy the chapter seconds of :func:`timings_path` into the ``params`` section of
    ``params/chapter_costs.yaml`` (other sections are kept)."""
    path = root / "params" / "chapter_costs.yaml"
    costs = yaml.safe_load(path.read_text()) if path.is_file() else {}
    chapters = json.loads(timings_path(root, params).read_text())["chapters"]
    costs = {**(costs or {}), params: {name: round(float(c["seconds"])) for name, c in sorted(chapters.items())}}
    text = COSTS_HEADER + yaml.safe_dump(costs, sort_keys=True)
    write_text(path, text)
    return path


COSTS_HEADER = """\
# Seconds each chapter took, per params set: `python -m grnlib.report` starts the costliest chapters first.
# It reads the last run's timings.json when there is one; on a fresh clone it reads this file.
# Refresh with `python -m grnlib.report --params <set> --record-costs` and commit.
"""


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to the repository when it is inside it (what the log shows)."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(run_main("python -m grnlib.report", main, kept="the chapters finished so far are kept"))
