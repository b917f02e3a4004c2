"""Evaluation protocols: seeded train/validation/test pair tables from a :class:`GRNDataset`.

Four protocols, from easiest (leakiest) to hardest, registered by name in :data:`PROTOCOLS`:

``seed``
    The original setting: every known edge is a positive; negatives are TF x gene pairs drawn
    uniformly from the non-edges (no self pairs), ``neg_ratio`` per positive; a random 70/15/15
    split, stratified by label. Hub TFs and hub targets make the degree baseline strong here.
``released``
    The published GENELink/BEELINE splits (``beeline-splits/``), through
    :func:`grnlib.data.load_split`. There are five resamplings: ``seed`` 0..4 selects
    ``sample`` 1..5 (``sample = seed + 1``); ``fold`` is not used. Training and test tables are the
    published ones. The published validation tables of Non-Specific and STRING are balanced per TF
    (rate 0.5) while their test tables hold a share of every TF's non-targets (rate 0.015-0.03), so
    by default (``validation="rows"``) validation is drawn like test: the published validation pairs
    plus every candidate pair of the validation TFs that is in no published table (each a non-edge:
    every known edge is in one of the three). The floors then score on validation what they score
    on test (beeline/Non-Specific/hHEP/500 sample 1, degree AUROC: published validation 0.642,
    rows 0.860, test 0.920; STRING 0.811 / 0.877 / 0.886), and the higher floor on validation is
    the higher one on test. Specific tables already hold every gene of their TFs: nothing is added.
    ``validation="published"`` keeps the published validation table.
``heldout-tf``
    k-fold over TFs: the TFs with at least one positive are shuffled (seeded) into ``n_folds``
    folds; fold ``fold`` is the test set; a ``val_fraction`` share of the remaining TFs is the
    validation set; the rest train. A TF's pairs all live in one split, so test TFs are never
    training TFs. Every TF gets ``neg_ratio`` negatives per positive, targets drawn uniformly
    from genes it does not regulate (not itself); a TF that regulates more than half of the
    genes gets all its non-targets, so dense networks have a positive rate above 0.5 (BEELINE
    hHEP 500: ~0.6).
``degree-matched``
    As ``heldout-tf``, but negatives are chosen so that a degree score cannot tell them from the
    positives. ``in_degree_train(gene)`` counts the positives of the returned training table;
    it is what the degree baseline sees. Two ways, option ``matching``:

    * ``"stratified"`` (default): genes are grouped into strata of equal
      ``floor(log1p(in_degree_train) / bin_width)`` (``bin_width=0.1``: exact degrees up to ~10,
      within ~10 % above). For every TF and stratum the split keeps ``m`` positives and
      ``neg_ratio * m`` negatives, ``m`` = as many as that TF's non-targets in the stratum allow;
      positives beyond ``m`` are left out (seeded choice). The training table is matched on
      the in-degrees of all training-TF edges; validation and test on those of the kept
      training positives. Both classes then have the same degree distribution per TF, and the
      degree score sits at chance (AUROC 0.5 up to the spread inside a stratum). The price: when
      a TF regulates most hubs, its hub edges cannot be matched and are not evaluated
      (``audit_split(split, ds)`` counts the unused edges: ~54 % on BEELINE hHEP 500).
    * ``"proportional"``: every positive is kept and negative targets are drawn with probability
      proportional to ``in_degree_train(gene) + smoothing`` (``smoothing=1.0`` pseudo-edges per
      gene, so genes with no training in-edge are drawn too, rarely, as held-out TFs also
      regulate some of them). This matches degrees only on average: where a TF's own targets
      already include the hubs (dense networks such as BEELINE hHEP, ~330 targets per TF among
      948 genes) the remaining candidates are low-degree and the degree score keeps AUROC ~0.75;
      where in-degree is not a gene property (uniform random targets) it over-corrects to ~0.4.
      Kept for comparison; prefer ``"stratified"``.

All tables are pair tables (int64 ``tf``, ``target``, ``label``) sorted by (tf, target). For
``seed``, ``heldout-tf`` and ``degree-matched`` no pair occurs twice, within or across splits.
Everything is a function of (dataset, protocol, seed, fold, options).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.errors import DataError, check_seed
from grnlib.registry import Registry

SPLIT_NAMES = ("train", "val", "test")
ProtocolFn = Callable[..., dict]


@dataclass(frozen=True)
class ProtocolInfo:
    """What a split protocol needs and hides, declared when registered."""

    user_data: bool  # can split a user's own priors (``grnlib train``)
    hides_tfs: bool  # test TFs are never TFs of training (the TF protocols)
    degree_matched: bool = False  # negatives drawn so the degree score is at chance
    # reads the published split files (seeds 0-4 = samples 1-5), so it needs a dataset whose family
    # ships them (:attr:`grnlib.data.catalog.FamilyInfo.ships_splits`)
    reads_released_splits: bool = False


PROTOCOLS = Registry("protocol", info=ProtocolInfo)
"""Every split protocol by name, registered with its :class:`ProtocolInfo`."""
register_protocol = PROTOCOLS.register
RELEASED_SEEDS = range(5)


def tf_protocols() -> list[str]:
    """Protocols whose test TFs are unseen in training."""
    return PROTOCOLS.where(hides_tfs=True)


def check_protocol_seed(protocol: str, seed: int, source=None) -> None:
    """DataError unless ``seed`` is valid for ``protocol``: a seed (:func:`grnlib.errors.check_seed`), and
    0-4 for the released splits (the five published samples)."""
    seed = check_seed(seed, "seed", source)
    if PROTOCOLS.info(protocol).reads_released_splits and int(seed) not in RELEASED_SEEDS:
        raise DataError(source, f"seed {seed} does not name a released split: the released splits are the five "
                        "published samples, seeds 0-4", "pass seeds from 0 to 4 with --protocol released")


def check_pairs(pairs: pd.DataFrame, n_genes: int | None = None, name: str = "pairs",
                need_label: bool = True) -> None:
    """Raise :class:`DataError` unless ``pairs`` is a valid pair table.

    Valid: a DataFrame with integer ``tf`` and ``target`` columns (and a 0/1 ``label`` when
    ``need_label``), ids in ``[0, n_genes)`` when ``n_genes`` is given.
    """
    columns = ("tf", "target", "label") if need_label else ("tf", "target")
    if not isinstance(pairs, pd.DataFrame):
        raise DataError(None, f"{name} is a {type(pairs).__name__}, not a pair table",
                        "pass a pandas DataFrame with int64 columns tf, target and label")
    missing = [c for c in columns if c not in pairs.columns]
    if missing:
        raise DataError(None, f"{name} lacks column(s) {missing} (has {list(pairs.columns)})",
                        "build pair tables with grnlib.evaluation.protocols.make_split or give them columns tf, target, label")
    for column in columns:
        if not pd.api.types.is_integer_dtype(pairs[column]):
            raise DataError(None, f"{name}[{column!r}] has dtype {pairs[column].dtype}, expected integers",
                            "map gene symbols to integer gene ids (positions in ds.genes) first")
    if n_genes is not None and len(pairs):
        for column in ("tf", "target"):
            values = pairs[column].to_numpy()
            if values.min() < 0 or values.max() >= n_genes:
                raise DataError(None, f"{name}[{column!r}] has ids outside 0..{n_genes - 1}",
                                "use pair tables built from the same dataset as the scores")
    if need_label and not pairs["label"].isin((0, 1)).all():
        raise DataError(None, f"{name}['label'] has values other than 0 and 1",
                        "labels must be 1 for a known edge and 0 for a negative")


def make_split(ds: GRNDataset, protocol: str, seed: int = 0, fold: int = 0, n_folds: int = 5,
               neg_ratio: float = 1.0, val_fraction: float | None = None, **kw) -> dict:
    """Train/validation/test pair tables of ``ds`` under ``protocol``.

    Args:
        ds: the dataset; its ``edges`` are the positives.
        protocol: a key of :data:`PROTOCOLS` ("seed", "released", "heldout-tf", "degree-matched").
        seed: seeds every random choice ("released": picks sample ``seed + 1``).
        fold: test fold of the TF k-fold (TF protocols only).
        n_folds: number of TF folds (TF protocols only).
        neg_ratio: negatives per positive (not used by "released").
        val_fraction: "seed": share of pairs for validation (default 0.15); TF protocols: share of
            the non-test TFs held out for validation (default 0.15).
        **kw: protocol options: ``test_fraction`` (seed, default 0.15); ``matching``
            ("stratified" | "proportional"), ``bin_width`` (0.1) and ``smoothing`` (1.0)
            (degree-matched); ``root`` (released: data root) and ``validation`` (released:
            ``"rows"``, validation drawn like test, or ``"published"``).

    Returns:
        dict(train=, val=, test=) of pair tables (int64 tf, target, label).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid protocols: {PROTOCOLS.names()}")
    if neg_ratio <= 0:
        raise ValueError(f"neg_ratio must be positive, got {neg_ratio}")
    if val_fraction is not None and not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    return PROTOCOLS[protocol](ds, seed=seed, fold=fold, n_folds=n_folds, neg_ratio=neg_ratio,
                               val_fraction=val_fraction, **kw)


