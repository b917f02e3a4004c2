"""Named run configurations: each phase's recipe as plain data, selectable by name from params,
the CLI and the sweep (``grnlib evaluate --models baseline,phase4,degree``).

A preset is a partial run spec, plain data: :func:`grnlib.evaluation.spec.preset` resolves one into a
:class:`~grnlib.evaluation.spec.RunSpec`; or a stacked ensemble (a ``stack`` list of member names,
:mod:`grnlib.evaluation.stacking`). This module imports nothing of the resolver. Baseline scorers
(``degree``, ``correlation``, ...) are not presets; they are looked up in :mod:`grnlib.evaluation.baselines`.
"""
from __future__ import annotations

import copy

from grnlib.features import DEFAULT_FEATURES

_PHASE3_TRAIN = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4,
                 "scheduler": "warmup_cosine", "warmup_epochs": 10, "clip_norm": 1.0, "early_stopping_patience": 15,
                 "epochs": 80, "batch_size": 256, "loss": "bce"}

FAST_TRAIN = {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "scheduler": "constant",
               "early_stopping_patience": 4, "epochs": 12, "batch_size": 512, "loss": "bce"}

PRESETS: dict[str, dict] = {
    # The earlier code's baseline: learnable embeddings, plain SGD, BCE.
    "baseline": {"model": "embedding_two_tower",
                 "train": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.0, "weight_decay": 0.0,
                           "scheduler": "constant", "clip_norm": None, "early_stopping_patience": None,
                           "epochs": 60, "batch_size": 256, "loss": "bce"}},
    # Phase 1: towers over PCA-reduced expression profiles.
    "phase1": {"model": "expression_two_tower", "features": dict(DEFAULT_FEATURES),
               "train": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "constant",
                         "early_stopping_patience": None, "epochs": 40, "batch_size": 256, "loss": "bce"}},
    "hybrid": {"model": "hybrid_two_tower", "features": dict(DEFAULT_FEATURES),
               "train": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "constant",
                         "early_stopping_patience": None, "epochs": 40, "batch_size": 256, "loss": "bce"}},
    # Phase 2: deep towers, Xavier init, trained like phase 1.
    "phase2": {"model": "deep_two_tower",
               "train": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "constant",
                         "early_stopping_patience": None, "epochs": 40, "batch_size": 256, "loss": "bce"}},
    # Phase 3: phase 2 plus momentum, weight decay, warm-up + cosine, clipping, early stopping.
    "phase3": {"model": "deep_two_tower", "train": dict(_PHASE3_TRAIN)},
    # Phase 4: phase 3 with focal loss, in batches of 4096 pairs with the learning rate scaled up
    # (0.01 at batch 256 -> 0.32; the linear rule's 0.16 was still improving at the 80-epoch cap).
    # Each step encodes every distinct gene of its batch once, so 16x larger batches cost ~4x less
    # per epoch. Same validation/test AUROC as batch 256 (paired over released samples 1-5 of
    # hHEP/500, benchmarks/phase4_speed.py), ~5x faster to converge.
    "phase4": {"model": "deep_two_tower",
               "train": {**_PHASE3_TRAIN, "batch_size": 4096, "lr": 0.32,
                         "loss": "focal", "loss_kwargs": {"alpha": 0.25, "gamma": 2.0}}},
    # The old code's cross-encoder MLP baseline.
    "cross_encoder": {"model": "cross_encoder",
                      "train": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "scheduler": "constant",
                                "early_stopping_patience": None, "epochs": 40, "batch_size": 256, "loss": "bce"}},
    # Beyond the degree floor (notebook 09, grnlib.benchmark.beyond_floor, results/beyond_floor/summary.csv):
    # models that read the training graph through prepare(ds, train_pairs). "_heldout" variants
    # hide a pair's whole TF in training (hide="tf"), which is what a held-out TF looks like at
    # test time: use them with the heldout-tf and degree-matched protocols.
    "pair_evidence": {"model": "pair_evidence", "model_cfg": {"inputs": "none"},
                      "features": dict(DEFAULT_FEATURES), "train": dict(FAST_TRAIN)},
    "pair_evidence_heldout": {"model": "pair_evidence", "model_cfg": {"inputs": "none", "hide": "tf"},
                              "features": dict(DEFAULT_FEATURES), "train": dict(FAST_TRAIN)},
    "graph_sage": {"model": "graph_sage", "features": dict(DEFAULT_FEATURES),
                   "train": dict(FAST_TRAIN)},
}

