"""The ``knowledge`` baselines: annotation evidence (:mod:`grnlib.models.knowledge`) scored like any
baseline, on exactly a model's pairs, fitted on the training positives only.

- ``knowledge``: GO / Pfam / JASPAR transfer, TF-target GO similarity and the (real-TF) degree;
- ``knowledge_shuffled``: the same with every source's annotations permuted across genes (control);
- ``knowledge_blind``: the same with the TF's identity ignored by the transfer (control).

A gain is the ``knowledge`` score over the degree floor, net of both controls.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.data.knowledge import KNOWLEDGE_SOURCES, Knowledge, parse_sources
from grnlib.evaluation.baselines import register_baseline
from grnlib.evaluation.protocols import check_pairs
from grnlib.models.knowledge import KnowledgeScorer, knowledge_of

# Small caches: the validation and test pairs of one split share one fit; a sweep worker sees one
# dataset at a time.
_SCORERS: dict = {}
CONTROLS = {"knowledge": None, "knowledge_shuffled": "shuffled", "knowledge_blind": "blind"}


def dataset_knowledge(ds: GRNDataset, sources=KNOWLEDGE_SOURCES, root=None) -> Knowledge:
    """The :class:`Knowledge` of a dataset's genes (memoised with the models' loads)."""
    return knowledge_of(ds.genes, sources, root)


def fitted_scorer(ds: GRNDataset, train_pairs: pd.DataFrame, seed: int = 0, sources=KNOWLEDGE_SOURCES,
                  control: str | None = None, k: int = 25, root=None, shuffle=None) -> KnowledgeScorer:
    """The :class:`KnowledgeScorer` of the training positives (memoised per split and options).

    Args:
        control: None, ``"shuffled"`` (annotations permuted across genes, seeded by ``seed``) or
            ``"blind"`` (TF-identity-blind transfer).
        shuffle: with ``control="shuffled"``, the sources it permutes (default all; ``("motif",)`` is the
            shuffled-motif control of the motif study).
    """
    if control not in (None, "shuffled", "blind"):
        raise ValueError(f"unknown knowledge control {control!r}; choose 'shuffled' or 'blind'")
    check_pairs(train_pairs, ds.n_genes, "train_pairs")
    positives = train_pairs.loc[train_pairs["label"] == 1, ["tf", "target"]].to_numpy(np.int64)
    shuffle = None if shuffle is None else parse_sources(shuffle)
    key = (tuple(ds.genes), positives.tobytes(), seed, parse_sources(sources), control, k, shuffle)
    if key not in _SCORERS:
        if len(_SCORERS) >= 8:
            _SCORERS.pop(next(iter(_SCORERS)))
        knowledge = dataset_knowledge(ds, sources, root)
        if control == "shuffled":
            knowledge = knowledge.shuffled(seed, shuffle)
        _SCORERS[key] = KnowledgeScorer(knowledge, k=k, blind=control == "blind").fit(positives, seed=seed)
    return _SCORERS[key]


def _knowledge_baseline(control):
    def score(ds: GRNDataset, train_pairs: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0,
              sources=KNOWLEDGE_SOURCES, k: int = 25) -> np.ndarray:
        if train_pairs is None:
            raise ValueError("the knowledge baselines need train_pairs (the training pair table)")
        scorer = fitted_scorer(ds, train_pairs, seed=seed, sources=sources, control=control, k=k)
        return scorer.score(pairs["tf"].to_numpy(), pairs["target"].to_numpy())
    score.__doc__ = f"Knowledge evidence ({control or 'annotations as they are'}); see :mod:`{__name__}`."
    return score


for _name, _control in CONTROLS.items():
    register_baseline(_name, needs_expression=False, knowledge=True)(_knowledge_baseline(_control))
