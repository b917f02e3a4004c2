"""The BEELINE benchmark in the GENELink folder layout, and its released train/val/test splits.

A setting folder holds ``Target.csv`` (``Gene,index``: the gene universe and its integer
ids), ``TF.csv`` (``TF,index``), ``Label.csv`` (``TF,Target``: positive edges as ids),
``BL--network.csv`` (``Gene1,Gene2``: the same edges as symbols) and, for some settings,
``BL--ExpressionData.csv`` (genes x cells, log expression). Files may be gzipped.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset
from grnlib.errors import DataError, DataWarning
from grnlib.data.expression import align_expression, read_expression
from grnlib.data.validate import ids_in_range, integer_ids, read_table, require_no_missing, unique_symbols

NETWORKS = ("Specific", "Non-Specific", "STRING", "Lofgof")
CELLS = ("hESC", "hHEP", "mDC", "mESC", "mHSC-E", "mHSC-GM", "mHSC-L")
SIZES = (500, 1000)
SPLIT_FILES = {"train": "Train_set.csv.gz", "val": "Validation_set.csv.gz", "test": "Test_set.csv.gz"}
# Lofgof ships no expression; the README says to borrow the mESC matrix of this setting.
LOFGOF_EXPRESSION = "beeline/Specific/mESC/TFs+500/BL--ExpressionData.csv.gz"


def setting_dir(network: str, cell: str, size: int) -> str:
    """Relative folder of a BEELINE setting, e.g. ``beeline/Specific/hHEP/TFs+500``."""
    return f"beeline/{network}/{cell}/TFs+{size}"


def expression_relpath(network: str, cell: str, size: int) -> str:
    if network == "Lofgof":
        return LOFGOF_EXPRESSION
    return f"{setting_dir(network, cell, size)}/BL--ExpressionData.csv.gz"


def split_relpaths(network: str, cell: str, size: int, sample: int) -> dict[str, str]:
    base = f"beeline-splits/{network}/{cell}/TFs+{size}/sample{sample}"
    return {part: f"{base}/{name}" for part, name in SPLIT_FILES.items()}


def find_file(folder: Path, name: str) -> Path:
    """``folder/name`` or ``folder/name.gz``, whichever exists; DataError when neither does."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(folder / name, "file not found (neither plain nor .gz)",
                    "check the folder follows the GENELink layout (Target.csv, TF.csv, Label.csv, ...)")


def read_genes(path: Path) -> pd.Index:
    """Gene universe from ``Target.csv``: symbols ordered by their integer id (0..n-1)."""
    df = read_table(path, required=("Gene", "index"), what="gene list (Target.csv)")
    integer_ids(df, ["index"], path, "gene list (Target.csv)")
    ids = np.sort(df["index"].to_numpy())
    if not np.array_equal(ids, np.arange(len(df))):
        raise DataError(path, f"the index column must number the genes 0..{len(df) - 1} exactly once "
                        f"(found values from {ids.min()} to {ids.max()}, {len(np.unique(ids))} distinct)",
                        "renumber the genes 0..n-1 and use the same ids in TF.csv and Label.csv")
    df = df.sort_values("index")
    return unique_symbols(df["Gene"], path, "gene list (Target.csv)").rename("gene")


def read_tf_ids(path: Path, genes: pd.Index) -> np.ndarray:
    """Sorted int64 TF ids from ``TF.csv``, checked against the symbols of ``Target.csv``."""
    what = "TF list (TF.csv)"
    df = read_table(path, required=("TF", "index"), what=what)
    require_no_missing(df, ["TF"], path, what)
    integer_ids(df, ["index"], path, what)
    ids_in_range(df, ["index"], len(genes), path, what)
    symbols = df["TF"].astype(str).str.strip().to_numpy()
    wrong = genes[df["index"].to_numpy()] != symbols
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise DataError(path, f"{int(wrong.sum())} TF(s) have an id that names another gene in Target.csv, "
                        f"e.g. {symbols[row]!r} has id {df['index'].iloc[row]} = {genes[df['index'].iloc[row]]!r} "
                        "(mismatched id spaces)", "take TF.csv and Target.csv from the same dataset folder")
    if df["index"].duplicated().any():
        dup = df.loc[df["index"].duplicated(), "TF"].tolist()[:5]
        raise DataError(path, f"TF(s) listed more than once: {dup}", "list each TF once")
    return np.sort(df["index"].to_numpy()).astype(np.int64)


