"""The model registry: every link-prediction model, built by name from its config."""
from __future__ import annotations

import torch.nn as nn

from grnlib.registry import ConfigError, Registry  # noqa: F401  (ConfigError re-exported for models)

MODELS = Registry("model")
"""Every link-prediction model, by name (a :class:`grnlib.models.interface.LinkModel`, registered with whether
it ``reads_expression``). Populated on import of :mod:`grnlib.models`."""
COMPOSED = Registry("composed model")
"""Models assembled from fitted parts rather than trained by gradient (the stack of
:mod:`grnlib.models.stacked`): built and saved like any model, but not a family :func:`fit` trains."""


def _registry_of(name: str) -> Registry:
    """The registry that builds ``name``: a composed model's only where no plain model has the name."""
    return COMPOSED if name in COMPOSED and name not in MODELS else MODELS


def build_model(name: str, **cfg) -> nn.Module:
    """Build a registered model; ``build_model(**model.config)`` rebuilds an existing one.

    Raises:
        ConfigError: unknown ``name`` or unknown key in ``cfg`` (lists the valid ones).
    """
    return _registry_of(name).build(name, **cfg)


def reads_expression(name: str, model_cfg: dict | None = None) -> bool:
    """Whether model ``name`` with ``model_cfg`` (over its defaults) reads the expression features, as its
    family declared it (``MODELS.register(name, reads_expression=...)``, :mod:`grnlib.models.interface`);
    known before the model is built."""
    registry = _registry_of(name)
    declared = registry.info(name).get("reads_expression", False)
    if callable(declared):
        return bool(declared({**registry.defaults(name), **(model_cfg or {})}))
    return bool(declared)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (trainable ones only by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
