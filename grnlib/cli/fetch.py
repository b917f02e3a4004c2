"""``grnlib fetch``: print the local path of a reference data file (its path under the data root, e.g.
priors/human/collectri.csv.gz, or the start of a priors/TF-list file name, e.g. collectri), or of every
file of a dataset id (grnlib datasets), one per line, downloading (from its public origin) and verifying
what the download cache lacks.

Examples::

    grnlib fetch priors/human/collectri.csv.gz        # a file by its path under the data root
    grnlib fetch collectri                            # a priors file or TF list by the start of its name
    grnlib fetch beeline/Specific/hHEP/1000           # every file of a dataset id (grnlib datasets)
    grnlib train --expression "$(grnlib fetch beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz)" ...

The data root is ``--root``, else ``$GRNLIB_DATA_DIR``, else ``../shared/data`` beside the
repository, else the per-user download cache (the only place anything is downloaded to).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from grnlib.cli.common import add_command, add_root_option

# Folders of the download manifest whose files are referred to by the start of their name alone.
SHORT_NAME_FOLDERS = ("priors/", "tf-lists/")


def add_fetch_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "fetch", "find or download a reference file or dataset and print its path", __doc__)
    parser.add_argument("name", metavar="ID_OR_FILE", help="a dataset id, a path under the data root, or a "
                                                            "priors / TF-list name such as collectri or trrust")
    add_root_option(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    for path in fetch_paths(args.name, args.root):
        print(path)
    return 0


def fetch_paths(name: str, root=None) -> list[Path]:
    """Local paths of ``name``: a dataset id (all its files), a path of the download manifest, or a unique start of
    a priors/TF-list file name. DataError with close matches when it is none of these."""
    from difflib import get_close_matches

    from grnlib.errors import DataError
    from grnlib.data.catalog import FAMILIES, parse_id
    from grnlib.data.download import data_root, fetch
    from grnlib.data.manifest import load_manifest

    text = name.strip().strip("/")
    manifest = load_manifest()
    if text in manifest or (data_root(root) / text).is_file():
        return [fetch(text, root)]
    short = [rel for rel in manifest if rel.startswith(SHORT_NAME_FOLDERS)
             and Path(rel).name.lower().startswith(text.lower())]
    if len(short) == 1:
        return [fetch(short[0], root)]
    try:
        did = parse_id(text)
    except DataError:
        did = None
    if did is not None:
        return [fetch(rel, root) for rel in dict.fromkeys(FAMILIES[did.family].relpaths(did).values())]
    if len(short) > 1:
        raise DataError(None, f"{name!r} names {len(short)} files: {short}", "pass the full path of one of them")
    close = get_close_matches(text, list(manifest), n=3, cutoff=0.5)
    raise DataError(None, f"{name!r} is neither a dataset id nor a reference data file"
                    + (f" (close: {close})" if close else ""),
                    "list the ids with grnlib datasets and the files with grnlib datasets --paths")
