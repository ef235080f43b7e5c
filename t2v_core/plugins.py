"""Plugin discovery: entry points of the group ``t2v`` registered with a pluggy PluginManager.

``T2V_PLUGINS`` restricts which plugins load: unset loads all; a comma-separated list of distribution or
entry-point names loads only those; an empty value loads none.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import pluggy

from . import hookspecs

ENV_VAR = "T2V_PLUGINS"
ENTRY_POINT_GROUP = "t2v"

pm = pluggy.PluginManager(hookspecs.PROJECT)
pm.add_hookspecs(hookspecs)

_loaded = False
_plugin_dists: dict[str, Any] = {}  # registered plugin name -> distribution metadata (or None)
_unmatched: list[str] = []  # T2V_PLUGINS entries that named no installed plugin


def _allowed() -> set[str] | None:
    value = os.environ.get(ENV_VAR)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


def load_plugins() -> None:
    """Discover and register installed plugins once; later calls do nothing."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    allowed = _allowed()
    matched: set[str] = set()
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            dist_name = dist.metadata["Name"]
            if allowed is not None and ep.name not in allowed and dist_name not in allowed:
                continue
            matched.update({ep.name, dist_name})
            if pm.has_plugin(ep.name) or pm.get_plugin(ep.name) is not None:
                continue
            module = ep.load()
            pm.register(module, name=ep.name)
            _plugin_dists[ep.name] = dist
    _unmatched[:] = sorted(allowed - matched) if allowed else []
    _invalidate()


def unmatched_filter() -> list[str]:
    """The ``T2V_PLUGINS`` entries that matched no installed plugin (typos, uninstalled distributions)."""
    load_plugins()
    return list(_unmatched)


def register_plugin(module: Any, name: str) -> None:
    """Register an in-process plugin (tests, notebooks) as if it came from an entry point."""
    load_plugins()
    pm.register(module, name=name)
    _plugin_dists[name] = None
    _invalidate()


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin` (or discovered)."""
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin, name=name)
    _plugin_dists.pop(name, None)
    _invalidate()


def reset() -> None:
    """Forget every plugin and allow :func:`load_plugins` to run again (tests)."""
    global _loaded
    for name, plugin in list(pm.list_name_plugin()):
        pm.unregister(plugin, name=name)
    _plugin_dists.clear()
    _unmatched.clear()
    _loaded = False
    _invalidate()


def distribution_name(plugin_name: str) -> str:
    """The distribution that provided a registered plugin (its own name for in-process plugins)."""
    dist = _plugin_dists.get(plugin_name)
    return dist.metadata["Name"] if dist is not None else plugin_name


def plugins_info() -> list[dict[str, Any]]:
    """Installed plugins: name, distribution, version and the hooks each implements."""
    load_plugins()
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda np: str(np[0])):
        dist = _plugin_dists.get(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        out.append(
            {
                "name": name,
                "distribution": dist.metadata["Name"] if dist is not None else None,
                "version": dist.version if dist is not None else None,
                "hooks": hooks,
            }
        )
    return out


def _invalidate() -> None:
    from . import registry

    registry._cache.clear()
