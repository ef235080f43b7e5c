"""Fixtures: the reference golden checkpoint (Qwen2.5-VL, tiny, under its real repo id) and tiny Qwen2-VL /
Qwen3-VL checkpoints built offline, each in a fake Hugging Face cache, loaded by model name with the hub offline."""

from __future__ import annotations

import json

import pytest
from qwen_published import PUBLISHED_GENERATION
from qwen_testutils import GOLDEN, GOLDEN_HUB, offline
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)


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


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    """Fake cache with tiny Qwen2-VL (as Qwen/Qwen2-VL-2B-Instruct, with its published generation config) and
    Qwen3-VL (as Qwen/Qwen3-VL-2B-Instruct)."""
    from t2v_hf.testing import build_tiny_qwen_vl

    from t2v_core.testing import make_fake_hf_cache

    root = tmp_path_factory.mktemp("tiny")
    hub = root / "hub"
    folders = {}
    for family, repo, seed in [("qwen2_vl", "Qwen/Qwen2-VL-2B-Instruct", 3), ("qwen3_vl", "Qwen/Qwen3-VL-2B-Instruct", 4)]:
        # with the published repo's generation config (qwen_published.py says where the values come from)
        folders[family] = build_tiny_qwen_vl(root / family, family=family, seed=seed,
                                             generation_config=PUBLISHED_GENERATION[family])
        make_fake_hf_cache(hub, repo, folders[family])
    return hub, folders
