"""Link-prediction models, built by name: ``build_model("two_tower", in_features=425)``.

Every model maps ``(tf_idx [B], gene_idx [B], features [n_genes, d] | None)`` to logits ``[B]``
and carries ``.config`` (plain data incl. ``"name"``) so ``build_model(**model.config)``
rebuilds it. Importing this package registers every family in :data:`MODELS`.
"""
from . import cross_encoder, graph, pair_evidence, two_tower  # noqa: F401  (registers the models)
from .cross_encoder import CrossEncoder
from .graph import GraphSAGEModel
from .pair_evidence import PairEvidenceModel
from .registry import MODELS, ConfigError, Registry, build_model, count_parameters
from .two_tower import TwoTower

__all__ = ["MODELS", "ConfigError", "Registry", "build_model", "count_parameters",
           "TwoTower", "CrossEncoder", "PairEvidenceModel", "GraphSAGEModel"]
