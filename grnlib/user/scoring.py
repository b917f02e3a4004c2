"""Score a ranked network you already have (grnlib, BEELINE ``rankedEdges.csv``, arboreto/pySCENIC,
decoupler) against a reference network, beside the two floors: ``grnlib score`` and ``grnlib.score``.

The scored population (BEELINE's, restricted to TF rows): every TF of the reference x every gene of
the universe, self-pairs excluded. The universe is the expression's genes when given, else every
gene named by the network or the reference. A candidate pair the ranked list does not name ranks
last, tied with every other unnamed pair (BEELINE gives it weight 0). Weights are read as BEELINE
reads them: ``abs(EdgeWeight)`` (a strong repression is a confident edge) for the other tools'
tables, grnlib's ``score`` (a logit) as it is, and a table without weights by its row order.

Floors: the degree and XSwap edge-prior baselines (:mod:`grnlib.evaluation.baselines`) computed
from a *training part* of the reference (a seeded fraction of its edges, which then leave the
scored pairs: the floors may not see the answers) or from a separate prior network. Intervals
resample the TFs (:func:`grnlib.evaluation.metrics.cluster_bootstrap`): a TF's pairs are not
independent, so resampling pairs would give intervals that are too narrow.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.errors import DataError
from grnlib.data.edges import edges_from_table
from grnlib.data.symbols import match_symbols
from grnlib.progress import step
from grnlib.user.reading import read_priors

SCORERS = ("network", "degree", "edge_prior")
POINT_METRICS = ("auroc", "auprc", "auprc_dg", "early_precision", "early_precision_ratio", "per_tf_auroc",
                 "per_tf_auprc")
INTERVAL_METRICS = ("auroc", "auprc", "early_precision_ratio", "per_tf_auroc", "per_tf_auprc")
PAIR_BLOCK = 2_000_000  # pairs a floor scores at a time


def read_network(network, format: str | None = None, what: str = "network") -> pd.DataFrame:
    """An edge table (``source``, ``target``[, ``weight``, ``sign``]) from a file or a DataFrame in
    any accepted layout (:func:`grnlib.user.read_priors`); ``attrs["format"]`` is the detected one."""
    if isinstance(network, (str, os.PathLike)):
        return read_priors(network, format=format)
    if isinstance(network, pd.DataFrame):
        return edges_from_table(network, format=format, what=what)
    raise DataError(None, f"{what} must be a DataFrame or a file, got {type(network).__name__}",
                    "pass a DataFrame with source and target columns, or the path of an edge table")


def ranking_scores(edges: pd.DataFrame) -> np.ndarray:
    """Higher = more confident, per row: grnlib's logit as is, other tools' weights as ``abs``
    (BEELINE's reading), and row order (first = best) when the table has no weight."""
    if "weight" not in edges:
        return -np.arange(len(edges), dtype=np.float64)
    weight = edges["weight"].to_numpy(np.float64)
    return weight if edges.attrs.get("format") == "grnlib" else np.abs(weight)


def _ids(edges: pd.DataFrame, genes: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tf ids, target ids, rows inside the universe) of a symbol edge table."""
    tf, target = match_symbols(edges["source"], genes), match_symbols(edges["target"], genes)
    inside = (tf >= 0) & (target >= 0) & (tf != target)
    return tf, target, inside


def score_network(network, reference, *, genes=None, genes_source: str | None = None,
                  train_reference: float | None = None, prior=None, network_format: str | None = None,
                  reference_format: str | None = None, prior_format: str | None = None, seed: int = 0,
                  n_boot: int = 200, level: float = 0.95, paths: dict | None = None) -> pd.DataFrame:
    """Pooled and per-TF AUROC, AUPRC and early precision of a ranked network against a reference,
    beside the degree and edge-prior floors, with TF-bootstrap intervals.

    Args:
        network: the ranked edges (file or DataFrame, any layout of :data:`grnlib.formats.FORMATS`).
        reference: the true edges (file or DataFrame; ``source, target`` or any accepted layout).
        genes: the gene universe (e.g. the expression's ``var_names``); default the genes the
            network and the reference name. ``genes_source`` says where it came from (for the record).
        train_reference: a fraction in (0, 1): that share of the reference edges (seeded) trains
            the floors and leaves the scored pairs.
        prior: a separate network (file or DataFrame) to compute the floors from instead. Neither:
            no floors (only the network is scored).
        seed: seeds the training part, the edge prior's permutations and the bootstrap.
        n_boot: TF resamples for the intervals (0: none).
        level: coverage of the intervals.
        paths: file names for messages (``network``, ``reference``, ``prior``).

    Returns:
        DataFrame, one row per scorer (``network``, then ``degree``, ``edge_prior`` when there are
        floors), columns :data:`POINT_METRICS` with ``<metric>_low``/``_high`` for
        :data:`INTERVAL_METRICS`, ``n_pairs``, ``n_positives``, ``n_tfs``. ``attrs["info"]`` holds the
        universe, the counts of what was matched or left out, and the settings.
        ``auprc`` is average precision (sklearn's); ``auprc_dg`` the Davis-Goadrich interpolated
        area BEELINE reports; ``early_precision_ratio`` is BEELINE's EPR.
    """
    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.metrics import cluster_bootstrap, per_tf_metrics, ranking_metrics

    paths = dict(paths or {})
    if train_reference is not None and prior is not None:
        raise DataError(None, "both a training part of the reference and a separate prior were given",
                        "pass one of --train-reference and --prior (train_reference= or prior=)")
    if train_reference is not None and not 0 < float(train_reference) < 1:
        raise DataError(None, f"the training part of the reference must be a fraction in (0, 1), got {train_reference}",
                        "pass e.g. --train-reference 0.5 (train_reference=0.5)")
    if n_boot < 0 or not 0 < level < 1:
        raise DataError(None, f"n_boot={n_boot}, level={level}: need n_boot >= 0 and 0 < level < 1",
                        "pass e.g. --n-boot 200")
    net = read_network(network, network_format)
    ref = read_network(reference, reference_format, what="reference")
    if genes is None:
        genes = pd.Index(sorted(set(net["source"]) | set(net["target"]) | set(ref["source"]) | set(ref["target"])))
        genes_source = "the genes named by the network or the reference"
    genes = pd.Index(list(dict.fromkeys(str(g) for g in genes)), name="gene")  # a universe is a set
    n_genes = len(genes)

    ref_tf, ref_target, ref_inside = _ids(ref, genes)
    if not ref_inside.any():
        raise DataError(paths.get("reference"), f"none of the {len(ref)} reference edges joins two genes of the "
                        f"universe ({genes_source})", "use the same gene naming (symbols, species) in both")
    codes = np.unique(ref_tf[ref_inside] * n_genes + ref_target[ref_inside])
    tfs = np.unique(codes // n_genes)
    info = {"universe": genes_source, "n_genes": n_genes, "n_tfs": int(tfs.size),
            "reference_edges": len(ref), "reference_edges_outside_universe": int((~ref_inside).sum()),
            "network_format": net.attrs.get("format"), "seed": seed, "n_boot": n_boot, "level": level}

    train_codes = np.zeros(0, np.int64)
    if train_reference is not None:
        rng = np.random.default_rng(seed)
        n_train = int(round(float(train_reference) * codes.size))
        if not 0 < n_train < codes.size:
            raise DataError(paths.get("reference"), f"a training part of {train_reference} of {codes.size} reference "
                            f"edges leaves {n_train} to train and {codes.size - n_train} to score",
                            "pass a fraction that leaves edges on both sides, or a larger reference")
        train_codes = np.sort(rng.choice(codes, size=n_train, replace=False))
        codes = np.setdiff1d(codes, train_codes)
        info.update(floors_from=f"a seeded {train_reference} of the reference edges (left out of the scored pairs)",
                    train_edges=int(n_train))
    elif prior is not None:
        prior_edges = read_network(prior, prior_format, what="prior")
        p_tf, p_target, p_inside = _ids(prior_edges, genes)
        if not p_inside.any():
            raise DataError(paths.get("prior"), "no prior edge joins two genes of the universe",
                            "use a prior with the gene naming of the reference")
        train_codes = np.unique(p_tf[p_inside] * n_genes + p_target[p_inside])
        info.update(floors_from="the separate prior (its edges stay in the scored pairs)",
                    train_edges=int(train_codes.size))
    else:
        info["floors_from"] = None

    with step(f"score {tfs.size:,} TFs x {n_genes:,} genes"):
        pair_codes = (tfs[:, None] * n_genes + np.arange(n_genes)[None, :]).ravel()
        pair_codes = pair_codes[pair_codes // n_genes != pair_codes % n_genes]
        if train_reference is not None:
            pair_codes = pair_codes[~np.isin(pair_codes, train_codes)]
        label = np.isin(pair_codes, codes).astype(np.int8)
        pairs = pd.DataFrame({"tf": pair_codes // n_genes, "target": pair_codes % n_genes})

        net_tf, net_target, net_inside = _ids(net, genes)
        net_scores = ranking_scores(net)[net_inside]
        net_codes = net_tf[net_inside] * n_genes + net_target[net_inside]
        position = np.searchsorted(pair_codes, net_codes)
        listed = (position < pair_codes.size) & (pair_codes[np.minimum(position, pair_codes.size - 1)] == net_codes)
        if not listed.any():
            raise DataError(paths.get("network"), f"none of the network's {len(net)} edges is a candidate pair (a TF "
                            f"of the reference and a gene of the universe: {genes_source})",
                            "check the network and the reference use the same gene names")
        scores = {"network": np.full(pair_codes.size, net_scores[listed].min() - 1.0)}  # unnamed pairs: last, tied
        scores["network"][position[listed]] = net_scores[listed]
        info.update(network_edges=len(net), network_edges_scored=int(listed.sum()),
                    network_edges_outside_universe=int((~net_inside).sum()),
                    network_edges_not_candidates=int(net_inside.sum() - listed.sum()),
                    candidate_pairs=int(pair_codes.size), reference_edges_scored=int(label.sum()))
        if train_codes.size:
            ds = GRNDataset(id="score", genes=genes, tf_ids=np.unique(np.r_[tfs, train_codes // n_genes]),
                            edges=pd.DataFrame({"tf": train_codes // n_genes, "target": train_codes % n_genes}))
            train = ds.edges.assign(label=1)
            for name in SCORERS[1:]:  # in blocks of pairs: the edge prior's interpolation holds a few copies
                scores[name] = np.concatenate([score_baseline(name, ds, train, pairs.iloc[start:start + PAIR_BLOCK],
                                                              seed=seed)
                                               for start in range(0, len(pairs), PAIR_BLOCK)])

    rows = []
    for name, score in scores.items():
        point = ranking_metrics(label, score)
        per_tf = per_tf_metrics(pairs.assign(label=label), score)
        rows.append({"scorer": name, **{k: point[k] for k in POINT_METRICS[:5]},
                     "per_tf_auroc": float(per_tf["auroc"].mean()), "per_tf_auprc": float(per_tf["auprc"].mean()),
                     "n_pairs": point["n"], "n_positives": point["n_pos"], "n_tfs_per_tf": int(len(per_tf))})
    table = pd.DataFrame(rows)
    if n_boot:
        with step(f"bootstrap {n_boot} resamples of the {tfs.size:,} TFs"):
            resampled = cluster_bootstrap(label, scores, pairs["tf"].to_numpy(), n_boot=n_boot, seed=seed)
        tail = 100 * (1 - level) / 2
        for metric in INTERVAL_METRICS:
            bounds = [np.nanpercentile(resampled[name][metric], [tail, 100 - tail]) for name in scores]
            column = table.columns.get_loc(metric) + 1
            table.insert(column, f"{metric}_low", [b[0] for b in bounds])
            table.insert(column + 1, f"{metric}_high", [b[1] for b in bounds])
    table.attrs["info"] = info
    return table


def describe(table: pd.DataFrame) -> str:
    """A few lines saying what was scored, for a person reading the table."""
    info = table.attrs.get("info", {})
    lines = [f"universe: {info.get('n_genes')} genes ({info.get('universe')}); {info.get('n_tfs')} reference TFs, "
             f"{info.get('candidate_pairs')} candidate pairs, {info.get('reference_edges_scored')} reference edges scored",
             f"network: {info.get('network_edges_scored')} of its {info.get('network_edges')} edges are candidate "
             "pairs; the other candidates rank last, tied"]
    if info.get("floors_from"):
        lines.append(f"floors (degree, edge_prior) from {info['floors_from']}: {info.get('train_edges')} edges")
    else:
        lines.append("no floors: pass --train-reference 0.5 (or --prior FILE) to score the degree and edge-prior "
                     "floors beside the network")
    if info.get("n_boot"):
        lines.append(f"intervals: {100 * info['level']:.0f}% over {info['n_boot']} resamples of the TFs (seed "
                     f"{info['seed']}); auprc = average precision, auprc_dg = BEELINE's AUPRC, "
                     "early_precision_ratio = BEELINE's EPR")
    return "\n".join(lines)


def scoring_universe(expression=None) -> tuple[pd.Index | None, str | None]:
    """(genes, where they came from) of an AnnData, a list of genes, or None (the default universe)."""
    if expression is None:
        return None, None
    names = getattr(expression, "var_names", None)
    if names is not None:
        return pd.Index(names), f"the {len(names)} genes of the expression"
    genes = pd.Index([str(g) for g in expression])
    return genes, f"the {len(genes)} genes given"


def score_output(table: pd.DataFrame, path) -> Path:
    """Write the score table atomically: JSON (``{"info", "scores"}``) for ``.json``, else a table
    (tab-separated, ``,`` for ``.csv``, gzip for ``.gz``)."""
    from grnlib.io import write_json, write_table

    path = Path(path)
    if path.suffix == ".json":
        return write_json(path, {"info": table.attrs.get("info", {}), "scores": table.to_dict(orient="records")})
    return write_table(table, path, float_format="%.6g")