def _pair_table(tf, target, label) -> pd.DataFrame:
    table = pd.DataFrame({"tf": np.asarray(tf, dtype=np.int64), "target": np.asarray(target, dtype=np.int64),
                          "label": np.asarray(label, dtype=np.int64)})
    return table.sort_values(["tf", "target"], ignore_index=True)


def positive_edges(ds: GRNDataset) -> pd.DataFrame:
    """The dataset's edges as a clean int64 (tf, target) table: no duplicates, no self pairs."""
    edges = ds.edges[["tf", "target"]].astype("int64")
    edges = edges[edges["tf"] != edges["target"]].drop_duplicates(ignore_index=True)
    if edges.empty:
        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no positive edges (self pairs excluded)",
                        "use a dataset with at least one TF -> target edge")
    return edges


def _sample_uniform_negatives(ds: GRNDataset, positive_codes: np.ndarray, n: int,
                              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct TF x gene pairs drawn uniformly from non-edges without self pairs.

    Rejection sampling over pair codes ``tf * n_genes + target``: draw uniform TF and gene,
    drop self pairs, edges and repeats (first draws win, so the kept set is a uniform sample).
    """
    n_genes = ds.n_genes
    tf_ids = np.asarray(ds.tf_ids, dtype=np.int64)
    available = tf_ids.size * (n_genes - 1) - positive_codes.size
    if n > available:
        raise DataError(ds.source or ds.id, f"{n} negatives requested but only {available} non-edge "
                        "TF x gene pairs exist", "lower neg_ratio")
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < n:
        batch = 2 * (n - chosen.size) + 64
        tf = tf_ids[rng.integers(0, tf_ids.size, size=batch)]
        target = rng.integers(0, n_genes, size=batch)
        codes = (tf * n_genes + target)[tf != target]
        codes = codes[~np.isin(codes, positive_codes) & ~np.isin(codes, chosen)]
        _, first = np.unique(codes, return_index=True)
        chosen = np.concatenate([chosen, codes[np.sort(first)]])
    chosen = chosen[:n]
    return chosen // n_genes, chosen % n_genes


@register_protocol("seed", user_data=True, hides_tfs=False)
def seed_protocol(ds: GRNDataset, seed: int = 0, fold: int = 0, n_folds: int = 5, neg_ratio: float = 1.0,
                  val_fraction: float | None = None, test_fraction: float = 0.15) -> dict:
    """Uniform random negatives, random split stratified by label (see the module docstring)."""
    val_fraction = 0.15 if val_fraction is None else val_fraction
    if not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1 (got {val_fraction} + {test_fraction})")
    rng = np.random.default_rng(seed)
    edges = positive_edges(ds)
    positive_codes = np.sort(edges["tf"].to_numpy() * ds.n_genes + edges["target"].to_numpy())
    neg_tf, neg_target = _sample_uniform_negatives(ds, positive_codes, int(round(neg_ratio * len(edges))), rng)
    tables = {name: [] for name in SPLIT_NAMES}
    # Splitting each class separately keeps the positive rate equal in all three splits.
    for tf, target, label in ((edges["tf"].to_numpy(), edges["target"].to_numpy(), 1), (neg_tf, neg_target, 0)):
        order = rng.permutation(tf.size)
        n_test, n_val = int(round(test_fraction * tf.size)), int(round(val_fraction * tf.size))
        parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
        for name, idx in parts.items():
            tables[name].append(_pair_table(tf[idx], target[idx], np.full(idx.size, label)))
    return {name: pd.concat(tables[name]).sort_values(["tf", "target"], ignore_index=True)
            for name in SPLIT_NAMES}


@register_protocol("released", user_data=False, hides_tfs=False, reads_released_splits=True)
def released_protocol(ds: GRNDataset, seed: int = 0, fold: int = 0, n_folds: int = 5, neg_ratio: float = 1.0,
                      val_fraction: float | None = None, root=None, validation: str = "rows") -> dict:
    """The published split ``sample = seed + 1`` of a BEELINE dataset (seed 0..4); ``validation``:
    ``"rows"`` (default, validation drawn like test, see the module docstring) or ``"published"``."""
    if validation not in VALIDATION_POPULATIONS:
        raise ValueError(f"unknown validation {validation!r}; choose one of {VALIDATION_POPULATIONS}")
    from grnlib import data
    from grnlib.data.catalog import FAMILIES, parse_id

    try:  # the dataset families that ship published splits say so when registered
        has_splits = FAMILIES.info(parse_id(ds.id).family).ships_splits
    except (DataError, KeyError, ValueError):  # a user's or a toy dataset: no family id
        has_splits = False
    if not has_splits:
        with_splits = FAMILIES.where(ships_splits=True)
        raise DataError(ds.source or ds.id, f"dataset {ds.id!r} has no released splits",
                        f"use protocol 'released' only with datasets of {with_splits} (`grnlib datasets` "
                        "lists their n_splits)")
    if not 0 <= seed <= 4:
        raise ValueError(f"protocol 'released' has samples 1..5, selected by seed 0..4; got seed={seed}")
    split = data.load_split(ds.id, sample=seed + 1, root=root)
    split = {name: _pair_table(split[name]["tf"], split[name]["target"], split[name]["label"])
             for name in SPLIT_NAMES}
    if validation == "rows":
        split["val"] = validation_rows(ds, split)
    return split


VALIDATION_POPULATIONS = ("rows", "published")


def validation_rows(ds: GRNDataset, split: dict, tfs=None) -> pd.DataFrame:
    """``split["val"]`` plus every candidate pair (TF != target) of its TFs (or of ``tfs``) that is in none
    of the three tables, labelled from ``ds.edges`` (a published split puts every known edge in one table,
    so these are non-edges): the validation TFs' full candidate rows, as the test tables hold a TF's rows."""
    n = ds.n_genes
    tfs = np.unique(split["val"]["tf"].to_numpy(np.int64) if tfs is None else np.asarray(tfs, np.int64))
    tf = np.repeat(tfs, n)
    target = np.tile(np.arange(n, dtype=np.int64), tfs.size)
    codes = tf * n + target
    used = np.concatenate([t["tf"].to_numpy(np.int64) * n + t["target"].to_numpy(np.int64)
                           for t in split.values()])
    keep = (tf != target) & ~np.isin(codes, used)
    edges = positive_edges(ds)
    label = np.isin(codes[keep], edges["tf"].to_numpy() * n + edges["target"].to_numpy())
    added = _pair_table(tf[keep], target[keep], label)
    return pd.concat([split["val"], added]).sort_values(["tf", "target"], ignore_index=True)


def validation_halves(val: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Boolean mask of validation half A (its complement is half B) for nested validation
    (:mod:`grnlib.evaluation.nested`): whole TFs, shuffled with ``seed``, alternate between the halves, so a
    half looks like the held-out TFs of test. When whole TFs cannot give each half both classes (fewer than
    two TFs, or one class per TF), the pairs are split instead, stratified by label."""
    tf = val["tf"].to_numpy(np.int64)
    y = val["label"].to_numpy()
    rng = np.random.default_rng([seed, 2])
    tfs = np.unique(tf)
    half_a = np.isin(tf, rng.permutation(tfs)[::2])
    if all(np.unique(y[mask]).size == 2 for mask in (half_a, ~half_a)):
        return half_a
    half_a = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        half_a[rng.permutation(where)[::2]] = True
    return half_a


def tf_folds(ds: GRNDataset, seed: int = 0, fold: int = 0, n_folds: int = 5,
             val_fraction: float | None = None) -> dict:
    """The TFs of each split under the TF k-fold: dict(train=, val=, test=) of sorted int64 arrays.

    Only TFs with at least one positive take part. The fold assignment depends on ``seed`` only,
    so folds 0..n_folds-1 of one seed partition the TFs; the validation TFs depend on (seed, fold).
    """
    val_fraction = 0.15 if val_fraction is None else val_fraction
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise ValueError(f"fold must be in 0..{n_folds - 1}, got {fold}")
    tfs = np.unique(positive_edges(ds)["tf"].to_numpy())
    if tfs.size < n_folds + 2:
        raise DataError(ds.source or ds.id, f"only {tfs.size} TFs have positives, too few for "
                        f"{n_folds} folds plus validation TFs", "use fewer folds or a larger dataset")
    folds = np.array_split(np.random.default_rng(seed).permutation(tfs), n_folds)
    test = folds[fold]
    rest = np.concatenate([f for i, f in enumerate(folds) if i != fold])
    n_val = min(rest.size - 1, max(1, int(round(val_fraction * rest.size))))
    val = np.random.default_rng([seed, fold]).choice(rest, size=n_val, replace=False)
    return {"train": np.sort(np.setdiff1d(rest, val)), "val": np.sort(val), "test": np.sort(test)}


def _negative_candidates(ds: GRNDataset, edges: pd.DataFrame, tfs: np.ndarray):
    """``(tf, its positive targets, its candidate negatives)`` for each TF in ``tfs``: every gene but the
    TF itself and its known targets, in gene order."""
    targets_of = edges.groupby("tf")["target"].apply(np.asarray)
    for tf in tfs:
        positives = targets_of[tf]
        eligible = np.ones(ds.n_genes, dtype=bool)
        eligible[positives] = False
        eligible[tf] = False
        yield tf, positives, np.flatnonzero(eligible)


def _per_tf_negatives(ds: GRNDataset, edges: pd.DataFrame, tfs: np.ndarray, neg_ratio: float,
                      rng: np.random.Generator, weights: np.ndarray | None) -> pd.DataFrame:
    """For each TF in ``tfs``: round(neg_ratio * its positives) negative targets, without repeats.

    Candidates are all genes except the TF and its known targets. Drawn uniformly, or with
    probability proportional to ``weights`` [n_genes] when given. A TF that regulates nearly
    every gene gets as many negatives as there are candidates.
    """
    tf_out, target_out = [], []
    for tf, positives, candidates in _negative_candidates(ds, edges, tfs):
        k = min(candidates.size, int(round(neg_ratio * positives.size)))
        p = None
        if weights is not None:
            p = weights[candidates] / weights[candidates].sum()
        drawn = rng.choice(candidates, size=k, replace=False, p=p)
        tf_out.append(np.full(k, tf, dtype=np.int64))
        target_out.append(drawn.astype(np.int64))
    tf_all = np.concatenate(tf_out) if tf_out else np.empty(0, dtype=np.int64)
    target_all = np.concatenate(target_out) if target_out else np.empty(0, dtype=np.int64)
    return _pair_table(tf_all, target_all, np.zeros(tf_all.size))


def _stratified_matching(ds: GRNDataset, edges: pd.DataFrame, tfs: np.ndarray, neg_ratio: float,
                         rng: np.random.Generator, strata: np.ndarray) -> pd.DataFrame:
    """Per TF and degree stratum, keep equally many positives and (``neg_ratio`` x) negatives.

    Args:
        strata: [n_genes] int stratum of every gene (same stratum = same degree score).

    Returns:
        pair table of the kept positives and the drawn negatives of ``tfs``.
    """
    n_strata = int(strata.max()) + 1
    tables = []
    for tf, positives, candidates in _negative_candidates(ds, edges, tfs):
        n_pos = np.bincount(strata[positives], minlength=n_strata)
        n_cand = np.bincount(strata[candidates], minlength=n_strata)
        kept_pos = np.minimum(n_pos, np.floor(n_cand / neg_ratio)).astype(np.int64)
        kept_neg = np.minimum(n_cand, np.round(neg_ratio * kept_pos)).astype(np.int64)
        chosen_pos = _random_per_stratum(positives, strata[positives], kept_pos, rng)
        chosen_neg = _random_per_stratum(candidates, strata[candidates], kept_neg, rng)
        tables.append(_pair_table(np.full(chosen_pos.size + chosen_neg.size, tf),
                                  np.concatenate([chosen_pos, chosen_neg]),
                                  np.r_[np.ones(chosen_pos.size), np.zeros(chosen_neg.size)]))
    return pd.concat(tables).sort_values(["tf", "target"], ignore_index=True)


def _random_per_stratum(genes: np.ndarray, gene_strata: np.ndarray, quota: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """A uniform random ``quota[s]`` genes of each stratum ``s`` (without replacement)."""
    order = np.lexsort((rng.random(genes.size), gene_strata))  # by stratum, random within
    sorted_strata = gene_strata[order]
    first_of_stratum = np.searchsorted(sorted_strata, sorted_strata, side="left")
    rank_in_stratum = np.arange(genes.size) - first_of_stratum
    return genes[order][rank_in_stratum < quota[sorted_strata]]


def _heldout_split(ds: GRNDataset, seed: int, fold: int, n_folds: int, neg_ratio: float,
                   val_fraction: float | None, matching: str | None = None,
                   smoothing: float = 1.0, bin_width: float = 0.1) -> dict:
    """Shared body of the TF protocols; ``matching=None`` means uniform per-TF negatives."""
    edges = positive_edges(ds)
    groups = tf_folds(ds, seed=seed, fold=fold, n_folds=n_folds, val_fraction=val_fraction)
    rng = np.random.default_rng([seed, fold, 1])
    train_in_degree = np.bincount(edges.loc[edges["tf"].isin(groups["train"]), "target"].to_numpy(),
                                  minlength=ds.n_genes)
    split = {}
    for name in SPLIT_NAMES:  # train first: val/test strata come from the train table as returned
        if matching == "stratified":
            if bin_width <= 0:
                raise ValueError(f"bin_width must be positive, got {bin_width}")
            strata = np.floor(np.log1p(train_in_degree) / bin_width).astype(np.int64)
            split[name] = _stratified_matching(ds, edges, groups[name], neg_ratio, rng, strata)
            if name == "train":
                # Matching drops some training positives; the degree baseline counts only the
                # kept ones, so val/test are matched on that graph.
                kept = split["train"].loc[split["train"]["label"] == 1, "target"].to_numpy()
                train_in_degree = np.bincount(kept, minlength=ds.n_genes)
            continue
        weights = None
        if matching == "proportional":
            if smoothing <= 0:
                raise ValueError(f"smoothing must be positive so every gene can be drawn, got {smoothing}")
            weights = train_in_degree + float(smoothing)
        elif matching is not None:
            raise ValueError(f"unknown matching {matching!r}; choose 'stratified' or 'proportional'")
        positives = edges[edges["tf"].isin(groups[name])]
        negatives = _per_tf_negatives(ds, edges, groups[name], neg_ratio, rng, weights)
        split[name] = pd.concat([_pair_table(positives["tf"], positives["target"], np.ones(len(positives))),
                                 negatives]).sort_values(["tf", "target"], ignore_index=True)
    return split


@register_protocol("heldout-tf", user_data=True, hides_tfs=True)
def heldout_tf_protocol(ds: GRNDataset, seed: int = 0, fold: int = 0, n_folds: int = 5, neg_ratio: float = 1.0,
                        val_fraction: float | None = None) -> dict:
    """TF k-fold with uniform per-TF negatives (see the module docstring)."""
    return _heldout_split(ds, seed, fold, n_folds, neg_ratio, val_fraction)


@register_protocol("degree-matched", user_data=True, hides_tfs=True, degree_matched=True)
def degree_matched_protocol(ds: GRNDataset, seed: int = 0, fold: int = 0, n_folds: int = 5,
                            neg_ratio: float = 1.0, val_fraction: float | None = None,
                            matching: str = "stratified", bin_width: float = 0.1,
                            smoothing: float = 1.0) -> dict:
    """TF k-fold with degree-matched negatives (see the module docstring for ``matching``)."""
    return _heldout_split(ds, seed, fold, n_folds, neg_ratio, val_fraction, matching=matching,
                          smoothing=smoothing, bin_width=bin_width)
