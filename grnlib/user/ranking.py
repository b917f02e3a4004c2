"""Ranking and export: score every candidate TF x gene pair of an expression matrix with a trained
:class:`~grnlib.user.model.UserModel`, and write the ranked table."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from grnlib.errors import DataError, DataWarning
from grnlib.formats import edge_format, format_names
from grnlib.data.symbols import match_symbols
from grnlib.io import write_table
from grnlib.progress import enabled as progress_on
from grnlib.progress import step

if TYPE_CHECKING:
    from grnlib.user.model import UserModel

OUTPUT_COLUMNS = list(edge_format("grnlib").columns)  # tf target score rank in_prior sign sign_confidence evidence
OUTPUT_FORMATS = tuple(format_names(table=True))  # grnlib, beeline, arboreto, decoupler



def rank_edges(um: UserModel, expression, *, tfs: list[str] | None = None, pairs: pd.DataFrame | None = None,
               priors: pd.DataFrame | None = None, top_k: int | None = None, min_score: float | None = None,
               refit_features: bool = False, progress: bool = True, chunk_tfs: int = 256,
               expression_path=None, tfs_path=None, pairs_path=None) -> pd.DataFrame:
    """Score candidate edges of ``expression`` with a trained :class:`UserModel`.

    Args:
        um: from :func:`train_user_model` or :func:`load_user_model`.
        expression: AnnData (cells x genes). Only genes of the training universe that it measures
            are scored (counts of the others are reported as a :class:`DataWarning`).
        tfs: candidate TF symbols; default the model's candidate TFs. A TF without prior edges
            in training is scored too, but models with learned gene embeddings never trained its
            embedding: trust such scores only from models reading expression.
        pairs: score these ``source, target`` symbol pairs instead of every TF x gene pair.
        priors: ``source, target`` symbols marking ``in_prior``; default the training priors.
        top_k: keep the ``top_k`` best pairs (memory stays O(chunk + k) at genome scale).
        min_score: keep pairs scoring at least this logit (0 = probability 0.5).
        refit_features: see :meth:`FeatureRecipe.transform`.
        chunk_tfs: TFs scored per step (one progress-bar step each).

    Returns:
        DataFrame ``tf, target`` (symbols), ``score`` (the model's logit, plus the TF's base-rate
        offset when the model was trained on a per-TF sampled table (``um.correction``, see
        :mod:`grnlib.evaluation.correction`); sigmoid gives the probability), ``rank`` (1 = best),
        ``in_prior`` (1 when the pair is a prior edge), ``sign`` (+1 activation, -1 repression) and
        ``sign_confidence`` (the probability of that sign; 1 for a prior edge whose mode of regulation
        the priors give; :func:`grnlib.user.signs.edge_signs`), sorted by score (ties by TF, then target, in gene order). Self-pairs are never scored.
    """
    from grnlib.training.loop import predict_logits, progress_enabled

    if top_k is not None and top_k < 1:
        raise DataError(None, f"--top-k must be at least 1, got {top_k}", "pass a positive number of edges to keep")
    model = um.model
    if um.correction is not None and um.correction.applied:
        from grnlib.evaluation.correction import CorrectedModel

        model = CorrectedModel(um.model, um.correction)  # top-k and every score see the corrected logit
    genes = um.genes
    source = match_symbols(genes, expression.var_names)  # model gene -> column of the new matrix
    measured = source >= 0
    if not measured.any():
        raise DataError(expression_path, f"none of the model's {len(genes)} genes is in the expression matrix "
                        f"(model genes e.g. {list(genes[:3])}, matrix e.g. {list(expression.var_names[:3])})",
                        "predict on expression with the gene symbols used in training")
    n_extra = expression.n_vars - len(np.unique(source[measured]))
    if (~measured).any() or n_extra:
        warnings.warn(f"{expression_path or 'expression'}: {int((~measured).sum())} of the model's {len(genes)} genes "
                      f"are absent and not scored; {n_extra} gene(s) of the matrix were not in training and are "
                      "not scored", DataWarning, stacklevel=2)
    features = None
    if um.recipe is not None:
        # The recipe reads the whole matrix in place (a gene's features depend on its own profile
        # only) and returns the model's genes: no genes-subset copy of a large sparse matrix.
        measured_features = um.recipe.transform(expression, refit=refit_features, path=expression_path,
                                                genes=source[measured])
        width = um.model.config.get("in_features")
        if measured_features.shape[1] != width:
            raise DataError(expression_path, f"gives {measured_features.shape[1]} features per gene but the model "
                            f"was trained on {width} ({um.recipe.kind} features)",
                            "predict on expression with the training cells, or retrain on this expression")
        features = np.zeros((len(genes), width), dtype=np.float32)
        features[measured] = measured_features
        table = getattr(um.model, "evidence_table", None)  # pair evidence computed once from the training cells
        if table is not None and not um.recipe.has_training_cells(expression):
            warnings.warn(f"{expression_path or 'expression'}: the model's {', '.join(table.groups)} evidence "
                          "stays that of its training cells (only the expression features travel to these cells)",
                          DataWarning, stacklevel=2)
    gene_ids = np.flatnonzero(measured).astype(np.int64)

    if pairs is not None:
        tf_ids, target_ids = match_symbols(pairs["source"], genes), match_symbols(pairs["target"], genes)
        ok = (tf_ids >= 0) & (target_ids >= 0)
        ok[ok] &= measured[tf_ids[ok]] & measured[target_ids[ok]]
        ok &= tf_ids != target_ids
        if not ok.any():
            raise DataError(pairs_path, f"none of the {len(pairs)} pairs joins two genes the model can score",
                            "list pairs of genes that were in training and are in the expression matrix")
        if not ok.all():
            warnings.warn(f"{pairs_path}: {int((~ok).sum())} of {len(pairs)} pair(s) name genes the model cannot "
                          "score (not in training or not in the expression matrix); they are left out",
                          DataWarning, stacklevel=2)
        table = pd.DataFrame({"tf": tf_ids[ok], "target": target_ids[ok]})
        table["score"] = predict_logits(model, table, features=features)
        if min_score is not None:
            table = table[table["score"] >= min_score]
        table = _sorted(table)
        if top_k is not None:
            table = table.head(top_k)
    else:
        if tfs is not None:
            found = match_symbols(tfs, genes)
            tf_ids = np.unique(found[(found >= 0)])
            tf_ids = tf_ids[measured[tf_ids]]
            if not len(tf_ids):
                raise DataError(tfs_path, f"none of the {len(tfs)} TFs in the list is a gene the model can score "
                                f"(e.g. {list(tfs[:3])})",
                                "list TFs that were in training and are in the expression matrix, or leave out --tfs")
        else:
            tf_ids = um.tfs[measured[um.tfs]]
            if not len(tf_ids):
                raise DataError(expression_path, "none of the model's candidate TFs is in the expression matrix",
                                "predict on expression measuring the training TFs, or pass --tfs")
        from grnlib.user.knowledge import knowledge_ranker, with_knowledge

        ranker = knowledge_ranker(um)  # TFs without prior edges get knowledge-based targets (--knowledge)
        unknown = np.setdiff1d(tf_ids, ranker.known_tfs()) if ranker is not None else tf_ids[:0]
        with step(f"score {len(tf_ids):,} TFs x {len(gene_ids):,} genes"):
            scored_tfs = tf_ids if ranker is None else np.setdiff1d(tf_ids, unknown)
            table = _score_all(model, scored_tfs.astype(np.int64), gene_ids, features, top_k,
                               min_score, chunk_tfs, progress_enabled(progress) and progress_on())
            if ranker is not None:
                table = with_knowledge(table, ranker, unknown, gene_ids, top_k, min_score)
    prior = priors_as_ids(priors, genes) if priors is not None else um.prior_edges
    prior_codes = prior["tf"].to_numpy(np.int64) * len(genes) + prior["target"].to_numpy(np.int64)
    codes = table["tf"].to_numpy(np.int64) * len(genes) + table["target"].to_numpy(np.int64)
    from grnlib.user.signs import edge_signs

    with step(f"sign {len(table):,} edges from the priors and the TF-target correlation"):
        sign, confidence = edge_signs(table["tf"].to_numpy(np.int64), table["target"].to_numpy(np.int64), prior,
                                      len(genes), expression.X, source)
    out = pd.DataFrame({"tf": genes[table["tf"].to_numpy()], "target": genes[table["target"].to_numpy()],
                        "score": table["score"].to_numpy(np.float64),
                        "rank": np.arange(1, len(table) + 1, dtype=np.int64),
                        "in_prior": np.isin(codes, prior_codes).astype(np.int8),
                        "sign": sign, "sign_confidence": confidence})
    if "evidence" in table:
        out["evidence"] = table["evidence"].to_numpy()
    return out


def _score_all(model, tf_ids, gene_ids, features, top_k, min_score, chunk_tfs, progress) -> pd.DataFrame:
    """Every TF x gene pair in TF chunks; a running top-k keeps memory bounded."""
    from tqdm import tqdm

    from grnlib.training.loop import score_all_pairs

    parts = []
    with tqdm(total=len(tf_ids), disable=not progress, desc="score", unit="TF") as bar:
        for start in range(0, len(tf_ids), chunk_tfs):
            chunk = tf_ids[start:start + chunk_tfs]
            if top_k is not None:
                part = score_all_pairs(model, chunk, gene_ids, features, top_k=top_k)
                part = part[np.isfinite(part["score"].to_numpy())]
                if min_score is not None:
                    part = part[part["score"] >= min_score]
                nonempty = [p for p in (*parts, part) if len(p)]
                parts = [_sorted(pd.concat(nonempty, ignore_index=True)).head(top_k)] if nonempty else []
            else:
                block = score_all_pairs(model, chunk, gene_ids, features)  # [n_chunk, n_gene], self = -inf
                keep = np.isfinite(block) if min_score is None else np.isfinite(block) & (block >= min_score)
                rows, cols = np.nonzero(keep)
                parts.append(pd.DataFrame({"tf": chunk[rows], "target": gene_ids[cols], "score": block[rows, cols]}))
            bar.update(len(chunk))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({"tf": np.zeros(0, np.int64), "target": np.zeros(0, np.int64), "score": np.zeros(0)})
    return _sorted(pd.concat(parts, ignore_index=True))


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Best score first; ties broken by TF id then target id, so the order is reproducible."""
    order = np.lexsort((table["target"].to_numpy(), table["tf"].to_numpy(), -table["score"].to_numpy(np.float64)))
    return table.iloc[order].reset_index(drop=True)


