"""Packaging: the wheel alone (no extras) gives a working command line that imports no Dask and no
Jupyter; `grnlib --version`; a clear message where a sweep needs the [sweep] extra.

The wheel test works offline: it builds the wheel from a copy of the sources without build
isolation, installs it with --no-deps into a fresh venv, and lends that venv the project venv's
third-party packages (links to all but the optional extras) through a path (.pth) line, so torch is
not downloaded again. Dask, the Jupyter stack, papermill and decoupler are absent there, as after a
plain `pip install grnlib`.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import grnlib
from grnlib.data import make_toy

ROOT = Path(__file__).resolve().parents[1]
# Top-level modules of the optional extras: the base install must neither need nor import them.
EXTRAS = ("dask", "distributed", "decoupler", "papermill", "IPython", "jupyter")
EXTRA_PREFIXES = ("jupyter", "ipy", "nb")  # the Jupyter stack: jupyter_*, ipykernel, ipywidgets, nbformat, nbval...


def is_extra(name: str) -> bool:
    top = re.split(r"[-.]", name)[0].lower()
    return top in {e.lower() for e in EXTRAS} or top.startswith(EXTRA_PREFIXES)


def lend_base_packages(site: Path, folder: Path) -> None:
    """``folder`` gets a link to every entry of the project venv's ``site`` except the optional extras,
    grnlib itself (the editable install) and .pth files: the packages a plain `pip install grnlib`
    would have brought."""
    folder.mkdir()
    for entry in site.iterdir():
        if is_extra(entry.name) or "grnlib" in entry.name or entry.suffix == ".pth" or "__editable__" in entry.name:
            continue
        (folder / entry.name).symlink_to(entry)


# Runs the command line in-process, then reports what it imported and where grnlib came from.
RUNNER = '''import json, sys
from grnlib.cli import main
code = main(sys.argv[2:])
finders = [type(f).__module__ + "." + type(f).__name__ for f in sys.meta_path]
json.dump({"code": code, "modules": sorted(sys.modules), "grnlib": sys.modules["grnlib"].__file__,
           "finders": finders}, open(sys.argv[1], "w"))
sys.exit(code)
'''


def test_version_flag(capsys):
    from grnlib import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"grnlib {grnlib.__version__}"


def test_parallel_sweep_without_dask_says_which_extra(tmp_path, monkeypatch):
    """With Dask missing, a parallel sweep stops before any work with one DataError naming the
    [sweep] extra; --workers 0 needs no Dask."""
    from grnlib.benchmark.sweep import run_sweep
    from grnlib.errors import DataError
    from grnlib.evaluation.cells import Cell

    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # `import dask.distributed` now fails
    cell = Cell(dataset="beeline/STRING/mHSC-GM/500", protocol="seed", seed=0, models=("degree",))
    with pytest.raises(DataError, match=r"needs Dask, which is not installed.*grnlib\[sweep\].*--workers 0"):
        run_sweep([cell], tmp_path / "sweep", n_workers=2, progress=False)
    assert not (tmp_path / "sweep" / "cells.jsonl").exists()


@pytest.mark.slow
def test_wheel_without_extras_trains_and_predicts(tmp_path, shared_data_root):
    # 1. the wheel, built offline from a copy of the sources (nothing written into the repository)
    source = tmp_path / "src"
    shutil.copytree(ROOT / "grnlib", source / "grnlib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(wheels), str(source)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("grnlib-*.whl")
    assert wheel.name.startswith(f"grnlib-{grnlib.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"grnlib/api.py", "grnlib/cli/__init__.py", "grnlib/data/manifest.txt"} <= set(names)
    assert not any(n.startswith(("tests/", "notebooks/")) for n in names)
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requires if "extra ==" not in line]
    assert not any(extra.lower() in line.lower() for line in base for extra in ("dask", "jupyter", "decoupler"))
    for extra in ("sweep", "report", "ecosystem", "dev"):
        assert f"Provides-Extra: {extra}" in metadata

    # 2. a fresh venv with only the wheel; third-party packages lent by the project venv, extras blocked
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # a plain path line: .pth files in the lent folder are not run (there are none anyway)
    lend_base_packages(Path(sysconfig.get_paths()["purelib"]), tmp_path / "lent")
    (site / "zz_lent_packages.pth").write_text(str(tmp_path / "lent") + "\n")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GRNLIB_DATA"))}
    work = tmp_path / "work"
    toy = write_toy(work)

    def grnlib_cli(*argv):
        report = tmp_path / "report.json"
        result = subprocess.run([str(python), str(runner), str(report), *map(str, argv)], capture_output=True,
                                text=True, cwd=work, env=env)
        assert result.returncode == 0, result.stderr
        info = json.loads(report.read_text())
        assert Path(info["grnlib"]).is_relative_to(site), info["grnlib"]  # the wheel, not the checkout
        assert not any("editable" in f.lower() for f in info["finders"]), info["finders"]
        imported = [m for m in info["modules"] if is_extra(m)]
        assert not imported, f"grnlib {argv[0]} imported {imported}"
        return result

    # 3. the commands a user runs after `pip install grnlib`
    grnlib_cli("train", "--expression", toy["expression"], "--priors", toy["priors"], "--model",
               "expression_two_tower", "--params", toy["params"], "--out", work / "model", "--quiet", "--threads", "1")
    grnlib_cli("predict", "--model", work / "model", "--expression", toy["expression"], "--top-k", "50",
               "--format", "decoupler", "--out", work / "net.csv", "--quiet", "--threads", "1")
    assert (work / "net.csv").read_text().splitlines()[0] == "source,target,weight"
    assert len((work / "net.csv").read_text().splitlines()) == 51
    grnlib_cli("datasets", "--root", shared_data_root or (work / "no_data"))
    if shared_data_root is not None:
        grnlib_cli("evaluate", "--dataset", "beeline/STRING/mHSC-GM/500", "--protocol", "seed", "--models",
                   "degree", "--seeds", "0", "--root", shared_data_root, "--out", work / "eval.json", "--quiet")
        assert json.loads((work / "eval.json").read_text())["results"]
    version = subprocess.run([str(venv / "bin" / "grnlib"), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"grnlib {grnlib.__version__}"
    api = subprocess.run([str(python), "-c", "import grnlib; print(grnlib.fit.__module__)"], capture_output=True,
                         text=True, cwd=work, env=env)
    assert api.stdout.strip() == "grnlib.api", api.stderr


def write_toy(folder):
    """Toy expression (genes as rows), prior edges and tiny training settings (seconds to train)."""
    folder.mkdir(parents=True)
    ds = make_toy(seed=0, n_cells=80)
    ds.expression.to_df().T.to_csv(folder / "expr.csv")
    edges = ds.symbols(ds.edges)
    edges[["tf_symbol", "target_symbol"]].set_axis(["source", "target"], axis=1).to_csv(folder / "priors.csv",
                                                                                       index=False)
    (folder / "params.yaml").write_text("model_cfg: {embedding_dim: 16, hidden_dims: [16], out_dim: 16}\n"
                                        "train: {epochs: 2, batch_size: 64, warmup_epochs: 0}\n"
                                        "features: {kind: pca, n_components: 8}\n")
    return {"expression": folder / "expr.csv", "priors": folder / "priors.csv", "params": folder / "params.yaml"}


@pytest.fixture
def shared_data_root():
    from grnlib.data import find_shared_data

    return find_shared_data()
