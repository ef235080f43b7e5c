"""The registry of scorers and benchmarks, built from the plugins' ``register_*`` hooks.

The core owns the ``register`` callbacks: a name registered by two plugins is an error naming both;
aliases resolve to their spec; each spec records the distribution that registered it.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from . import catalogue, plugins
from .errors import PluginNotInstalledError, RegistrationError, UnknownModelError
from .specs import BenchmarkSpec, CommandSpec, ScorerSpec

_cache: dict[str, Any] = {}


class _Table:
    def __init__(self, what: str) -> None:
        self.what = what
        self.specs: dict[str, Any] = {}
        self.aliases: dict[str, str] = {}

    def add(self, spec: Any, plugin_name: str) -> None:
        dist = plugins.distribution_name(plugin_name)
        spec = dataclasses.replace(spec, plugin=dist)
        for key in (spec.name, *spec.aliases):
            k = key.lower()
            owner = self.specs.get(k) or self.specs.get(self.aliases.get(k, ""))
            if owner is not None:
                raise RegistrationError(
                    f"{self.what} name {key!r} is registered by both {owner.plugin!r} and {dist!r}; "
                    f"uninstall one of them or restrict loading with T2V_PLUGINS"
                )
        self.specs[spec.name.lower()] = spec
        for alias in spec.aliases:
            self.aliases[alias.lower()] = spec.name.lower()

    def get(self, name: str) -> Any | None:
        k = name.lower()
        return self.specs.get(k) or self.specs.get(self.aliases.get(k, ""))


def _build(hook: str, cls: type, what: str) -> _Table:
    plugins.load_plugins()
    key = hook
    if key in _cache:
        return _cache[key]  # type: ignore[no-any-return]
    table = _Table(what)
    for plugin_name, plugin in plugins.pm.list_name_plugin():
        impl = getattr(plugin, hook, None)
        if impl is None:
            continue

        def register(spec: Any, _p: str = plugin_name) -> None:
            if not isinstance(spec, cls):
                raise RegistrationError(
                    f"plugin {_p!r} passed {spec!r} to register in {hook}; expected a {cls.__name__}"
                )
            table.add(spec, _p)

        impl(register=register)
    _cache[key] = table
    return table


def scorers() -> _Table:
    """The scorer table of every loaded plugin."""
    return _build("register_scorers", ScorerSpec, "model")


def benchmarks() -> _Table:
    """The benchmark table of every loaded plugin."""
    return _build("register_benchmarks", BenchmarkSpec, "benchmark")


def commands() -> _Table:
    """The ``t2v`` subcommands plugins register (``t2v bench``, ...)."""
    return _build("register_commands", CommandSpec, "command")


def list_models(kind: str | None = None) -> list[str]:
    """Names of the installed models, optionally of one kind (``vqa``, ``clip``, ``itm``)."""
    return sorted(s.name for s in scorers().specs.values() if kind is None or s.kind == kind)


def get_spec(name: str) -> ScorerSpec:
    """Resolve a model name or alias, or raise an error that says what to do."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModelError(f"model must be a non-empty string such as 'clip-flant5-xxl', got {name!r}")
    spec = scorers().get(name.strip())
    if spec is not None:
        return spec  # type: ignore[no-any-return]
    dist = catalogue.distribution_for(name.strip())
    loaded = {plugins.distribution_name(n) for n, _ in plugins.pm.list_name_plugin()}
    if dist is not None and dist not in loaded:
        raise PluginNotInstalledError(
            f"model {name!r} is provided by the {dist!r} plugin, which is not installed "
            f"(or not loaded: check T2V_PLUGINS). Install it with:\n    pip install {dist}"
        )
    known = list(scorers().specs) + list(scorers().aliases)
    close = difflib.get_close_matches(name.lower(), known, n=5, cutoff=0.6)
    hint = f" Did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownModelError(
        f"unknown model {name!r}.{hint} Run `t2v models` to list the {len(scorers().specs)} installed models."
    )


def get_benchmark(name: str) -> BenchmarkSpec:
    """Resolve a benchmark name, or raise an error listing the close matches."""
    spec = benchmarks().get(name)
    if spec is not None:
        return spec  # type: ignore[no-any-return]
    close = difflib.get_close_matches(name.lower(), list(benchmarks().specs), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownModelError(f"unknown benchmark {name!r}.{hint} Run `t2v bench list`.")
