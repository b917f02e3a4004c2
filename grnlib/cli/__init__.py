"""The ``grnlib`` command.

Subcommands live in their own modules and are registered in ``SUBCOMMANDS`` as
``(name, module)``: the module defines ``add_<name>_parser(subparsers)``, which adds its
parser and sets ``func`` (``parser.set_defaults(func=run)``) to a callable taking the parsed
``argparse.Namespace`` and returning an exit code (``None`` means 0). Modules are imported
only while the parser is built, so ``grnlib datasets`` does not pay for torch; a module that
does not exist yet is skipped, any other import error propagates.

Exit codes: 0 success; 1 bad input (a :class:`~grnlib.data.DataError`, printed as one line,
no traceback); 2 usage errors (argparse).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

SUBCOMMANDS: list[tuple[str, str]] = [
    ("datasets", "grnlib.cli"),
    ("train", "grnlib.cli.train"),
    ("predict", "grnlib.cli.predict"),
    ("evaluate", "grnlib.cli.evaluate"),
]


def add_datasets_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "datasets", help="list the reference datasets with their sizes",
        description="List every dataset id with genes, TFs, positive edges, whether it has "
                    "expression, how many released split samples it has and whether it is "
                    "reserved for final evaluation.")
    parser.add_argument("--root", help="data folder (default: $GRNLIB_DATA_DIR, ../shared/data, or the cache)")
    parser.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    parser.add_argument("--family", choices=("beeline", "dream4", "stone-roy"), help="only this family")
    parser.set_defaults(func=_run_datasets)
    return parser


def _run_datasets(args: argparse.Namespace) -> int:
    import pandas as pd

    from grnlib.data import list_datasets

    table = list_datasets(args.root)
    if args.family:
        table = table[table["family"] == args.family]
    if args.json:
        records = json.loads(table.to_json(orient="records"))
        print(json.dumps(records, indent=1))
    else:
        shown = table.drop(columns=["family"])
        shown["size"] = [("-" if size is pd.NA else str(size)) for size in shown["size"]]
        print(shown.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grnlib", description="Supervised GRN link prediction.")
    from grnlib import __version__

    parser.add_argument("--version", action="version", version=f"grnlib {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    subparsers.required = True
    for name, module_name in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # subcommand not written yet
            raise
        getattr(module, f"add_{name}_parser")(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    from grnlib.data.errors import DataError

    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except DataError as exc:
        print(f"grnlib {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0 if code is None else int(code)


if __name__ == "__main__":
    sys.exit(main())
