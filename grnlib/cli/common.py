"""Options and console handling shared by ``grnlib train`` and ``grnlib predict``.

Everything a user reads goes to stderr as one line per message (``grnlib <command>: ...``);
:class:`~grnlib.errors.DataWarning` lines are kept under ``--quiet``, progress bars and progress
messages are not. Torch and the data code are imported only when a command runs.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import sys

EXPRESSION_HELP = ("expression matrix: .h5ad (AnnData, cells x genes), or .csv/.tsv/.txt (optionally .gz) "
                   "with gene and cell names in the first column and the first row")


def add_command(subparsers, name: str, help: str, doc: str, examples: str | None = None):
    """The parser of subcommand ``name``: ``help`` in ``grnlib --help``; atop its own help the first
    paragraph of ``doc``, its module's docstring (the command's name in double backquotes, a colon, what it
    does; read as plain text), so the module's documentation and ``--help`` say it once; ``examples`` (kept
    as written) below."""
    first = doc.split("\n\n", 1)[0].split(": ", 1)[1]
    text = re.sub(r"\s*\(:\w+:`[^`]*`\)", "", " ".join(first.split())).replace("``", "")
    return subparsers.add_parser(name, help=help, description=text[0].upper() + text[1:], epilog=examples,
                                 formatter_class=argparse.RawDescriptionHelpFormatter if examples
                                 else argparse.HelpFormatter)


def add_expression_options(parser: argparse.ArgumentParser, inherit: bool = False) -> None:
    """--expression, --genes-as, --layer, --raw-counts. ``inherit``: defaults come from training."""
    group = parser.add_argument_group("expression")
    group.add_argument("--expression", required=True, metavar="FILE", help=EXPRESSION_HELP)
    from_training = " (default: as in training)" if inherit else ""
    group.add_argument("--genes-as", choices=("auto", "rows", "columns"), default=None if inherit else "auto",
                       help="where the genes are in a text file: one per row (BEELINE layout) or one per "
                            "column (AnnData layout); auto = rows for text, columns for .h5ad" + from_training)
    group.add_argument("--layer", default=None, help=".h5ad only: read this layer instead of X" + from_training)
    if inherit:
        group.add_argument("--raw-counts", action=argparse.BooleanOptionalAction, default=None,
                           help="values are raw counts (checked non-negative, normalised to log1p CP10k)"
                                + from_training)
    else:
        group.add_argument("--raw-counts", action="store_true",
                           help="values are raw counts: they must be non-negative and are normalised to "
                                "log1p(counts per 10,000)")
    memory = group.add_mutually_exclusive_group()
    memory.add_argument("--out-of-core", dest="out_of_core", action="store_const", const=True, default=None,
                        help=".h5ad only: read the matrix in chunks from disk (memory independent of the cells; "
                             "default: when the in-memory path would not fit this machine's memory)")
    memory.add_argument("--in-memory", dest="out_of_core", action="store_const", const=False,
                        help="load the whole matrix (faster while it fits)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the out-of-core passes on this Dask scheduler (tcp://host:port; the workers must "
                            "read the .h5ad at the same path); implies --out-of-core")


@contextlib.contextmanager
def scheduler_client(address: str | None):
    """A ``dask.distributed.Client`` of ``--scheduler`` for the command's duration, or None."""
    if not address:
        yield None
        return
    from grnlib.data.streaming import connect

    client = connect(address)
    try:
        yield client
    finally:
        client.close()


def add_edge_format_option(group, option: str, read: str) -> None:
    """``option`` (``--priors-format``, ``--network-format`` ...): read the ``read`` file in this edge table
    layout, one of :data:`grnlib.formats.FORMATS`, instead of detecting it from the header."""
    from grnlib.formats import format_help, format_names

    group.add_argument(option, choices=format_names(table=True), default=None,
                       help=f"read {read} in this layout: {format_help()}; default: detected from the header")


def add_priors_options(group, priors: str, knowledge: str) -> None:
    """--priors (help ``priors``), --priors-format and --knowledge (help ``knowledge``)."""
    group.add_argument("--priors", metavar="FILE", help=priors)
    add_edge_format_option(group, "--priors-format", "--priors")
    group.add_argument("--knowledge", metavar="SOURCES", help=knowledge)


def add_root_option(parser) -> None:
    """--root: the data folder."""
    parser.add_argument("--root", help="data folder (default: $GRNLIB_DATA_DIR, ../shared/data, or the cache)")


def add_run_options(parser: argparse.ArgumentParser, seed_help: str) -> None:
    """--seed, --device, --threads, --quiet."""
    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=int, default=None, help=seed_help)
    group.add_argument("--device", default="auto", help="auto (a CUDA GPU when present), cpu, cuda, cuda:1 ...")
    group.add_argument("--threads", type=int, default=None,
                       help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared machine)")
    group.add_argument("--quiet", action="store_true",
                       help="no progress bars or progress messages (warnings and errors still print)")


def data_file(path):
    """``path`` as given when it exists, else the same relative path under the data root (fetched when
    the root is the download cache): ``--expression beeline/.../BL--ExpressionData.csv.gz`` works as
    in the notebooks. None stays None; a path found nowhere is returned for the reader to report."""
    if path is None:
        return None
    from grnlib.data.download import data_file as under_data_root

    found = under_data_root(path)
    return str(found) if str(found) != str(path) else path


def set_threads(threads: int | None) -> None:
    """Apply ``--threads`` (a per-process choice the user makes, so the library never does)."""
    if threads is None:
        return
    from grnlib.errors import DataError

    if threads < 1:
        raise DataError(None, f"--threads must be at least 1, got {threads}", "pass a positive number of threads")
    import torch

    torch.set_num_threads(threads)


def check_device(device: str) -> str:
    """The device string, or a DataError when torch cannot use it here."""
    import torch

    from grnlib.errors import DataError

    try:
        resolved = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                ("cpu" if device == "auto" else device))
    except RuntimeError as exc:
        raise DataError(None, f"--device {device!r} is not a device ({str(exc).splitlines()[0]})",
                        "pass auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DataError(None, f"--device {device} asks for a CUDA GPU but none is available",
                        "pass --device cpu (or auto)")
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise DataError(None, f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s)",
                        "pass --device cuda:0 (or auto)")
    return device


class Console:
    """Progress messages (stderr, silenced by ``quiet``) and DataWarnings as one line each."""

    def __init__(self, command: str, quiet: bool):
        from grnlib import progress

        self.command, self.quiet = command, quiet
        progress.set_quiet(quiet)  # the library's timed step lines and chunk bars follow --quiet

    def info(self, message: str) -> None:
        if not self.quiet:
            print(f"grnlib {self.command}: {message}", file=sys.stderr, flush=True)

    def capturing_warnings(self):
        """Inside, every warning prints as ``grnlib <command>: warning: <message>`` (see
        :func:`grnlib.entry.one_line_warnings`; :func:`grnlib.cli.main` already wraps every command in it)."""
        from grnlib.entry import one_line_warnings

        return one_line_warnings(f"grnlib {self.command}")
