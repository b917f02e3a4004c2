"""Where the project lives, so notebooks write to the same places from JupyterLab and from batch runs."""
from __future__ import annotations

import os
from pathlib import Path


def project_root(start: str | Path | None = None) -> Path:
    """The repository root: the first folder upward from ``start`` (default: cwd) holding
    ``pyproject.toml`` and ``notebooks/``; falls back to the folder above the installed package."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def results_dir(name: str, base: str | Path = "results") -> Path:
    """``<project>/<base>/<name>``, created if missing. ``base`` may be absolute."""
    base = Path(base)
    folder = (base if base.is_absolute() else project_root() / base) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
