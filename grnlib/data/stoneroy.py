"""Stone & Roy single-cell ESC data (hESC: Chen et al.; mESC: Semrau et al.) with gold standards
supported by both ChIP and knock-down experiments."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset
from grnlib.errors import DataError
from grnlib.data.expression import align_expression, read_expression
from grnlib.data.symbols import match_symbols
from grnlib.data.validate import read_table, require_no_missing, unique_symbols

# cell -> (prefix of the universe files, expression file)
SETTINGS = {
    "hESC": ("hESC_Chen", "chen_rna_filtered_log2.tsv.gz"),
    "mESC": ("mESC_Semrau", "semrau_rna_filtered_log2.tsv.gz"),
}


def relpaths(cell: str) -> dict[str, str]:
    prefix, expression = SETTINGS[cell]
    return {"genes": f"stone-roy/{prefix}_Genes.tsv.gz", "tfs": f"stone-roy/{prefix}_TFs.tsv.gz",
            "truth": f"stone-roy/{cell}_ground_truth.tsv.gz", "expression": f"stone-roy/{expression}"}


def _read_list(path: Path, what: str) -> pd.Index:
    df = read_table(path, sep="\t", header=None, names=["symbol"], what=what)
    return unique_symbols(df["symbol"], path, what)


def read_stone_roy(genes_path: str | Path, tfs_path: str | Path, truth_path: str | Path,
                   expression_path: str | Path | None = None, *, id: str | None = None,
                   missing_genes: str = "zeros") -> GRNDataset:
    """Build a dataset from the Stone & Roy universe files and gold standard.

    - genes: ``*_Genes.tsv`` in file order; TFs: ``*_TFs.tsv`` (every TF must be a gene).
    - edges: ``*_ground_truth.tsv`` (``TF<tab>target``, no header) restricted to the TF universe
      (source) and the gene universe (target). The raw gold standard covers many more genes than
      the filtered expression; edges outside the universes are dropped, as are self-loops and
      duplicates (known properties of this reference file, so counted in ``meta`` rather than
      warned about). Symbols match exactly, else case-insensitively.
    - expression: ``*_rna_filtered_log2.tsv`` (genes x cells, log2), aligned to the genes.
    """
    genes_path, tfs_path, truth_path = Path(genes_path), Path(tfs_path), Path(truth_path)
    genes = _read_list(genes_path, "gene universe").rename("gene")
    tfs = _read_list(tfs_path, "TF universe")
    tf_ids = match_symbols(tfs, genes)
    if (tf_ids < 0).any():
        raise DataError(tfs_path, f"{int((tf_ids < 0).sum())} TF(s) are not in the gene universe, e.g. "
                        f"{list(tfs[tf_ids < 0][:5])}", "use the TF and gene files of one dataset")
    truth = read_table(truth_path, sep="\t", header=None, names=["tf", "target"], min_columns=2,
                       what="gold standard")
    require_no_missing(truth, ["tf", "target"], truth_path, "gold standard")
    src, dst = match_symbols(truth["tf"], genes), match_symbols(truth["target"], genes)
    inside = np.isin(src, tf_ids) & (dst >= 0)
    edges = pd.DataFrame({"tf": src[inside], "target": dst[inside]}, dtype="int64")
    loops = edges["tf"] == edges["target"]
    dups = edges.duplicated() & ~loops
    edges = edges[~loops & ~dups].sort_values(["tf", "target"], ignore_index=True)
    if len(edges) == 0:
        raise DataError(truth_path, "no gold-standard edge lies inside the TF and gene universes",
                        "check the gold standard matches the universe files (same species and naming)")
    adata = None
    if expression_path is not None:
        raw = read_expression(expression_path, genes_as="rows")
        adata = align_expression(raw, genes, missing_genes=missing_genes, path=expression_path)
    meta = {"n_truth_edges_raw": len(truth), "n_outside_universe": int((~inside).sum()),
            "n_self_loops_dropped": int(loops.sum()), "n_duplicates_dropped": int(dups.sum())}
    return GRNDataset(id=id or str(truth_path), genes=genes, tf_ids=np.sort(tf_ids).astype(np.int64),
                      edges=edges, expression=adata, source=truth_path.parent, meta=meta)
