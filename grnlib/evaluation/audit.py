"""Leakage audit of a train/validation/test split: count every way the test set can be too easy.

:func:`audit_split` returns one row per check with the count, the fraction (of the population
named in ``description``) and a sentence. Counts are exact, so a test can plant leaks and expect
precisely that many. The checks follow the known flaws of published GRN splits: repeated
pairs, training pairs reused as test negatives, reversed edges, negatives from TFs that have
no positive (a TF-identity shortcut), and TF/gene overlap between training and test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.evaluation.protocols import SPLIT_NAMES, check_pairs

AUDIT_COLUMNS = ("check", "count", "fraction", "description")


def _codes(pairs: pd.DataFrame, n: int) -> np.ndarray:
    """One int64 code per (tf, target) pair: tf * n + target."""
    return pairs["tf"].to_numpy(np.int64) * n + pairs["target"].to_numpy(np.int64)


def _fraction(count: int, total: int) -> float:
    return count / total if total else float("nan")


def audit_split(split: dict, ds: GRNDataset | None = None) -> pd.DataFrame:
    """Leak checks of ``split`` (dict with pair tables ``train``, ``val``, ``test``).

    Checks (``count`` / the denominator of ``fraction``):

    * ``duplicate_pairs_within_split``: rows repeating an earlier (tf, target) of the same split /
      all rows.
    * ``duplicate_pairs_across_splits``: distinct pairs present in more than one split / distinct pairs.
    * ``self_pairs``: rows with tf == target / all rows.
    * ``train_positive_as_test_negative``: test rows labelled 0 whose pair is labelled 1 in train /
      test negatives.
    * ``train_pair_in_test``: test rows whose pair occurs in train with any label / test rows.
    * ``test_positive_reverses_train_edge``: test positives (a, b) with (b, a) a training positive /
      test positives.
    * ``test_negative_tf_without_test_positive``: test negatives whose TF has no positive in test /
      test negatives (a scorer can reject those by TF identity alone).
    * ``test_negative_tf_without_any_positive``: test negatives whose TF has no positive in any of
      the three splits / test negatives.
    * ``test_tf_seen_in_train``: distinct test TFs that are TFs of training pairs / distinct test TFs.
    * ``test_gene_seen_in_train``: distinct genes of test pairs (TF or target) that occur in training
      pairs (as TF or target) / distinct test genes.

    With ``ds`` two more rows:

    * ``test_negative_is_known_edge``: test negatives that are edges of ``ds`` / test negatives.
    * ``dataset_edges_unused``: edges of ``ds`` (self pairs excluded) that are a positive of no
      split / dataset edges.

    Returns:
        DataFrame[check, count, fraction, description], one row per check in the order above.
    """
    missing = [name for name in SPLIT_NAMES if name not in split]
    if missing:
        raise ValueError(f"split lacks {missing}; expected a dict with keys {list(SPLIT_NAMES)}")
    for name in SPLIT_NAMES:
        check_pairs(split[name], None if ds is None else ds.n_genes, f"split[{name!r}]")
    n = 1 + max([int(max(t["tf"].max(), t["target"].max())) for t in split.values() if len(t)] + [0])
    if ds is not None:
        n = max(n, ds.n_genes)
    train, val, test = (split[name] for name in SPLIT_NAMES)
    codes = {name: _codes(split[name], n) for name in SPLIT_NAMES}
    rows = []

    def add(check: str, count: int, total: int, description: str) -> None:
        rows.append({"check": check, "count": int(count), "fraction": _fraction(int(count), total),
                     "description": description})

    n_rows = sum(len(t) for t in split.values())
    within = sum(int(pd.Series(c).duplicated().sum()) for c in codes.values())
    add("duplicate_pairs_within_split", within, n_rows,
        "rows repeating an earlier (tf, target) pair of the same split / all rows")

    distinct_per_split = [np.unique(c) for c in codes.values()]
    pooled = np.concatenate(distinct_per_split)
    occurrences = np.unique(pooled, return_counts=True)[1]
    add("duplicate_pairs_across_splits", int((occurrences > 1).sum()), occurrences.size,
        "distinct pairs that occur in more than one split / distinct pairs")

    self_rows = sum(int((t["tf"] == t["target"]).sum()) for t in split.values())
    add("self_pairs", self_rows, n_rows, "rows with tf == target / all rows")

    test_label = test["label"].to_numpy()
    test_neg, test_pos = test_label == 0, test_label == 1
    train_label = train["label"].to_numpy()
    train_pos_codes = codes["train"][train_label == 1]
    add("train_positive_as_test_negative", int(np.isin(codes["test"][test_neg], train_pos_codes).sum()),
        int(test_neg.sum()), "test negatives whose pair is a training positive / test negatives")
    add("train_pair_in_test", int(np.isin(codes["test"], codes["train"]).sum()), len(test),
        "test rows whose pair also occurs in training (any label) / test rows")

    reversed_test = test["target"].to_numpy(np.int64) * n + test["tf"].to_numpy(np.int64)
    add("test_positive_reverses_train_edge", int(np.isin(reversed_test[test_pos], train_pos_codes).sum()),
        int(test_pos.sum()), "test positives (a, b) whose reverse (b, a) is a training positive / test positives")

    test_tfs = test["tf"].to_numpy()
    tfs_with_test_positive = np.unique(test_tfs[test_pos])
    tfs_with_any_positive = np.unique(np.concatenate([t.loc[t["label"] == 1, "tf"].to_numpy() for t in split.values()]))
    add("test_negative_tf_without_test_positive",
        int((~np.isin(test_tfs[test_neg], tfs_with_test_positive)).sum()), int(test_neg.sum()),
        "test negatives whose TF has no positive in test / test negatives")
    add("test_negative_tf_without_any_positive",
        int((~np.isin(test_tfs[test_neg], tfs_with_any_positive)).sum()), int(test_neg.sum()),
        "test negatives whose TF has no positive in train, val or test / test negatives")

    distinct_test_tfs = np.unique(test_tfs)
    add("test_tf_seen_in_train", int(np.isin(distinct_test_tfs, train["tf"].to_numpy()).sum()),
        distinct_test_tfs.size, "distinct test TFs that are TFs of training pairs / distinct test TFs")
    test_genes = np.unique(np.concatenate([test_tfs, test["target"].to_numpy()]))
    train_genes = np.unique(np.concatenate([train["tf"].to_numpy(), train["target"].to_numpy()]))
    add("test_gene_seen_in_train", int(np.isin(test_genes, train_genes).sum()), test_genes.size,
        "distinct genes of test pairs (TF or target) that occur in training pairs / distinct test genes")

    if ds is not None:
        edges = ds.edges[ds.edges["tf"] != ds.edges["target"]].drop_duplicates(["tf", "target"])
        edge_codes = _codes(edges, n)
        add("test_negative_is_known_edge", int(np.isin(codes["test"][test_neg], edge_codes).sum()),
            int(test_neg.sum()), "test negatives that are known edges of the dataset / test negatives")
        used = np.concatenate([codes[name][split[name]["label"].to_numpy() == 1] for name in SPLIT_NAMES])
        add("dataset_edges_unused", int((~np.isin(edge_codes, used)).sum()), edge_codes.size,
            "dataset edges that are a positive of no split / dataset edges")
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def split_summary(split: dict) -> pd.DataFrame:
    """Size of each split: DataFrame indexed by split name with n_pairs, n_pos, pos_rate, n_tfs, n_targets."""
    rows = {}
    for name in SPLIT_NAMES:
        table = split[name]
        rows[name] = {"n_pairs": len(table), "n_pos": int(table["label"].sum()),
                      "pos_rate": float(table["label"].mean()) if len(table) else float("nan"),
                      "n_tfs": int(table["tf"].nunique()), "n_targets": int(table["target"].nunique())}
    return pd.DataFrame.from_dict(rows, orient="index")
