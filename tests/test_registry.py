"""The plugin contract: discovery, registration, clashes, aliases, errors that say what to do."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import types

import pytest

import t2v_core
from t2v_core import ScorerSpec, catalogue, hookimpl, plugins, registry
from t2v_core.errors import PluginNotInstalledError, RegistrationError, UnknownModelError


def _plugin(name, *specs):
    mod = types.ModuleType(name)

    @hookimpl
    def register_scorers(register):
        for s in specs:
            register(s)

    mod.register_scorers = register_scorers
    return mod


def spec(name, **kw):
    return ScorerSpec(name=name, kind=kw.pop("kind", "vqa"), scorer="t2v_example.scorer:BrightnessScorer", **kw)


def test_example_plugin_is_discovered_through_its_entry_point():
    assert t2v_core.list_all_models() == ["example-brightness", "example-clip"]
    assert t2v_core.list_all_vqascore_models() == ["example-brightness"]
    assert t2v_core.list_all_clipscore_models() == ["example-clip"]
    assert t2v_core.list_all_itmscore_models() == []
    s = registry.get_spec("example")  # alias
    assert s.name == "example-brightness" and s.plugin == "t2v-example"
    info = plugins.plugins_info()
    assert [(i["name"], i["distribution"], i["hooks"]) for i in info] == [("example", "t2v-example", ["register_scorers"])]


def test_load_plugins_is_idempotent():
    plugins.load_plugins()
    before = len(plugins.pm.get_plugins())
    plugins.load_plugins()
    assert len(plugins.pm.get_plugins()) == before == 1


def test_env_var_empty_loads_no_plugin(monkeypatch):
    monkeypatch.setenv("T2V_PLUGINS", "")
    plugins.reset()
    assert t2v_core.list_all_models() == []


def test_in_process_plugin_and_clash_names_both(monkeypatch):
    plugins.register_plugin(_plugin("a", spec("m1", aliases=("mm",))), name="plug-a")
    assert registry.get_spec("MM").name == "m1"
    plugins.register_plugin(_plugin("b", spec("m1")), name="plug-b")
    with pytest.raises(RegistrationError) as e:
        registry.scorers()
    assert "'plug-a'" in str(e.value) and "'plug-b'" in str(e.value) and "'m1'" in str(e.value)
    plugins.unregister_plugin("plug-b")
    assert registry.get_spec("m1").plugin == "plug-a"


def test_alias_clashing_with_a_name_is_an_error():
    plugins.register_plugin(_plugin("a", spec("m1"), spec("m2", aliases=("m1",))), name="plug-a")
    with pytest.raises(RegistrationError, match="'m1'"):
        registry.scorers()


def test_register_rejects_non_specs():
    mod = types.ModuleType("bad")

    @hookimpl
    def register_scorers(register):
        register({"name": "x"})

    mod.register_scorers = register_scorers
    plugins.register_plugin(mod, name="bad")
    with pytest.raises(RegistrationError, match="expected a ScorerSpec"):
        registry.scorers()


def test_unknown_model_suggests_close_matches():
    with pytest.raises(UnknownModelError) as e:
        t2v_core.VQAScore(model="example-brightnes")
    assert "'example-brightness'" in str(e.value)


def test_known_first_party_model_without_plugin_gives_pip_line():
    with pytest.raises(PluginNotInstalledError) as e:
        t2v_core.VQAScore(model="qwen2.5-vl-7b")
    assert "pip install t2v-qwen" in str(e.value)
    with pytest.raises(PluginNotInstalledError, match="pip install t2v-openclip"):
        t2v_core.CLIPScore(model="laion2b_s32b_b82k:ViT-L-14")
    with pytest.raises(PluginNotInstalledError, match="pip install t2v-api"):
        t2v_core.VQAScore(model="gpt-4o")
    assert catalogue.distribution_for("not-a-model") is None


def test_wrong_kind_names_the_right_class():
    with pytest.raises(ValueError, match="CLIPScore"):
        t2v_core.VQAScore(model="example-clip")


def test_spec_validation_names_the_field():
    with pytest.raises(ValueError, match="kind"):
        ScorerSpec(name="x", kind="vqascore", scorer="a:B")
    with pytest.raises(ValueError, match="media"):
        ScorerSpec(name="x", kind="vqa", scorer="a:B", media=("audio",))
    with pytest.raises(ValueError, match="module:Class"):
        ScorerSpec(name="x", kind="vqa", scorer="a.B")


class _FakeDist:
    def __init__(self, name, ep_name, module):
        self.metadata = {"Name": name}
        self.version = "9.9"
        self.entry_points = [importlib.metadata.EntryPoint(name=ep_name, value=module, group="t2v")]


def test_discovery_with_fake_distributions(monkeypatch):
    sys.modules["t2v_fakeplug_mod"] = _plugin("fakeplug", spec("fake-model"))
    sys.modules["t2v_fakeplug_other"] = _plugin("otherplug", spec("other-model"))
    try:
        monkeypatch.setattr(importlib.metadata, "distributions",
                            lambda: [_FakeDist("t2v-fake", "fake", "t2v_fakeplug_mod"),
                                     _FakeDist("t2v-other", "other", "t2v_fakeplug_other")])
        monkeypatch.setenv("T2V_PLUGINS", "t2v-fake")  # by distribution name
        plugins.reset()
        plugins.load_plugins()
        assert len(plugins.pm.get_plugins()) == 1
        plugins.load_plugins()
        assert len(plugins.pm.get_plugins()) == 1
        assert registry.get_spec("fake-model").plugin == "t2v-fake"
        assert plugins.plugins_info()[0]["version"] == "9.9"
        monkeypatch.delenv("T2V_PLUGINS")
        plugins.reset()
        plugins.load_plugins()  # unrestricted: both load
        assert sorted(n for n, _ in plugins.pm.list_name_plugin()) == ["fake", "other"]
        assert t2v_core.list_all_models() == ["fake-model", "other-model"]
    finally:
        del sys.modules["t2v_fakeplug_mod"], sys.modules["t2v_fakeplug_other"]


def test_listing_models_and_plugins_imports_nothing_heavy():
    code = (
        "import sys, json, t2v_core\n"
        "from t2v_core import cli\n"
        "names = t2v_core.list_all_models()\n"
        "cli.main(['models', '--json']); cli.main(['plugins'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'open_clip', 'openai', 't2v_example.scorer', 'numpy.linalg.x')"
        " if m in sys.modules]\n"
        "print('RESULT', json.dumps({'names': names, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "T2V_PLUGINS": "example"})
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    assert result["names"] == ["example-brightness", "example-clip"]
    assert result["heavy"] == []


def test_misspelt_name_of_a_loaded_family_is_unknown_not_missing():
    # 'example-brightnes' matches no first-party pattern; a loaded first-party dist must not give a pip hint
    mod = _plugin("fakeapi", spec("gpt-4o"))
    plugins.register_plugin(mod, name="t2v-api")  # in-process plugins are named after themselves
    with pytest.raises(UnknownModelError, match="Did you mean: 'gpt-4o'"):
        t2v_core.VQAScore(model="gpt-4oo")
