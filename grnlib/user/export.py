"""Ranked edges as a graph: a :mod:`networkx` DiGraph for Python, GraphML for Cytoscape and Gephi.

Any ranked table :func:`grnlib.user.as_format` writes is accepted (grnlib, decoupler, BEELINE,
arboreto columns); every column other than the two genes becomes an edge attribute, and a grnlib
table also gets the positive ``weight`` the other formats carry (:func:`grnlib.user.edge_weight`),
which Cytoscape's layouts read. Nodes carry ``is_tf`` (the gene regulates an edge of the table).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.errors import DataError
from grnlib.formats import edge_format, edge_weight, written_as
from grnlib.io import atomic_file


def _gene_columns(table: pd.DataFrame) -> tuple[str, str]:
    written = written_as(table.columns, with_weight=False)
    if written is not None:
        return written.source, written.target
    raise DataError(None, f"a ranked table has the columns of one edge format, got {list(table.columns)}",
                    f"pass a table from GRNModel.rank (columns e.g. {list(edge_format('grnlib').columns[:3])})")


def to_networkx(table: pd.DataFrame):
    """A ``networkx.DiGraph`` of the edges of a ranked table (best first, as ranked).

    Edge attributes: the table's other columns (``score``, ``rank``, ``in_prior`` ... or the
    format's weight) as plain Python numbers, plus ``weight`` for a grnlib table. Node attribute:
    ``is_tf``."""
    import networkx as nx

    if isinstance(table, dict):
        raise DataError(None, "got one table per group", "pass one group's table, e.g. ranked['hepatocyte']")
    source, target = _gene_columns(table)
    edges = table.reset_index(drop=True)
    if "score" in edges and "weight" not in edges:
        edges = edges.assign(weight=edge_weight(edges["score"].to_numpy()))
    attributes = [c for c in edges.columns if c not in (source, target)]
    graph = nx.DiGraph()
    tfs = set(edges[source].astype(str))
    genes = pd.unique(pd.concat([edges[source], edges[target]]).astype(str))
    graph.add_nodes_from((gene, {"is_tf": gene in tfs}) for gene in genes)
    records = edges[attributes].to_dict("records")  # numpy scalars -> Python: GraphML writes plain types
    for tf, gene, values in zip(edges[source].astype(str), edges[target].astype(str), records):
        graph.add_edge(tf, gene, **{k: _plain(v) for k, v in values.items()})
    return graph


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_graphml(table: pd.DataFrame, path) -> Path:
    """Write the edges of a ranked table as GraphML (Cytoscape: File > Import > Network from File),
    atomically: a complete file or none."""
    import networkx as nx

    graph = to_networkx(table)
    with atomic_file(path) as tmp:
        nx.write_graphml(graph, tmp)
    return Path(path)
