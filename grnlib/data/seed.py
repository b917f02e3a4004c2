"""The "seed" datasets: human literature priors (TRRUST, DoRothEA, CollecTRI) as a GRNDataset.

This reproduces the setting of the original code (merged human priors, every prior edge a
positive), optionally with single-cell expression so expression models and baselines can run.
With expression, the gene universe is the prior genes that the matrix measures (edges naming
unmeasured genes are dropped and counted in ``meta``).

Their dataset ids are ``seed/<resources joined by +>/<hESC|hHEP|none>``, e.g.
``seed/trrust+dorothea/hESC``; :mod:`grnlib.data.catalog` registers the family, so every
command (``grnlib datasets``, ``grnlib evaluate``, the sweep) takes them.
"""
from __future__ import annotations

import csv
import gzip
import warnings
from pathlib import Path

from grnlib.data.dataset import GRNDataset
from grnlib.data.download import fetch
from grnlib.data.edges import dataset_from_edges
from grnlib.errors import DataError, DataWarning
from grnlib.data.expression import read_expression
from grnlib.data.priors import RESOURCES, load_priors
from grnlib.data.validate import delimiter_for, unique_symbols

# Human expression matrices the priors can be paired with (relpaths under the data root).
EXPRESSION_SOURCES = {
    "hESC": "stone-roy/chen_rna_filtered_log2.tsv.gz",  # Chen et al., 8,595 genes x 385 cells, log2
    "hHEP": "beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz",  # BEELINE hHEP, the larger gene set
}
NO_EXPRESSION = "none"  # the id's last part when the dataset has no expression


def seed_id(resources, expression: str | None) -> str:
    """The dataset id of :func:`seed_dataset`'s arguments, e.g. ``seed/trrust+dorothea/hESC``."""
    resources = (resources,) if isinstance(resources, str) else tuple(resources)
    return f"seed/{'+'.join(resources)}/{expression or NO_EXPRESSION}"


def seed_dataset(resources=("trrust", "dorothea"), expression: str | None = "hESC", root=None,
                 dorothea_levels: str = "ABC", with_expression: bool = True) -> GRNDataset:
    """A :class:`GRNDataset` whose positives are the merged literature priors.

    Args:
        resources: prior resources for :func:`grnlib.data.load_priors` (merged: an edge present
            in several resources counts once).
        expression: ``"hESC"`` (Chen et al. scRNA-seq), ``"hHEP"`` (BEELINE hepatocytes) or None
            (``"none"`` too).
            With expression, genes are the prior genes present in the matrix (in matrix order);
            without, all prior genes (sorted symbols).
        root: data root (see :func:`grnlib.data.data_root`).
        dorothea_levels: DoRothEA confidence letters to keep.
        with_expression: False reads only the matrix's gene names: the same genes, TFs and edges,
            ``ds.expression`` None (what ``load_dataset(..., with_expression=False)`` promises).

    Returns:
        GRNDataset with id ``seed/<resources joined by +>/<expression or none>``; TFs are the
        prior sources that kept at least one edge; ``meta`` has the edge counts.
    """
    expression = None if expression == NO_EXPRESSION else expression
    if expression is not None and expression not in EXPRESSION_SOURCES:
        raise DataError(None, f"unknown expression {expression!r} for the seed dataset",
                        f"choose one of {sorted(EXPRESSION_SOURCES)} or None")
    priors = load_priors(resources, dorothea_levels=dorothea_levels, root=root)
    edges = priors[["source", "target"]].drop_duplicates(ignore_index=True)
    resources = (resources,) if isinstance(resources, str) else tuple(resources)
    adata = None
    if expression is not None:
        path = fetch(EXPRESSION_SOURCES[expression], root)
        if with_expression:
            adata = read_expression(path, genes_as="rows")
        else:
            adata = _genes_only(path)
        prior_genes = set(edges["source"]) | set(edges["target"])
        # Case-insensitive, like dataset_from_edges' matching; the universe is genes with a prior edge.
        upper_prior = {g.upper() for g in prior_genes}
        adata = adata[:, [g.upper() in upper_prior for g in adata.var_names]].copy()
        if adata.n_vars == 0:
            raise DataError(EXPRESSION_SOURCES[expression], "no prior gene is measured in this expression matrix",
                            "check the matrix uses human gene symbols")
    with warnings.catch_warnings():
        # Dropping edges of unmeasured genes is what this function is for; meta records the count.
        warnings.simplefilter("ignore", DataWarning)
        ds = dataset_from_edges(edges, id=seed_id(resources, expression), expression=adata, source=None)
    if not with_expression:
        ds.expression = None
    ds.meta.update({"resources": list(resources), "expression": expression,
                    "n_prior_edges": len(edges), "n_prior_rows": len(priors)})
    return ds


def _genes_only(path: Path):
    """A 0-cell AnnData with the gene names of a genes-x-cells text matrix (first column), so
    the universe is matched exactly as with the full matrix, without parsing its values."""
    import anndata as ad
    import numpy as np
    import pandas as pd

    opener = gzip.open if Path(path).name.endswith(".gz") else open
    with opener(path, "rt", newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter_for(path))
        next(rows, None)  # the header names the cells
        names = [row[0] for row in rows if row]
    genes = unique_symbols(pd.Index(names), path, "expression matrix")
    return ad.AnnData(X=np.zeros((0, len(genes)), dtype=np.float32), var=pd.DataFrame(index=genes))


__all__ = ["EXPRESSION_SOURCES", "NO_EXPRESSION", "RESOURCES", "seed_dataset", "seed_id"]
