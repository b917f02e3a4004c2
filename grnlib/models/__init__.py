"""Link-prediction models, built by name: ``build_model("two_tower", in_features=425)``.

Every model is a :class:`~grnlib.models.interface.LinkModel`: it maps ``(tf_idx [B], gene_idx [B],
features [n_genes, d] | None)`` to logits ``[B]``, declares ``uses_features`` and ``is_two_tower``, has a
``prepare(ds, train_pairs)`` hook and carries ``.config`` (plain data incl. ``"name"``) so
``build_model(**model.config)`` rebuilds it. Importing this package registers every family in :data:`MODELS`.
"""
from grnlib.models import cross_encoder, graph, pair_evidence, residual, stacked, target_only, two_tower  # noqa: F401  (registers the models)
from grnlib.models.cross_encoder import CrossEncoder
from grnlib.models.graph import GraphSAGEModel
from grnlib.models.interface import LinkModel
from grnlib.models.pair_evidence import PairEvidenceModel
from grnlib.models.registry import MODELS, ConfigError, Registry, build_model, count_parameters, reads_expression
from grnlib.models.residual import ResidualModel
from grnlib.models.target_only import TargetOnlyModel
from grnlib.models.two_tower import TwoTower

__all__ = ["MODELS", "ConfigError", "LinkModel", "Registry", "build_model", "count_parameters", "reads_expression",
           "TwoTower", "CrossEncoder", "PairEvidenceModel", "GraphSAGEModel", "ResidualModel",
           "TargetOnlyModel"]
