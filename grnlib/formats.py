"""Edge table formats as data: one :class:`EdgeFormat` record per format in :data:`FORMATS`.

Reading (:func:`grnlib.data.edges.read_edges`: which columns, which header gives the format away),
writing (:func:`grnlib.user.as_format`, :func:`grnlib.user.write_ranked`: the header, the separator,
the weight), the command line's ``--format``/``--priors-format`` choices and help, and the README's
table all read these records, so a new format is one registration here. Light on purpose (no pandas,
numpy only inside :func:`edge_weight`): ``grnlib --help`` imports it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from grnlib.registry import Registry


def edge_weight(score):
    """The edge's confidence as the other formats carry it: ``log(1 + e^score)``, i.e. ``-log(1 - p)``
    for the model's probability ``p``. It orders edges as the score does, is never negative (BEELINE
    takes ``abs(EdgeWeight)``, arboreto importances are >= 0; decoupler's weight is this times the
    edge's sign) and, unlike ``p``, does not round to 1.0 at the top of the ranking, where
    BEELINE's 6-decimal rounding would tie the best edges."""
    import numpy as np

    return np.logaddexp(0.0, np.asarray(score, dtype=np.float64))


@dataclass(frozen=True)
class EdgeFormat:
    """How one tool writes a network of TF -> target edges."""

    columns: tuple[str, ...]  # the header written (source, target, weight first; the weight column is what ranks)
    tool: str  # who reads or writes it (for --help and the README)
    order: int  # listing order (choices, messages)
    signature: frozenset = frozenset()  # lower-case header words that give the format away when read
    separator: str | None = None  # None: by the file's suffix (',' for .csv, else tab); else always this one
    # The weight written from the model's score (the logit); None: the ranked table's own columns.
    weight: Callable | None = edge_weight
    signed: bool = False  # the weight carries the mode of regulation: written times the sign, read as the sign
    sign_column: str | None = None  # the column read as the sign when the format is forced
    float_format: str = "%.9g"  # 9 significant digits: weights of neighbouring ranks stay distinct
    table: bool = True  # False: a graph file (its own writer), never read as edges

    @property
    def source(self) -> str:
        return self.columns[0]

    @property
    def target(self) -> str:
        return self.columns[1]

    @property
    def weight_column(self) -> str:
        return self.columns[2]


FORMATS = Registry("edge format", info=EdgeFormat)
"""Every edge format by name; :meth:`Registry.info` gives its :class:`EdgeFormat`."""


def register_format(name: str, **record) -> None:
    """Register the format ``name`` (the registry's entry builds its record)."""
    FORMATS.register(name, **record)(lambda: FORMATS.info(name))


register_format("grnlib", columns=("tf", "target", "score", "rank", "in_prior", "sign", "sign_confidence",
                                   "evidence"),
                tool="grnlib predict", order=0, signature=frozenset({"tf", "target", "score", "rank"}),
                weight=None, sign_column="sign", float_format="%.6g")
# BEELINE reads its rankedEdges.csv tab-separated whatever the suffix.
register_format("beeline", columns=("Gene1", "Gene2", "EdgeWeight"), tool="BEELINE's rankedEdges.csv", order=1,
                signature=frozenset({"gene1", "gene2"}), separator="\t")
register_format("arboreto", columns=("TF", "target", "importance"), tool="arboreto/pySCENIC adjacencies", order=2,
                signature=frozenset({"tf", "target", "importance"}))
# decoupler reads a negative weight as repression; its CollecTRI and DoRothEA tables add columns such as
# resources and confidence, and decoupler 1.x names the sign mor.
register_format("decoupler", columns=("source", "target", "weight"), tool="a decoupler network", order=3,
                signature=frozenset({"source", "target"}), signed=True, sign_column="mor")
register_format("graphml", columns=(), tool="Cytoscape, Gephi", order=4, table=False)


def format_names(table: bool | None = None) -> list[str]:
    """Format names in listing order; ``table=True``: only those read and written as edge tables."""
    names = FORMATS.names() if table is None else FORMATS.where(table=table)
    return sorted(names, key=lambda name: FORMATS.info(name).order)


def edge_format(name: str) -> EdgeFormat:
    """The record of the format ``name`` (a ConfigError listing the formats when unknown)."""
    return FORMATS.info(name)


def detect_format(columns) -> str | None:
    """The name of the table format whose header ``columns`` are (case ignored), or None. The format
    whose signature names the most of the header wins (grnlib's tf,target,score,rank before arboreto's
    tf,target,importance); then the listing order."""
    lower = {str(c).strip().lower() for c in columns}
    matches = [name for name in format_names(table=True) if edge_format(name).signature <= lower]
    return min(matches, key=lambda name: (-len(edge_format(name).signature), edge_format(name).order), default=None)


def written_as(columns, with_weight: bool = True) -> EdgeFormat | None:
    """The record of the first table format (listing order) whose source and target columns (and weight
    column, ``with_weight``) a ranked table has by their exact names, or None."""
    have = set(columns)
    for name in format_names(table=True):
        written = edge_format(name)
        if set(written.columns[:3 if with_weight else 2]) <= have:
            return written
    return None


def format_help(table: bool | None = True, written: bool = False) -> str:
    """The formats with their columns, for ``--help``: ``grnlib (tf target score), beeline (...)``;
    ``written``: also the separators and weights as :func:`grnlib.user.write_ranked` writes them."""
    names = format_names(table)
    shown = ", ".join(f"{name} ({' '.join(edge_format(name).columns[:3]) or edge_format(name).tool}"
                      f"{', tab-separated' if written and edge_format(name).separator == chr(9) else ''})"
                      for name in names)
    if not written:
        return shown
    weighted = [n for n in names if edge_format(n).table and edge_format(n).weight is edge_weight]
    signed = [f"{n}'s times the sign (negative: repression)" for n in weighted if edge_format(n).signed]
    return f"{shown}; the weight of {', '.join(weighted)} is log(1 + e^score)" + "".join(f", {s}" for s in signed)
