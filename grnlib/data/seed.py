"""The "seed" protocol's dataset: human literature priors (TRRUST, DoRothEA, ...) as a GRNDataset.

This reproduces the setting of the original code (merged human priors, every prior edge a
positive), optionally with single-cell expression so expression models and baselines can run.
With expression, the gene universe is the prior genes that the matrix measures (edges naming
unmeasured genes are dropped and counted in ``meta``).
"""
from __future__ import annotations

import warnings

from grnlib.data import DataError, DataWarning, GRNDataset, dataset_from_edges, fetch, load_priors, read_expression

# Human expression matrices the priors can be paired with (relpaths under the data root).
EXPRESSION_SOURCES = {
    "hESC": "stone-roy/chen_rna_filtered_log2.tsv.gz",  # Chen et al., 8,595 genes x 384 cells, log2
    "hHEP": "beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz",  # BEELINE hHEP, the larger gene set
}


def seed_dataset(resources=("trrust", "dorothea"), expression: str | None = "hESC", root=None,
                 dorothea_levels: str = "ABC") -> GRNDataset:
    """A :class:`GRNDataset` whose positives are the merged literature priors.

    Args:
        resources: prior resources for :func:`grnlib.data.load_priors` (merged: an edge present
            in several resources counts once).
        expression: ``"hESC"`` (Chen et al. scRNA-seq), ``"hHEP"`` (BEELINE hepatocytes) or None.
            With expression, genes are the prior genes present in the matrix (in matrix order);
            without, all prior genes (sorted symbols).
        root: data root (see :func:`grnlib.data.data_root`).
        dorothea_levels: DoRothEA confidence letters to keep.

    Returns:
        GRNDataset with id ``seed/<resources joined by +>/<expression or none>``; TFs are the
        prior sources that kept at least one edge; ``meta`` has the edge counts.
    """
    if expression is not None and expression not in EXPRESSION_SOURCES:
        raise DataError(None, f"unknown expression {expression!r} for the seed dataset",
                        f"choose one of {sorted(EXPRESSION_SOURCES)} or None")
    priors = load_priors(resources, dorothea_levels=dorothea_levels, root=root)
    edges = priors[["source", "target"]].drop_duplicates(ignore_index=True)
    resources = (resources,) if isinstance(resources, str) else tuple(resources)
    ds_id = f"seed/{'+'.join(resources)}/{expression or 'none'}"
    adata = None
    if expression is not None:
        adata = read_expression(fetch(EXPRESSION_SOURCES[expression], root), genes_as="rows")
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
        ds = dataset_from_edges(edges, id=ds_id, expression=adata, source=None)
    ds.meta.update({"resources": list(resources), "expression": expression,
                    "n_prior_edges": len(edges), "n_prior_rows": len(priors)})
    return ds
