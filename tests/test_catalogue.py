"""The core's static catalogue of first-party names (used for `pip install` hints) agrees with the plugins.

Runs in every plugin's nox session; a plugin that is not installed in this environment is skipped.
"""

from __future__ import annotations

import importlib.util

import pytest

from t2v_core import catalogue, plugins, registry


@pytest.mark.parametrize("dist", sorted(catalogue.FIRST_PARTY))
def test_catalogue_names_are_registered_by_their_plugin(dist, monkeypatch):
    module = dist.replace("-", "_")
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{dist} is not installed in this environment")
    monkeypatch.setenv("T2V_PLUGINS", dist)
    plugins.reset()
    names = {s.name for s in registry.scorers().specs.values()}
    missing = [n for n in catalogue.FIRST_PARTY[dist] if n not in names]
    assert not missing, f"catalogue lists {missing} for {dist}, but the plugin does not register them"
    unknown = [n for n in names if catalogue.distribution_for(n) != dist]
    assert not unknown, f"{dist} registers {unknown[:10]}, which the catalogue would not send to {dist}"
    assert {s.plugin for s in registry.scorers().specs.values()} == {dist}
