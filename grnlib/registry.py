"""The one Registry type: every named family (models, losses, optimizers, schedules, baselines,
protocols, dataset families) is built by name from plain config.

A registry maps a name to a factory function whose keyword arguments *are* the config keys,
so the valid keys of an entry are read off its signature and an unknown name or key fails
with the list of valid ones (timm style: a variant is data, not a subclass). What a registry
says about each entry (a protocol hides TFs, a baseline needs expression) is a typed record: the
registry names its frozen dataclass (``Registry("protocol", info=ProtocolInfo)``) and every entry
registers its fields, checked when registered.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterator


class ConfigError(ValueError):
    """An unknown registry name or config key; the message lists the valid ones."""


class Registry:
    """Name -> factory. ``fixed`` names leading positional arguments that are not config
    (e.g. ``model`` for optimizers), so they are not offered as config keys. ``info`` is the frozen
    dataclass of what each entry declares (its fields are the keywords of :meth:`register`)."""

    def __init__(self, kind: str, fixed: tuple[str, ...] = (), info: type | None = None):
        if info is not None and not dataclasses.is_dataclass(info):
            raise TypeError(f"the info of a {kind} registry must be a dataclass, got {info!r}")
        self.kind = kind
        self.fixed = fixed
        self.info_type = info
        self._factories: dict[str, Callable] = {}
        self._info: dict[str, Any] = {}

    def register(self, name: str, **info) -> Callable[[Callable], Callable]:
        """Decorator registering ``factory`` under ``name`` with ``info``, the fields of the registry's
        info record (e.g. a protocol's ``hides_tfs``), read back with :meth:`info`."""
        record = self._record(name, info)

        def decorator(factory: Callable) -> Callable:
            if name in self._factories:
                raise ConfigError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            self._info[name] = record
            return factory
        return decorator

    def _record(self, name: str, info: dict):
        if self.info_type is None:  # a registry without a declared record: plain data (none, usually)
            return dict(info)
        fields = [f.name for f in dataclasses.fields(self.info_type)]
        unknown = sorted(set(info) - set(fields))
        if unknown:
            raise ConfigError(f"unknown info key(s) {unknown} for {self.kind} {name!r}. Valid keys: {', '.join(fields)}")
        try:
            return self.info_type(**info)
        except TypeError as exc:  # a field without a default was not given
            raise ConfigError(f"{self.kind} {name!r}: {exc}") from None

    def info(self, name: str):
        """The record registered with ``name`` (an instance of the registry's info dataclass; a dict
        for a registry that declares none)."""
        self._check_name(name)
        record = self._info[name]
        return dict(record) if isinstance(record, dict) else record

    def where(self, **info) -> list[str]:
        """Names whose registered record has every ``field=value`` given (sorted)."""
        def value(name, key):
            record = self._info[name]
            return record.get(key) if isinstance(record, dict) else getattr(record, key)
        return [n for n in self.names() if all(value(n, k) == v for k, v in info.items())]

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
