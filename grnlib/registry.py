"""The one Registry type: every named family (models, losses, optimizers, schedules, baselines,
protocols, dataset families) is built by name from plain config.

A registry maps a name to a factory function whose keyword arguments *are* the config keys,
so the valid keys of an entry are read off its signature and an unknown name or key fails
with the list of valid ones (timm style: a variant is data, not a subclass).
"""
from __future__ import annotations

import inspect
from typing import Callable, Iterator


class ConfigError(ValueError):
    """An unknown registry name or config key; the message lists the valid ones."""


class Registry:
    """Name -> factory. ``fixed`` names leading positional arguments that are not config
    (e.g. ``model`` for optimizers), so they are not offered as config keys."""

    def __init__(self, kind: str, fixed: tuple[str, ...] = ()):
        self.kind = kind
        self.fixed = fixed
        self._factories: dict[str, Callable] = {}
        self._info: dict[str, dict] = {}

    def register(self, name: str, **info) -> Callable[[Callable], Callable]:
        """Decorator registering ``factory`` under ``name``; ``info`` is data about the entry
        (e.g. a protocol's ``needs_expression``), read back with :meth:`info`."""
        def decorator(factory: Callable) -> Callable:
            if name in self._factories:
                raise ConfigError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            self._info[name] = dict(info)
            return factory
        return decorator

    def info(self, name: str) -> dict:
        """The data registered with ``name`` (empty when none was given)."""
        self._check_name(name)
        return dict(self._info[name])

    def where(self, **info) -> list[str]:
        """Names whose registered data has every ``key=value`` given (sorted)."""
        return [n for n in self.names() if all(self._info[n].get(k) == v for k, v in info.items())]

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