# Issue 11 (above the floor on every protocol; grnlib.benchmark.beyond_floor). Every model preset
# is scored with the per-TF prior correction where its training table is sampled per TF
# (grnlib.evaluation.correction, spec key prior_correction, default "auto").
GRAPH_EVIDENCE = ["degree", "expression", "transfer", "topology"]
EXPRESSION_EVIDENCE = ["trees", "partial_correlation", "mutual_information"]  # grnlib.models.evidence


def _pair_evidence(evidence, **cfg) -> dict:
    return {"model": "pair_evidence", "model_cfg": {"inputs": "none", "evidence": list(evidence), **cfg},
            "features": dict(DEFAULT_FEATURES), "train": dict(FAST_TRAIN)}


for _suffix, _hide in (("", "edge"), ("_heldout", "tf")):
    PRESETS.update({
        # + label-free expression evidence: tree importances, partial correlation, mutual information
        f"pair_evidence_expr{_suffix}": _pair_evidence(GRAPH_EVIDENCE + EXPRESSION_EVIDENCE, hide=_hide),
        # residual over a floor: the floor's logit (fitted on the training table) is a fixed offset
        f"pair_evidence_residual{_suffix}": _pair_evidence(GRAPH_EVIDENCE, hide=_hide, residual_floor="degree"),
        f"pair_evidence_residual_ep{_suffix}": _pair_evidence(GRAPH_EVIDENCE, hide=_hide,
                                                              residual_floor="edge_prior"),
        f"pair_evidence_expr_residual{_suffix}": _pair_evidence(GRAPH_EVIDENCE + EXPRESSION_EVIDENCE, hide=_hide,
                                                                residual_floor="degree"),
        # phase 1's expression two-tower as a residual over the degree floor (grnlib.models.residual)
        f"phase1_residual{_suffix}": {"model": "residual", "features": dict(DEFAULT_FEATURES),
                                      "model_cfg": {"base": "expression_two_tower", "floor": "degree", "hide": _hide},
                                      "train": copy.deepcopy(PRESETS["phase1"]["train"])},
        # a stacked ensemble across families, weights fitted on validation pairs (grnlib.evaluation.stacking);
        # pair_evidence without the expression evidence: that evidence changed no metric on the issue-11
        # grid and its tree importances cost minutes per new setting
        f"stack{_suffix}": {"stack": ["degree", "edge_prior", f"pair_evidence{_suffix}", "phase1"]},
    })

# The `best` aliases are chosen on VALIDATION AUROC only (never test): the candidate with the highest
# mean validation AUROC over every setting of the committed sweeps (results/benchmark/*_summary.csv,
# grnlib.benchmark.sweep.select_by_validation); `best` on the released splits, `best_heldout` under the two TF
# protocols. tests/test_presets_selection.py re-derives the choice from the committed summaries.
# An alias is one model that `grnlib train` saves and `grnlib predict` ranks with; since issue 18 a stack of the
# floors and trained models is one (grnlib.models.stacked), so BLEND_CANDIDATES (below) may be chosen too.
BEST_CANDIDATES = {
    "best": ("baseline", "phase1", "pair_evidence", "pair_evidence_residual", "phase1_residual"),
    "best_heldout": ("baseline", "phase1", "pair_evidence_heldout", "pair_evidence_residual_heldout",
                     "phase1_residual_heldout")}
STACK_CANDIDATES = {"best": ("stack",), "best_heldout": ("stack_heldout",)}
BEST_PROTOCOLS = {"best": ("released",), "best_heldout": ("heldout-tf", "degree-matched")}
# Issues 18/19: chosen for the worst case on nested validation among the single models, the stacks and the blends,
# with and without annotation knowledge (a stack is a model that `grnlib train` saves): `best` is the stack of the
# floors, pair evidence with knowledge and phase1; `best_heldout` the blend of the floors and pair evidence with
# knowledge (tests/test_presets_selection.py re-derives both from the committed choice sweep).
BEST_SELECTED = {"best": "stack_knowledge", "best_heldout": "pair_evidence_knowledge_heldout_blend"}
# Issue 18: each alias candidate calibrated against the floors: "<candidate>_blend" stacks degree, the edge prior
# and the candidate with non-negative weights fitted on validation drawn like test (grnlib.evaluation.stacking),
# so the floor itself (weight 0 on the candidate) is reachable. A stack is a model: `grnlib train` saves its
# members in one model folder. BLEND_CANDIDATES are the alias candidates as blends, for the worst-case choice.
BLEND_SUFFIX = "_blend"
for _candidates in BEST_CANDIDATES.values():
    for _member in _candidates:
        PRESETS[_member + BLEND_SUFFIX] = {"stack": ["degree", "edge_prior", _member]}
