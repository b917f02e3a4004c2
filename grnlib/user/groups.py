"""One ranked network per group of cells (a cluster, a cell type, a sample): the model travels to
each group's cells (:meth:`grnlib.features.FeatureRecipe.travel`) and ranks its pairs there.

``GRNModel.rank(adata, groupby="cell_type")`` returns ``{group: table}`` and stores it the scverse
way, in ``adata.uns[key_added][group]``; ``grnlib predict --groupby COL`` writes one table whose
first column is ``group`` (each group's rows are its own complete ranking, ``rank`` restarting at 1).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from grnlib.errors import DataError, DataWarning
from grnlib.progress import step
from grnlib.user.ranking import rank_edges

#: Groups with fewer cells are skipped with a warning: co-expression over a handful of cells is noise.
MIN_GROUP_CELLS = 10


def cell_groups(expression, groupby: str, path=None, min_cells: int = MIN_GROUP_CELLS) -> dict[str, np.ndarray]:
    """``{group name: cell positions}`` of the ``obs[groupby]`` annotation, in category order (else
    sorted); cells without a label and groups under ``min_cells`` cells are left out with a warning."""
    if groupby not in expression.obs.columns:
        columns = list(expression.obs.columns)
        raise DataError(path, f"has no cell annotation {groupby!r} (obs columns: {columns[:10] or 'none'})",
                        "pass one of the obs columns (an .h5ad file or an AnnData keeps them), e.g. a cluster "
                        "or cell-type column")
    labels = expression.obs[groupby]
    unlabelled = int(labels.isna().sum())
    names = list(labels.cat.categories) if isinstance(labels.dtype, pd.CategoricalDtype) else \
        sorted(pd.unique(labels.dropna()), key=str)
    values = labels.to_numpy()
    groups, small = {}, []
    for name in names:
        rows = np.flatnonzero(values == name)
        if len(rows) >= min_cells:
            groups[str(name)] = rows
        elif len(rows):
            small.append(f"{name} ({len(rows)})")
    if unlabelled or small:
        warnings.warn(f"{path or 'expression'}: {unlabelled} cell(s) without a {groupby!r} label and "
                      f"{len(small)} group(s) under {min_cells} cells are not ranked {small[:5]}",
                      DataWarning, stacklevel=2)
    if not groups:
        raise DataError(path, f"no {groupby!r} group has {min_cells} or more cells",
                        f"group the cells more coarsely, or rank them together without groupby")
    return groups


def rank_groups(um, expression, groupby: str, *, expression_path=None, **options) -> dict[str, pd.DataFrame]:
    """:func:`grnlib.user.rank_edges` on the cells of each group of ``obs[groupby]``:
    ``{group: ranked table}`` (``options`` as there)."""
    tables = {}
    for name, rows in cell_groups(expression, groupby, expression_path).items():
        with step(f"rank group {groupby}={name} ({len(rows):,} cells)"):
            tables[name] = rank_edges(um, expression[rows], expression_path=f"{expression_path or 'expression'} "
                                      f"[{groupby}={name}]", **options)
    return tables


def stacked(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The per-group tables as one, ``group`` first (what ``grnlib predict --groupby`` writes)."""
    return pd.concat([table.assign(group=name) for name, table in tables.items()], ignore_index=True)[
        ["group", *next(iter(tables.values())).columns]]
