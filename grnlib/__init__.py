"""grnlib: supervised GRN link prediction.

``grnlib.fit``, ``grnlib.load`` and ``grnlib.GRNModel`` (:mod:`grnlib.api`) are imported on first
use, so ``import grnlib`` (and the command line) stays light: no torch, pandas or anndata until needed.
"""
__version__ = "0.1.0"

_API = ("fit", "load", "GRNModel", "score")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name == "pl":  # grnlib.pl: plots of your network (scanpy style), loaded on first use
        import importlib

        return importlib.import_module("grnlib.pl")
    if name in _API:
        from grnlib import api

        return getattr(api, name)
    raise AttributeError(f"module 'grnlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API) | {"pl"})
