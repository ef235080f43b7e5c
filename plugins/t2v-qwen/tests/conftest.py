"""Fixtures: the reference golden checkpoint (Qwen2.5-VL, tiny, under its real repo id) and tiny Qwen2-VL /
Qwen3-VL checkpoints built offline, each in a fake Hugging Face cache, loaded by model name with the hub offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
GOLDEN_HUB = FIXTURES / "hub"


def transformers_version() -> tuple[int, ...]:
    from t2v_hf.loading import transformers_version as v

    return v()


def offline(monkeypatch, hub) -> None:
    """Point the Hugging Face cache at ``hub`` and switch the hub off (read at load time by t2v-hf)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def golden():
    data = json.loads((GOLDEN / "golden.json").read_text())
    data["image_paths"] = [str(GOLDEN / "images" / p) for p in data["images"]]
    data["video_paths"] = [str(GOLDEN / "videos" / p) for p in data["videos"]]
    return data


@pytest.fixture
def golden_hub(monkeypatch):
    offline(monkeypatch, GOLDEN_HUB)
    return GOLDEN_HUB


needs_tiny_builder = pytest.mark.skipif(
    transformers_version() < (4, 57),
    reason="tiny Qwen2-VL / Qwen3-VL checkpoints are built with transformers >= 4.57 classes (video processors, Qwen3-VL)")


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    """Fake cache with tiny Qwen2-VL (as Qwen/Qwen2-VL-2B-Instruct) and Qwen3-VL (as Qwen/Qwen3-VL-2B-Instruct)."""
    from t2v_core.testing import make_fake_hf_cache
    from t2v_hf.testing import build_tiny_qwen_vl

    root = tmp_path_factory.mktemp("tiny")
    hub = root / "hub"
    folders = {}
    for family, repo, seed in [("qwen2_vl", "Qwen/Qwen2-VL-2B-Instruct", 3), ("qwen3_vl", "Qwen/Qwen3-VL-2B-Instruct", 4)]:
        folders[family] = build_tiny_qwen_vl(root / family, family=family, seed=seed)
        make_fake_hf_cache(hub, repo, folders[family])
    return hub, folders