def priors_as_ids(priors: pd.DataFrame, genes) -> pd.DataFrame:
    """Symbol edges (``source``, ``target``[, ``sign``]) -> gene-id table ``tf, target``[, ``sign``]
    (unknown genes dropped)."""
    tf, target = match_symbols(priors["source"], genes), match_symbols(priors["target"], genes)
    keep = (tf >= 0) & (target >= 0)
    table = pd.DataFrame({"tf": tf[keep], "target": target[keep]})
    if "sign" in priors:
        table["sign"] = priors["sign"].to_numpy()[keep].astype(np.int8)
    return table


def as_format(ranked: pd.DataFrame, format: str = "grnlib") -> pd.DataFrame:
    """A ranked table (from :func:`rank_edges`, best first) in another tool's convention: the columns
    of its :class:`~grnlib.formats.EdgeFormat` (:data:`grnlib.formats.FORMATS`).

    - ``grnlib``: ``tf, target, score, rank, in_prior, sign, sign_confidence`` (unchanged);
    - ``beeline``: ``Gene1, Gene2, EdgeWeight`` (BEELINE's ``rankedEdges.csv``);
    - ``arboreto``: ``TF, target, importance`` (arboreto/pySCENIC adjacencies);
    - ``decoupler``: ``source, target, weight`` (a decoupler network).

    The weight of the last three is :func:`edge_weight` of the score; decoupler's is signed, times the
    edge's ``sign`` (a negative weight is a repression for decoupler), so ``|weight|`` orders the rows,
    which stay best first.
    """
    if format not in format_names(table=True):
        raise DataError(None, f"unknown output format {format!r}", f"use one of {format_names(table=True)}")
    written = edge_format(format)
    group = ["group"] if "group" in ranked else []  # per-group rankings stacked (grnlib.user.groups) keep it first
    if written.weight is None:  # the ranked table's own columns
        return ranked[group + [c for c in written.columns if c in ranked]].reset_index(drop=True)
    values = written.weight(ranked["score"].to_numpy())
    if written.signed and "sign" in ranked:
        values = values * ranked["sign"].to_numpy()
    out = pd.DataFrame({written.source: ranked["tf"].to_numpy(), written.target: ranked["target"].to_numpy(),
                        written.weight_column: values})
    return pd.concat([ranked[group].reset_index(drop=True), out], axis=1) if group else out