def read_label_edges(path: Path, genes: pd.Index, tf_ids: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Positive edges from ``Label.csv`` as int64 ``tf, target``; (edges, self-loops dropped)."""
    what = "label file (Label.csv)"
    df = read_table(path, required=("TF", "Target"), what=what)
    edges = df[["TF", "Target"]].rename(columns={"TF": "tf", "Target": "target"})
    integer_ids(edges, ["tf", "target"], path, what)
    ids_in_range(edges, ["tf", "target"], len(genes), path, what)
    not_tf = ~np.isin(edges["tf"].to_numpy(), tf_ids)
    if not_tf.any():
        bad = edges["tf"].to_numpy()[not_tf]
        raise DataError(path, f"{int(not_tf.sum())} edge(s) start at genes that TF.csv does not list as TFs, "
                        f"e.g. id {bad[0]} ({genes[bad[0]]!r})",
                        "take Label.csv and TF.csv from the same dataset folder")
    dup = edges.duplicated()
    if dup.any():
        first = edges[dup].iloc[0]
        raise DataError(path, f"{int(dup.sum())} duplicated edge(s), e.g. {int(first.tf)}->{int(first.target)}",
                        "list each positive edge once")
    loops = edges["tf"].to_numpy() == edges["target"].to_numpy()
    if loops.any():
        warnings.warn(f"{path}: dropped {int(loops.sum())} self-loop edge(s) (pair tables exclude "
                      "TF==target)", DataWarning, stacklevel=3)
        edges = edges[~loops]
    if len(edges) == 0:
        raise DataError(path, "the label set is empty (no positive edges)",
                        "supply at least one TF->target edge")
    return edges.sort_values(["tf", "target"], ignore_index=True), int(loops.sum())


def check_network_symbols(path: Path, genes: pd.Index, edges: pd.DataFrame, n_self_loops: int) -> None:
    """DataError unless ``BL--network.csv`` holds exactly the label edges, by symbol."""
    what = "network file (BL--network.csv)"
    df = read_table(path, required=("Gene1", "Gene2"), what=what)
    require_no_missing(df, ["Gene1", "Gene2"], path, what)
    by_symbol = set(zip(df["Gene1"].astype(str).str.strip(), df["Gene2"].astype(str).str.strip()))
    by_symbol = {(a, b) for a, b in by_symbol if a != b} if n_self_loops else by_symbol
    by_id = set(zip(genes[edges["tf"].to_numpy()], genes[edges["target"].to_numpy()]))
    if by_symbol != by_id:
        only_sym, only_id = sorted(by_symbol - by_id), sorted(by_id - by_symbol)
        example = only_sym[:1] or only_id[:1]
        raise DataError(path, f"symbol edges and Label.csv id edges disagree: {len(only_sym)} only here, "
                        f"{len(only_id)} only in Label.csv, e.g. {example} (mismatched id spaces)",
                        "take BL--network.csv, Label.csv and Target.csv from the same dataset folder")


def read_beeline_folder(folder: str | Path, *, id: str | None = None,
                        expression: str | Path | None = None, with_expression: bool = True,
                        missing_genes: str = "zeros", meta: dict | None = None) -> GRNDataset:
    """Load one setting folder in the GENELink layout into a :class:`GRNDataset`.

    Args:
        folder: the setting folder (holding Target.csv, TF.csv, Label.csv, BL--network.csv).
        id: dataset id to record; defaults to the folder path.
        expression: expression file (genes x cells) to attach; default the folder's own
            ``BL--ExpressionData.csv[.gz]`` when present.
        with_expression: False skips reading expression (faster; ``ds.expression`` is None).
        missing_genes: when the expression lacks genes of Target.csv: ``"zeros"`` gives them
            all-zero profiles (flagged ``var["measured"] == False``, with a warning) so gene ids
            stay those of the label and split files; ``"raise"`` refuses.

    Checks: ids of Target.csv are exactly 0..n-1; TF.csv symbols agree with Target.csv; every
    label edge is inside the universe and starts at a TF; no duplicated edges; the symbol edges
    of BL--network.csv (when present) equal the id edges of Label.csv. Self-loops are dropped
    with a warning.
    """
    folder = Path(folder)
    genes = read_genes(find_file(folder, "Target.csv"))
    tf_ids = read_tf_ids(find_file(folder, "TF.csv"), genes)
    edges, n_loops = read_label_edges(find_file(folder, "Label.csv"), genes, tf_ids)
    try:
        network_file = find_file(folder, "BL--network.csv")
    except DataError:
        network_file = None  # optional: user folders may carry ids only
    if network_file is not None:
        check_network_symbols(network_file, genes, edges, n_loops)
    adata, expression_file = None, None
    if with_expression:
        if expression is None:
            try:
                expression_file = find_file(folder, "BL--ExpressionData.csv")
            except DataError:
                expression_file = None
        else:
            expression_file = Path(expression)
        if expression_file is not None:
            raw = read_expression(expression_file, genes_as="rows")
            adata = align_expression(raw, genes, missing_genes=missing_genes, path=expression_file)
    info = dict(meta or {})
    info.update(n_self_loops_dropped=n_loops, symbols_checked=network_file is not None,
                expression_file=None if expression_file is None else str(expression_file))
    return GRNDataset(id=id or str(folder), genes=genes, tf_ids=tf_ids, edges=edges,
                      expression=adata, source=folder, meta=info)


def read_split_file(path: Path, n_genes: int) -> pd.DataFrame:
    """A released split file (``TF,Target,Label``) as a pair table with int64 columns."""
    what = "split file"
    df = read_table(path, required=("TF", "Target", "Label"), what=what)
    pairs = df[["TF", "Target", "Label"]].rename(columns={"TF": "tf", "Target": "target", "Label": "label"})
    integer_ids(pairs, ["tf", "target", "label"], path, what)
    ids_in_range(pairs, ["tf", "target"], n_genes, path, what)
    bad = ~pairs["label"].isin([0, 1])
    if bad.any():
        raise DataError(path, f"Label must be 0 or 1; found {sorted(int(v) for v in pairs.loc[bad, 'label'].unique()[:5])}",
                        "use 1 for positive and 0 for negative pairs")
    return pairs.reset_index(drop=True)
