"""Build things by name from plain config: models here, and the same mechanism for losses,
optimizers and schedules.

A registry maps a name to a factory function whose keyword arguments *are* the config keys,
so the valid keys of an entry are read off its signature and an unknown name or key fails
with the list of valid ones (timm style: a variant is data, not a subclass).
"""
from __future__ import annotations

import inspect
from typing import Callable, Iterator

import torch.nn as nn


class ConfigError(ValueError):
    """An unknown registry name or config key; the message lists the valid ones."""


class Registry:
    """Name -> factory. ``fixed`` names leading positional arguments that are not config
    (e.g. ``model`` for optimizers), so they are not offered as config keys."""

    def __init__(self, kind: str, fixed: tuple[str, ...] = ()):
        self.kind = kind
        self.fixed = fixed
        self._factories: dict[str, Callable] = {}

    def register(self, name: str) -> Callable[[Callable], Callable]:
        def decorator(factory: Callable) -> Callable:
            if name in self._factories:
                raise ConfigError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory
        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._factories)

    def __getitem__(self, name: str) -> Callable:
        self._check_name(name)
        return self._factories[name]

    def valid_keys(self, name: str) -> list[str]:
        """Config keys accepted by ``name`` (keyword parameters of its factory)."""
        params = inspect.signature(self[name]).parameters.values()
        return [p.name for p in params
                if p.name not in self.fixed
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def defaults(self, name: str) -> dict:
        """Default value of every config key of ``name`` (keys without a default are omitted)."""
        params = inspect.signature(self[name]).parameters
        return {k: params[k].default for k in self.valid_keys(name)
                if params[k].default is not inspect.Parameter.empty}

    def build(self, name: str, *fixed_args, **cfg):
        """Call the factory of ``name`` with ``fixed_args`` and the config ``cfg``."""
        self._check_name(name)
        valid = self.valid_keys(name)
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise ConfigError(f"unknown config key(s) {unknown} for {self.kind} {name!r}. "
                              f"Valid keys: {', '.join(valid)}")
        return self._factories[name](*fixed_args, **cfg)

    def _check_name(self, name: str) -> None:
        if name not in self._factories:
            raise ConfigError(f"unknown {self.kind} {name!r}. "
                              f"Valid {self.kind}s: {', '.join(self.names())}")


MODELS = Registry("model")
"""Every link-prediction model, by name. Populated on import of :mod:`grnlib.models`."""


def build_model(name: str, **cfg) -> nn.Module:
    """Build a registered model; ``build_model(**model.config)`` rebuilds an existing one.

    Raises:
        ConfigError: unknown ``name`` or unknown key in ``cfg`` (lists the valid ones).
    """
    return MODELS.build(name, **cfg)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (trainable ones only by default)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
