"""The papermill engine ``grnlib``: kernels talk to papermill over IPC sockets instead of TCP, so ipykernel has
no unencrypted TCP to warn about, and every chapter starts with the book's display settings.

``papermill notebooks/X.ipynb out.ipynb -f params/X.yaml --cwd notebooks --engine grnlib`` (registered as a
``papermill.engine`` entry point in pyproject.toml) runs a chapter exactly as ``python -m grnlib.report`` does.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

#: Run in every kernel before the chapter's first cell (:func:`grnlib.tables.setup_notebook`).
KERNEL_SETUP = "from grnlib.tables import setup_notebook as _setup; _setup(); del _setup"


def kernel_options(sockets: str | Path) -> dict:
    """papermill/nbclient keyword arguments: IPC sockets under the folder ``sockets`` (one folder per kernel:
    kernels started at once would otherwise share ./kernel-ipc-N and read each other's messages), and a quiet
    kernel log (its only lines are a harmless KeyboardInterrupt at shutdown; a cell's error still fails the run)."""
    from traitlets.config import Config

    return {"config": Config({"KernelManager": {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}}),
            "extra_arguments": ["--IPKernelApp.log_level=CRITICAL", f"--IPKernelApp.exec_lines={KERNEL_SETUP}"]}


def _quiet_engine():
    from papermill.engines import NBClientEngine

    class QuietEngine(NBClientEngine):
        """:class:`papermill.engines.NBClientEngine` with :func:`kernel_options`."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            with tempfile.TemporaryDirectory(prefix="grnlib-kernel-") as sockets:
                for key, value in kernel_options(sockets).items():
                    kwargs.setdefault(key, value)
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return QuietEngine


def __getattr__(name: str):
    # QuietEngine is made on first use: papermill loads its entry points while papermill.engines is still being
    # imported, so a module that imported papermill.engines at its top would be only half made at that moment.
    if name == "QuietEngine":
        globals()[name] = engine = _quiet_engine()
        return engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
