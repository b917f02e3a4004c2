"""Evaluation, the research side (``grnlib.ev``): splits under each protocol, THE run pipeline (every
run beside the degree floor on the same test pairs), metrics with intervals, and the published numbers
to compare with.

>>> from grnlib import data, ev, tl
>>> ds = data.load_dataset("beeline/Specific/hHEP/500")
>>> split = ev.make_split(ds, "heldout-tf", seed=0)
>>> evaluation = ev.evaluate_split(ds, split, [tl.preset("phase1")], baselines=("degree",), seed=0)
>>> ev.summary_table(evaluation.metrics)           # mean ± std over seeds, one row per scorer
"""
from grnlib.evaluation.experiment import Evaluation, evaluate_split
from grnlib.evaluation.metrics import (auprc, auroc, bootstrap_ci, cluster_bootstrap, evaluate_scores, paired_bootstrap,
                                       paired_bootstraps, per_tf_metrics)
from grnlib.evaluation.protocols import PROTOCOLS, make_split
from grnlib.reference import PUBLISHED_RELEASED, historical_context
from grnlib.tables import summary_table

__all__ = ["Evaluation", "PROTOCOLS", "PUBLISHED_RELEASED", "auprc", "auroc", "bootstrap_ci", "cluster_bootstrap",
           "evaluate_scores", "evaluate_split", "historical_context", "make_split", "paired_bootstrap",
           "paired_bootstraps", "per_tf_metrics", "summary_table"]
