#!/usr/bin/env python
"""Sign accuracy of :func:`grnlib.user.signs.edge_signs` on real cells against CollecTRI.

For each expression matrix, CollecTRI's signed edges between its genes are split in two halves
(seeded): one half is the signed prior the sign model is fitted on, the other half is signed as
new edges would be, and compared with CollecTRI's mode of regulation. Reported beside two
references: "always activation" (the majority sign) and the correlation sign alone (no signed
prior, as for an unsigned prior such as a plain source,target table).

    python benchmarks/signs.py            # -> results/signs/signs.json (about a minute on one core)
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = {"hHEP": ("beeline/Specific/hHEP/TFs+1000/BL--ExpressionData.csv.gz", "rows"),
        "hESC (Chen)": ("stone-roy/chen_rna_filtered_log2.tsv.gz", "rows")}
SEEDS = (0, 1, 2)


def accuracies(predicted, truth) -> dict:
    return {"accuracy": float((predicted == truth).mean()),
            "balanced_accuracy": float(0.5 * ((predicted[truth > 0] == 1).mean() + (predicted[truth < 0] == -1).mean())),
            "repressions_found": int(((predicted == -1) & (truth < 0)).sum()), "repressions": int((truth < 0).sum())}


def main() -> int:
    from grnlib.data.download import data_root
    from grnlib.data.priors import load_priors
    from grnlib.data.symbols import match_symbols
    from grnlib.io import write_json
    from grnlib.user import read_user_expression
    from grnlib.user.signs import edge_signs

    warnings.simplefilter("ignore")
    collectri = load_priors("collectri")
    collectri = collectri[collectri["sign"] != 0]
    results = []
    for name, (relative, genes_as) in DATA.items():
        adata = read_user_expression(data_root() / relative, genes_as=genes_as)
        genes = adata.var_names
        tf, target = match_symbols(collectri["source"], genes), match_symbols(collectri["target"], genes)
        keep = (tf >= 0) & (target >= 0) & (tf != target)
        tf, target, sign = tf[keep], target[keep], collectri["sign"].to_numpy()[keep]
        for seed in SEEDS:
            held = np.random.default_rng(seed).random(tf.size) < 0.5
            prior = pd.DataFrame({"tf": tf[~held], "target": target[~held], "sign": sign[~held]})
            columns = np.arange(len(genes))
            predicted, confidence = edge_signs(tf[held], target[held], prior, len(genes), adata.X, columns)
            alone, _ = edge_signs(tf[held], target[held], prior.assign(sign=0), len(genes), adata.X, columns)
            truth = sign[held]
            confident = confidence >= 0.8
            record = {"data": name, "cells": int(adata.n_obs), "genes": int(adata.n_vars), "seed": seed,
                      "held_out_edges": int(held.sum()), "activation_share": float((truth > 0).mean()),
                      **accuracies(predicted, truth), "mean_confidence": float(confidence.mean()),
                      "confident_share": float(confident.mean()),
                      "confident_accuracy": float((predicted[confident] == truth[confident]).mean()),
                      "correlation_only": accuracies(alone, truth)}
            results.append(record)
            print(json.dumps(record), flush=True)
    write_json(ROOT / "results/signs/signs.json", {"command": "python benchmarks/signs.py", "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
