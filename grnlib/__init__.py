"""grnlib: supervised GRN link prediction.

What a user calls is at the root, imported on first use so ``import grnlib`` (and the command line)
stays light: no torch, pandas or anndata until needed.

- ``grnlib.fit``, ``grnlib.load``, ``grnlib.score``, ``grnlib.GRNModel`` (:mod:`grnlib.api`);
  ``grnlib.Chapter``: a notebook's results folder and its writer (:mod:`grnlib.chapter`).
- Public namespaces, the only modules the notebooks import from: ``grnlib.data`` (datasets, readers),
  ``grnlib.tl`` (models, presets, run specs, training), ``grnlib.ev`` (splits, the run pipeline,
  metrics), ``grnlib.bm`` (benchmark sweeps and studies), ``grnlib.pl`` (figures) and
  ``grnlib.tables`` (tables and text for notebooks).

No module inside the package imports the root (the version is :mod:`grnlib.version`): the root's lazy
imports reach the top layer, so the import contract sees any lower module that did as an upward import.
"""
from grnlib.version import __version__

_API = ("fit", "load", "GRNModel", "score")
NAMESPACES = ("data", "tl", "ev", "bm", "pl", "tables")
__all__ = ["__version__", "Chapter", *_API]


def __getattr__(name: str):
    if name in NAMESPACES:
        import importlib

        return importlib.import_module(f"grnlib.{name}")
    if name in _API:
        from grnlib import api

        return getattr(api, name)
    if name == "Chapter":
        from grnlib.chapter import Chapter

        return Chapter
    raise AttributeError(f"module 'grnlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(NAMESPACES))
