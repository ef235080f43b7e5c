"""Fixtures of the t2v-bench tests (helpers live in _bench_helpers, a name no other suite uses)."""

from __future__ import annotations

import pytest
from _bench_helpers import GENAI_PROMPTS, GENAI_SKILLS, solid, write_json


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("T2V_PROGRESS", "0")


@pytest.fixture
def genai_root(tmp_path):
    """GenAI-Image-1600/{genai_image.json, genai_skills.json} with 3 prompts and no published images."""
    d = tmp_path / "data" / "GenAI-Image-1600"
    write_json(d / "genai_image.json", {k: {"id": k, "prompt": p, "prompt in Chinese": "", "models": {}}
                                        for k, p in GENAI_PROMPTS.items()})
    write_json(d / "genai_skills.json", GENAI_SKILLS)
    return tmp_path / "data"


@pytest.fixture
def genai_outputs(tmp_path):
    """<out>/<gen_model>/<prompt id>.jpeg for two generators with different brightness per prompt."""
    out = tmp_path / "outputs"
    levels = {"gen-a": [40, 120, 200], "gen-b": [250, 10, 90]}
    for gen, vals in levels.items():
        for key, v in zip(GENAI_PROMPTS, vals):
            solid(out / gen / f"{key}.jpeg", (v, v, v))
    return out
