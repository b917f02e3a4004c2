"""Two settings of the floors, chosen on validation (issue 18: they had been chosen on test AUROC).

- ``pseudo``: the weight of the closed form in the edge prior's class smoothing
  (:class:`grnlib.models.floors.EdgePrior`), scored by the edge prior's validation AUROC;
- the ``pi`` rule for TFs without training rows in the per-TF prior correction
  (:func:`grnlib.models.floors.base_rate_offsets`): ``"own"`` (the TF's own smoothed base rate, from
  out-degree 0) or ``"pooled"``, scored by the validation AUROC of the degree-feature logistic
  regression (:func:`grnlib.models.floors.degree_logit`) plus the correction.

Both are scored on released validation drawn like test (:func:`grnlib.evaluation.protocols.validation_rows`)
of the development datasets (released splits, not reserved, 500 genes), 5 samples each; the candidate
with the highest mean validation AUROC wins (ties, within 1e-4, go to the first candidate). The released
validation TFs all have training rows (a TF's validation positives exist only from ~8 edges on), so the
``pi`` rule is scored on the candidate rows of *every* TF of the split: TFs without training rows appear
there with negatives only, a population that favours ranking them low.

    python -m grnlib.evaluation.floor_choices --out results/beyond_floor/floor_choices.csv

writes one row per (choice, candidate, dataset, sample); :func:`chosen` reads the winners back, and
``tests/evaluation/test_floor_choices.py`` checks them against the constants in :mod:`grnlib.models.floors`.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from grnlib.entry import run_main

PSEUDO_CANDIDATES = (1.0, 5.0, 20.0, 100.0, float("inf"))
PI_CANDIDATES = ("own", "pooled")
TIE = 1e-4


def development_datasets() -> list[str]:
    """Released-split datasets of the development grid: not reserved, 500 genes."""
    from grnlib.data import list_datasets

    table = list_datasets()
    keep = (table["n_splits"] > 0) & ~table["reserved"].astype(bool) & (table["size"].astype(str) == "500")
    return table.loc[keep, "id"].tolist()


def score_split(ds, split: dict) -> list[dict]:
    """Validation AUROC of every candidate on one released split (validation rows already drawn like test)."""
    from grnlib.evaluation.correction import fit_prior_correction
    from grnlib.evaluation.metrics import auroc
    from grnlib.evaluation.protocols import validation_rows
    from grnlib.models import floors

    train, val = split["train"], split["val"]
    rows = []
    for pseudo in PSEUDO_CANDIDATES:
        prior = floors.EdgePrior.fit(train, ds.n_genes, pseudo=pseudo)
        rows.append({"choice": "edge_prior_pseudo", "candidate": str(pseudo),
                     "val_auroc": auroc(val["label"], prior.score(train, val, ds.n_genes))})
    every_tf = validation_rows(ds, split, tfs=ds.tf_ids)
    coef = floors.degree_logit(train, ds.n_genes)
    logit = floors.loo_log_degrees(train, every_tf, ds.n_genes) @ coef[:2] + coef[2]
    for rule in PI_CANDIDATES:
        offsets = floors.base_rate_offsets(train, ds.n_genes, unseen_pi=rule).offsets
        correction = fit_prior_correction(train, ds.n_genes, True)
        correction.offsets = offsets
        rows.append({"choice": "unseen_tf_pi", "candidate": rule,
                     "val_auroc": auroc(every_tf["label"], correction.apply(every_tf, logit))})
    return rows


def run(datasets=None, seeds=range(5)) -> pd.DataFrame:
    from grnlib.data import load_dataset
    from grnlib.evaluation.protocols import make_split

    rows = []
    for did in datasets or development_datasets():
        ds = load_dataset(did, with_expression=False)
        for seed in seeds:
            split = make_split(ds, "released", seed=seed, validation="rows")
            rows += [{"dataset": did, "seed": seed, **row} for row in score_split(ds, split)]
    return pd.DataFrame(rows)


def chosen(table: pd.DataFrame) -> dict:
    """The winner of each choice: the highest mean validation AUROC over (dataset, seed); near-ties
    (within :data:`TIE`) go to the candidate listed first."""
    out = {}
    for choice, part in table.groupby("choice", sort=False):
        mean = part.groupby("candidate", sort=False)["val_auroc"].mean()
        best = mean.max()
        out[choice] = next(c for c in mean.index if mean[c] >= best - TIE)
    return {"edge_prior_pseudo": float(out["edge_prior_pseudo"]), "unseen_tf_pi": out["unseen_tf_pi"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="choose the floors' pseudo and unseen-TF pi rule on validation")
    parser.add_argument("--out", default="results/beyond_floor/floor_choices.csv")
    args = parser.parse_args(argv)
    from grnlib.io import write_table

    table = run()
    write_table(table, args.out)
    print(table.groupby(["choice", "candidate"], sort=False)["val_auroc"].agg(["mean", "min", "count"]).round(4))
    print("chosen:", chosen(table))


if __name__ == "__main__":
    sys.exit(run_main("python -m grnlib.evaluation.floor_choices", main))
