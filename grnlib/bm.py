"""Benchmarks, the research side (``grnlib.bm``): the committed sweep summaries and what the chapters
compute from them (against both floors, verdicts, the robust and knowledge studies, the performance
runs). A sweep itself runs from the command line (``python -m grnlib.benchmark.sweep``); the committed
summaries lie under :func:`project_root` (``results/benchmark`` ...).

>>> from grnlib import bm
>>> summary = bm.load_summaries("results/benchmark", ["reduced"])
>>> bm.against_floors(summary, ["phase1", "stack"])      # each preset beside the degree and edge-prior floors
>>> bm.verdicts(summary, metrics=["pooled AUROC"])       # above / tie / below per protocol and network
"""
from grnlib.benchmark.beyond_floor import CONTROL_MODELS, robust_report, run_setting
from grnlib.benchmark.headline import alias_models, verdicts
from grnlib.benchmark.knowledge import findings as knowledge_findings
from grnlib.benchmark.knowledge import gains_panel as knowledge_gains_panel
from grnlib.benchmark.knowledge import load_motif_study, motif_findings
from grnlib.benchmark.knowledge import load_studies as load_knowledge_studies
from grnlib.benchmark.knowledge import model_methods as knowledge_model_methods
from grnlib.benchmark.knowledge import per_setting, run_study, setting_margins
from grnlib.benchmark.summary import aggregate, against_floors, floor_table, load_summaries, load_summary
from grnlib.features_ooc import agreement as out_of_core_agreement
from grnlib.paths import project_root
from grnlib.report import live_scoring, read_bench

__all__ = ["CONTROL_MODELS", "against_floors", "aggregate", "alias_models", "floor_table", "live_scoring", "load_summaries",
           "load_summary", "knowledge_findings", "knowledge_gains_panel", "knowledge_model_methods",
           "load_knowledge_studies", "load_motif_study", "motif_findings", "out_of_core_agreement",
           "per_setting", "project_root", "read_bench", "robust_report", "run_setting", "run_study",
           "setting_margins", "verdicts"]