BLEND_CANDIDATES = {alias: tuple(m + BLEND_SUFFIX for m in candidates) for alias, candidates in BEST_CANDIDATES.items()}
# Issue 19: annotation knowledge (the `knowledge` baseline, grnlib.evaluation.knowledge) as a stack member beside the
# floors, alone and with phase1. Evaluation only: a model folder cannot hold the knowledge member (train --knowledge).
PRESETS["knowledge_blend"] = {"stack": ["degree", "edge_prior", "knowledge"]}
PRESETS["phase1_knowledge_blend"] = {"stack": ["degree", "edge_prior", "knowledge", "phase1"]}
# Issue 19: the knowledge evidence (grnlib.models.knowledge.KnowledgeEvidence) as features of the pair-evidence model
# each alias chose (best: the degree residual; best_heldout: hide="tf"), with its two controls as variants:
# annotations shuffled across genes, and a TF-identity-blind transfer.
KNOWLEDGE_CONTROL_SUFFIXES = {"": None, "_shuffled": "shuffled", "_blind": "blind"}
for _control_suffix, _control in KNOWLEDGE_CONTROL_SUFFIXES.items():
    PRESETS[f"pair_evidence_knowledge{_control_suffix}"] = _pair_evidence(
        GRAPH_EVIDENCE + ["knowledge"], hide="edge", residual_floor="degree", knowledge_control=_control)
    PRESETS[f"pair_evidence_knowledge{_control_suffix}_heldout"] = _pair_evidence(
        GRAPH_EVIDENCE + ["knowledge"], hide="tf", knowledge_control=_control)
# Issue 19: the knowledge models compete for the aliases like any model: alone, as blends with the floors, and in a
# stack with the floors and phase1 (each saved in one model folder by `grnlib train`).
for _alias, _suffix in (("best", ""), ("best_heldout", "_heldout")):
    _knowledge = f"pair_evidence_knowledge{_suffix}"
    BEST_CANDIDATES[_alias] += (_knowledge,)
    PRESETS[_knowledge + BLEND_SUFFIX] = {"stack": ["degree", "edge_prior", _knowledge]}
    BLEND_CANDIDATES[_alias] += (_knowledge + BLEND_SUFFIX,)
    PRESETS[f"stack_knowledge{_suffix}"] = {"stack": ["degree", "edge_prior", _knowledge, "phase1"]}
    STACK_CANDIDATES[_alias] += (f"stack_knowledge{_suffix}",)
# Issue 18: aliases are judged by their worst settings, not the mean: the WORST_QUANTILE over settings of the
# validation gap to the higher floor (grnlib.benchmark.beyond_floor.worst_case_choice), measured by nested validation
# (CHOICE_METRIC: every choice a candidate makes, its best epoch or its stack weights, made on one half of the
# validation TFs and scored on the other; grnlib.evaluation.nested) in the CHOICE_SWEEP, so single models (optimistic
# on plain validation: their epoch was chosen there) and stacks (pessimistic: cross-fitted) compete on one footing.
# The aliases' goals are judged on the CHOICE_SWEEP's test pairs (every candidate ran there); the ROBUST_SWEEPS add
# the controls (tf_shuffled, expression_permuted) and three TF folds per seed.
WORST_QUANTILE = 0.1
CHOICE_SWEEP, CHOICE_METRIC = "choice", "val_nested_auroc"
ROBUST_SWEEPS = ("robust_tf", "robust_released", "robust_seed")
for _alias, _chosen in BEST_SELECTED.items():
    PRESETS[_alias] = copy.deepcopy(PRESETS[_chosen])

