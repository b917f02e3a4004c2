"""The ``grnlib`` command.

Subcommands live in their own modules and are registered in ``SUBCOMMANDS`` as
``(name, module)``: the module defines ``add_<name>_parser(subparsers)``, which adds its
parser and sets ``func`` (``parser.set_defaults(func=run)``) to a callable taking the parsed
``argparse.Namespace`` and returning an exit code (``None`` means 0). Modules are imported
only while the parser is built, so ``grnlib datasets`` does not pay for torch; a module that
does not exist yet is skipped, any other import error propagates.

Exit codes: 0 success; 1 bad input (a :class:`~grnlib.errors.DataError`, printed as one line,
no traceback), and a write or read stopped by a full disk, a quota, a file size limit or missing
permissions (one line naming the file, after the temporary files were removed); 2 usage errors (argparse); 130 Ctrl-C and 143 SIGTERM, each reported as one line
after the temporary files were removed (``grnlib train: interrupted; nothing was written``): :func:`grnlib.entry.run_main`,
as for every entry point.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

SUBCOMMANDS: list[tuple[str, str]] = [
    ("datasets", "grnlib.cli"),
    ("train", "grnlib.cli.train"),
    ("predict", "grnlib.cli.predict"),
    ("evaluate", "grnlib.cli.evaluate"),
    ("score", "grnlib.cli.score"),
    ("fetch", "grnlib.cli.fetch"),
]


def add_datasets_parser(subparsers) -> argparse.ArgumentParser:
    """``grnlib datasets``: list every dataset id with genes, TFs, positive edges, whether it has
    expression, how many released split samples it has and whether it is reserved for final evaluation."""
    from grnlib.cli.common import add_command, add_root_option

    parser = add_command(subparsers, "datasets", "list the reference datasets with their sizes",
                         add_datasets_parser.__doc__)
    add_root_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    parser.add_argument("--paths", action="store_true",
                        help="show each dataset's files (paths under the data root, which --expression and "
                             "--priors accept as they are) and the priors and TF lists")
    parser.add_argument("--family", help="only this family: beeline, dream4, stone-roy, seed, ... (the registered "
                                         "dataset families)")
    parser.set_defaults(func=_run_datasets)
    return parser


def _run_datasets(args: argparse.Namespace) -> int:
    import pandas as pd

    from grnlib.data import list_datasets
    from grnlib.data.catalog import family

    table = list_datasets(args.root, families=[family(args.family).name] if args.family else None)
    if args.paths:
        return _print_paths(table, args)
    if args.json:
        records = json.loads(table.to_json(orient="records"))
        print(json.dumps(records, indent=1))
    else:
        shown = table.drop(columns=["family"])
        shown["size"] = [("-" if size is pd.NA else str(size)) for size in shown["size"]]
        print(shown.to_string(index=False))
    return 0


def _print_paths(table, args: argparse.Namespace) -> int:
    """``grnlib datasets --paths``: the data root, each id's expression and other files, then the
    priors and TF lists (paths under the root, as ``grnlib fetch`` and ``--expression`` take them)."""
    import pandas as pd

    from grnlib.cli.fetch import SHORT_NAME_FOLDERS
    from grnlib.data.catalog import FAMILIES, parse_id
    from grnlib.data.download import data_root
    from grnlib.data.manifest import load_manifest

    root = data_root(args.root)
    rows = []
    for id in table["id"]:
        did = parse_id(id)
        files = FAMILIES[did.family].relpaths(did)
        rows.append({"id": id, "expression": files.get("expression", "-"),
                     "other_files": " ".join(v for k, v in files.items() if k != "expression")})
    references = [rel for rel in load_manifest() if rel.startswith(SHORT_NAME_FOLDERS)]
    if args.json:
        print(json.dumps({"root": str(root), "datasets": rows, "references": references}, indent=1))
        return 0
    print(f"data root: {root}")
    print(pd.DataFrame(rows).to_string(index=False))
    print("priors and TF lists:")
    print("\n".join(f"  {rel}" for rel in references))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grnlib", description="Supervised GRN link prediction.")
    from grnlib.version import __version__

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
    from grnlib.entry import run_main

    args = build_parser().parse_args(argv)
    return run_main(f"grnlib {args.command}", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