def write_ranked(table: pd.DataFrame, path, format: str = "grnlib") -> Path:
    """Write a ranked table atomically in ``format`` (see :func:`as_format`): CSV for ``.csv``, else
    TSV (BEELINE's table is always tab-separated, as BEELINE reads it); gzip when the name ends in
    ``.gz``."""
    written = edge_format(format)
    with step(f"write {len(table):,} ranked pairs to {Path(path).name}"):
        return write_table(as_format(table, format), path, sep=written.separator, float_format=written.float_format)


def prior_roles(um: UserModel, ranked: pd.DataFrame) -> np.ndarray:
    """What each ranked pair was during training: ``"train"``, ``"val"`` or ``"test"`` for prior
    edges used as positives of that split, ``"prior, unused"`` for prior edges no split used,
    ``"not in priors"`` otherwise. Needs ``um.split`` (a freshly trained model).

    Scores of training positives say how well the model fits what it saw; only the held-out
    ("test") prior edges show how it ranks edges it was not told about.
    """
    if um.split is None:
        raise ValueError("prior_roles needs the split of a freshly trained model (um.split is None)")
    n = len(um.genes)
    codes = um.genes.get_indexer(ranked["tf"]).astype(np.int64) * n + um.genes.get_indexer(ranked["target"])
    roles = np.where(ranked["in_prior"].to_numpy() == 1, "prior, unused", "not in priors").astype(object)
    for name, table in um.split.items():
        positives = table[table["label"] == 1]
        split_codes = positives["tf"].to_numpy(np.int64) * n + positives["target"].to_numpy(np.int64)
        roles[np.isin(codes, split_codes)] = name
    return roles
