"""DREAM4 in-silico size-100 networks: synthetic expression with the exact generating network."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data.dataset import GRNDataset
from grnlib.errors import DataError
from grnlib.data.validate import read_table, require_no_missing, unique_symbols

# Steady-state experiments stacked as "cells". Time series and the single wild-type row
# are left out: they are not independent samples of the same kind.
EXPERIMENTS = (("multifactorial", "multifactorial.tsv"), ("knockout", "knockouts.tsv"),
               ("knockdown", "knockdowns.tsv"))
FILES = tuple(name for _, name in EXPERIMENTS) + ("goldstandard.tsv",)


def network_dir(number: int) -> str:
    return f"dream4/insilico_size100_{number}"


def read_dream4_folder(folder: str | Path, *, id: str | None = None,
                       with_expression: bool = True) -> GRNDataset:
    """Load one DREAM4 network folder.

    - genes: ``G1..G100`` in the column order of ``multifactorial.tsv``;
    - edges: the pairs marked 1 in ``goldstandard.tsv`` (it lists every ordered pair, 0/1);
    - TFs: in DREAM4 any gene may regulate, so there is no TF list. We call a gene a TF when
      it has at least one outgoing gold-standard edge; pairs from other genes are then never
      candidates, which matches how the supervised protocols sample TF x gene pairs;
    - expression (cells x genes): multifactorial, knockout and knockdown experiments stacked
      (100 rows each). ``obs["experiment"]`` names the experiment and ``obs["perturbed"]`` the
      gene knocked out/down in that row (row i perturbs gene i; empty for multifactorial).
      Values are DREAM4's normalised expression in [0, 1], not log counts.
    """
    import anndata as ad

    folder = Path(folder)
    blocks, obs, genes = [], [], None
    for experiment, name in EXPERIMENTS:
        path = folder / name
        df = read_table(path, sep="\t", min_columns=2, what=f"DREAM4 {experiment} matrix")
        names = unique_symbols(df.columns, path, f"DREAM4 {experiment} matrix")
        if genes is None:
            genes = names.rename("gene")
        elif not names.equals(genes):
            raise DataError(path, "gene columns differ from multifactorial.tsv",
                            "use files of one DREAM4 network")
        if not with_expression:
            break
        values = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataError(path, "has missing or non-numeric values", "restore the original DREAM4 file")
        blocks.append(values)
        perturbed = [""] * len(df) if experiment == "multifactorial" else list(genes[: len(df)])
        obs.append(pd.DataFrame({"experiment": experiment, "perturbed": perturbed},
                                index=[f"{experiment}_{i + 1}" for i in range(len(df))]))

    gold_path = folder / "goldstandard.tsv"
    gold = read_table(gold_path, sep="\t", header=None, names=["source", "target", "edge"],
                      min_columns=3, what="DREAM4 gold standard")
    require_no_missing(gold, ["source", "target", "edge"], gold_path, "DREAM4 gold standard")
    positives = gold[gold["edge"] == 1]
    src, dst = genes.get_indexer(positives["source"]), genes.get_indexer(positives["target"])
    unknown = (src < 0) | (dst < 0)
    if unknown.any():
        row = positives[unknown].iloc[0]
        raise DataError(gold_path, f"{int(unknown.sum())} edge(s) name genes outside the expression "
                        f"columns, e.g. {row.source}->{row.target}", "use files of one DREAM4 network")
    if len(positives) == 0:
        raise DataError(gold_path, "the label set is empty (no pair marked 1)", "restore the original file")
    edges = pd.DataFrame({"tf": src, "target": dst}, dtype="int64")
    edges = edges[edges.tf != edges.target].sort_values(["tf", "target"], ignore_index=True)
    tf_ids = np.unique(edges["tf"].to_numpy()).astype(np.int64)
    adata = None
    if with_expression:
        obs_df = pd.concat(obs)
        obs_df.index.name = "cell"
        adata = ad.AnnData(X=np.vstack(blocks).astype(np.float32), obs=obs_df,
                           var=pd.DataFrame(index=genes))
    return GRNDataset(id=id or str(folder), genes=genes, tf_ids=tf_ids, edges=edges, expression=adata,
                      source=folder, meta={"tf_rule": "genes with >=1 outgoing gold-standard edge"})
