"""docs/plugins.md is enough to go from an empty folder to a passing check_scorer: its code blocks, written
out as the files they name, are installed as a plugin and their own tests run."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from t2v_core import plugins

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def _files() -> dict[str, str]:
    """Every python code block of the guide whose first line is ``# <path>``."""
    out = {}
    for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S):
        first, _, body = block.partition("\n")
        if first.startswith("# ") and first[2:].strip().endswith(".py"):
            out[first[2:].strip()] = block
    return out


@pytest.fixture
def guide_plugin(tmp_path, monkeypatch):
    files = _files()
    assert {"src/t2v_mymodel/plugin.py", "src/t2v_mymodel/scorer.py", "tests/test_mymodel.py"} <= set(files)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "src/t2v_mymodel/__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.syspath_prepend(str(tmp_path / "tests"))
    plugins.register_plugin(importlib.import_module("t2v_mymodel.plugin"), "t2v-mymodel")
    try:
        yield importlib.import_module("test_mymodel")
    finally:
        for name in ("t2v_mymodel", "t2v_mymodel.plugin", "t2v_mymodel.scorer", "test_mymodel"):
            sys.modules.pop(name, None)


def test_the_guides_plugin_passes_its_own_tests(guide_plugin):
    tests = [getattr(guide_plugin, n) for n in dir(guide_plugin) if n.startswith("test_")]
    assert len(tests) == 2
    for t in tests:
        t()


def test_the_guides_scorer_refuses_undeclared_options(guide_plugin):
    import t2v_core

    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['chekpoint'\]; it accepts: alpha, checkpoint"):
        t2v_core.VQAScore(model="mymodel-7b", device="cpu", chekpoint="x")
