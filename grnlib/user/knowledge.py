"""Knowledge for the user path: a TF with no known edges gets annotation-based targets.

``grnlib train --knowledge go,pfam,jaspar`` (or ``auto``) and ``grnlib.fit(..., knowledge=...)`` call
:func:`attach_knowledge`: a :class:`grnlib.models.knowledge.KnowledgeScorer` is fitted on every prior
edge, and its settings go into the model's ``params["knowledge"]`` (so a saved model rebuilds it from
its priors). When ranking (:func:`grnlib.user.ranking.rank_edges`), candidate TFs with prior edges keep
the model's score; TFs without any are scored by the knowledge scorer, put on the logit scale by a
logistic fit on TFs whose edges were hidden from the transfer (``a * score + b``, stored too). Every row
gets an ``evidence`` column: ``model`` for the model's rows; for knowledge rows, what supports the
edge: ``similar TFs: A, B`` (the most similar TFs that regulate the target), ``GO function`` (TF and
target share specific GO processes) and ``target degree`` (the gene is a target of many TFs).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from grnlib.errors import DataWarning
from grnlib.data.knowledge import Knowledge, load_knowledge, parse_sources
from grnlib.models.knowledge import KnowledgeScorer

#: A knowledge source kept with ``--knowledge auto`` only when at least this share of genes resolves.
AUTO_MIN_MATCH = 0.5
_CACHE_ATTRIBUTE = "_knowledge_ranker"


def attach_knowledge(um, sources, seed: int = 0) -> dict | None:
    """Fit knowledge evidence on ``um``'s prior edges and record it in ``um.params["knowledge"]``.

    ``sources``: ``"go,pfam,jaspar"``, a list, ``"auto"`` (all, when the genes are human or mouse
    symbols) or ``None``/``"none"`` (nothing). Returns the recorded settings (None when off).
    """
    auto = isinstance(sources, str) and sources.strip().lower() == "auto"
    names = parse_sources(sources)
    if not names:
        um.params.pop("knowledge", None)
        return None
    knowledge = load_knowledge(um.genes, names, warn=not auto)
    if auto and knowledge.match_rate < AUTO_MIN_MATCH:
        warnings.warn(f"--knowledge auto: only {knowledge.match_rate:.0%} of the genes are human or mouse symbols; "
                      "no annotation knowledge is used", DataWarning, stacklevel=2)
        um.params.pop("knowledge", None)
        return None
    edges = um.prior_edges[["tf", "target"]].to_numpy(np.int64)
    scorer = KnowledgeScorer(knowledge).fit(edges, seed=seed)
    slope, intercept = _logit_scale(scorer, seed)
    settings = {"sources": list(names), "k": scorer.k, "lam": scorer.lam, "mu": scorer.mu,
                "real_only": scorer.real_only, "slope": slope, "intercept": intercept,
                "match_rate": round(knowledge.match_rate, 4)}
    um.params["knowledge"] = settings
    setattr(um, _CACHE_ATTRIBUTE, KnowledgeRanker(scorer, slope, intercept))
    return settings


def _logit_scale(scorer: KnowledgeScorer, seed: int, fraction: float = 0.2) -> tuple[float, float]:
    """``a, b`` so that ``a * score + b`` is the logit of an edge, fitted on a fifth of the TFs whose
    edges the transfer did not see (each against every gene)."""
    from sklearn.linear_model import LogisticRegression

    tfs = np.unique(scorer.edges[:, 0])
    if tfs.size < 3:
        return 1.0, 0.0
    held = np.sort(np.random.default_rng([seed, 19, 1]).choice(tfs, size=max(1, int(fraction * tfs.size)),
                                                               replace=False))
    inner = KnowledgeScorer(scorer.knowledge, k=scorer.k, lam=scorer.lam, mu=scorer.mu, real_only=scorer.real_only)
    inner.fit(scorer.edges[~np.isin(scorer.edges[:, 0], held)])
    scores, _ = inner.score_matrix(held)
    labels = np.zeros_like(scores, dtype=np.int8)
    own = scorer.edges[np.isin(scorer.edges[:, 0], held)]
    labels[np.searchsorted(held, own[:, 0]), own[:, 1]] = 1
    keep = np.ones_like(labels, dtype=bool)
    keep[np.arange(held.size), held] = False
    if labels[keep].min() == labels[keep].max():
        return 1.0, 0.0
    fit = LogisticRegression(C=1e4).fit(scores[keep].reshape(-1, 1), labels[keep])
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


class KnowledgeRanker:
    """Scores and explains the rows of TFs that have no prior edges."""

    def __init__(self, scorer: KnowledgeScorer, slope: float, intercept: float):
        self.scorer, self.slope, self.intercept = scorer, slope, intercept

    def known_tfs(self) -> np.ndarray:
        return np.unique(self.scorer.edges[:, 0])

    def rows(self, tf_ids: np.ndarray, gene_ids: np.ndarray, top_k: int | None,
             min_score: float | None) -> pd.DataFrame:
        """``tf, target, score, evidence`` of TFs ``tf_ids`` against ``gene_ids`` (best first, cut)."""
        tf_ids = np.asarray(tf_ids, dtype=np.int64)
        if tf_ids.size == 0:
            return pd.DataFrame({"tf": np.zeros(0, np.int64), "target": np.zeros(0, np.int64),
                                 "score": np.zeros(0), "evidence": np.zeros(0, object)})
        matrix, parts = self.scorer.score_matrix(tf_ids)
        logits = self.slope * matrix[:, gene_ids] + self.intercept
        tf_rows, gene_cols = np.meshgrid(np.arange(tf_ids.size), np.arange(gene_ids.size), indexing="ij")
        table = pd.DataFrame({"tf": tf_ids[tf_rows.ravel()], "target": gene_ids[gene_cols.ravel()],
                              "score": logits.ravel(), "_row": tf_rows.ravel()})
        table = table[table["tf"] != table["target"]]
        if min_score is not None:
            table = table[table["score"] >= min_score]
        order = np.lexsort((table["target"].to_numpy(), table["tf"].to_numpy(), -table["score"].to_numpy()))
        table = table.iloc[order]
        if top_k is not None:
            table = table.head(top_k)
        table = table.reset_index(drop=True)
        table["evidence"] = self.explain(tf_ids, table["_row"].to_numpy(), table["target"].to_numpy(), parts)
        return table.drop(columns="_row")

    def explain(self, tf_ids, rows, targets, parts) -> list[str]:
        """Which evidence supports each (tf_ids[rows[i]], targets[i])."""
        scorer = self.scorer
        edges = scorer.edges
        if scorer.real_only and scorer.knowledge.is_real_tf is not None:
            edges = edges[scorer.knowledge.is_real_tf[edges[:, 0]]]
        sources = np.unique(edges[:, 0])
        similarity = scorer.similarity(np.asarray(tf_ids), sources) if sources.size else np.zeros((len(tf_ids), 0))
        frame = pd.DataFrame({"column": np.searchsorted(sources, edges[:, 0]), "target": edges[:, 1]})
        by_target = {int(t): g.to_numpy() for t, g in frame.groupby("target")["column"]}
        genes = scorer.knowledge.genes
        function = parts["function"]
        degree = parts[("degree", bool(scorer.real_only))]
        out = []
        for row, target in zip(rows, targets):
            said = []
            columns = by_target.get(int(target))
            if columns is not None and similarity.shape[1]:
                weights = similarity[row, columns]
                order = np.argsort(-weights, kind="stable")[:2]
                best = columns[order][weights[order] > 0]
                if best.size:
                    said.append("similar TFs: " + ", ".join(str(genes[sources[c]]) for c in best))
            if scorer.lam and function[row, target] > 0.1:
                said.append("GO function")
            if degree[0, target] > 0:
                said.append("target degree")
            out.append("; ".join(said) or "none")
        return out


def with_knowledge(table: pd.DataFrame, ranker: KnowledgeRanker, tf_ids: np.ndarray, gene_ids: np.ndarray,
                   top_k: int | None, min_score: float | None) -> pd.DataFrame:
    """The model's rows (``evidence`` = ``model``) and the knowledge rows of ``tf_ids``, best first, cut
    to ``top_k`` (ties by TF, then target, as the model's ranking)."""
    model_rows = table.assign(evidence="model")
    extra = ranker.rows(tf_ids, gene_ids, top_k, min_score)
    merged = pd.concat([p for p in (model_rows, extra) if len(p)] or [model_rows], ignore_index=True)
    order = np.lexsort((merged["target"].to_numpy(), merged["tf"].to_numpy(), -merged["score"].to_numpy(np.float64)))
    merged = merged.iloc[order].reset_index(drop=True)
    return merged.head(top_k) if top_k is not None else merged


def knowledge_ranker(um) -> KnowledgeRanker | None:
    """The ranker of a model trained (or told at predict) to use knowledge; None otherwise."""
    settings = um.params.get("knowledge")
    if not settings:
        return None
    ranker = getattr(um, _CACHE_ATTRIBUTE, None)
    if ranker is None:  # a loaded model: rebuild from its priors with the stored settings (no refit)
        knowledge: Knowledge = load_knowledge(um.genes, settings["sources"], warn=False)
        scorer = KnowledgeScorer(knowledge, k=int(settings["k"]), lam=float(settings["lam"]),
                                 mu=float(settings["mu"]), real_only=bool(settings["real_only"]))
        scorer.fit(um.prior_edges[["tf", "target"]].to_numpy(np.int64))
        ranker = KnowledgeRanker(scorer, float(settings["slope"]), float(settings["intercept"]))
        setattr(um, _CACHE_ATTRIBUTE, ranker)
    return ranker
