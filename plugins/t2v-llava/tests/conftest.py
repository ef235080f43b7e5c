"""Shared fixtures: the reference fixture's Hugging Face cache (plus tiny ShareGPT4V and LLaVA-1.6
checkpoints written into it), copied to a temporary folder, offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from _llava_helpers import (
    FIXTURES,
    GOLDEN,
    LLAVA15,
    SHARE4V,
    SHARE4V_TOWER,
    alias_repo,
    build_llava16,
    build_share4v,
)
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)

from t2v_core.testing import offline_hf_cache

# tiny models on a shared machine: one thread avoids thread-pool contention that makes each op ~100x slower
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the fixture's HF cache (libraries may write markers into a cache)."""
    dest = tmp_path_factory.mktemp("hf") / "hub"
    shutil.copytree(FIXTURES / "hub", dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


@pytest.fixture(scope="session")
def tiny_weights(hub_cache: Path) -> dict:
    """Tiny ShareGPT4V and LLaVA-1.6 checkpoints in their published layouts, and the tensors written."""
    weights = {"share4v": build_share4v(hub_cache), "llava16": build_llava16(hub_cache)}
    # the 13B names load the same tiny tensors under their own repo ids (what differs is only the id)
    alias_repo(hub_cache, LLAVA15, "liuhaotian/llava-v1.5-13b")
    tower_13b = SHARE4V_TOWER.replace("7B", "13B")
    alias_repo(hub_cache, SHARE4V_TOWER, tower_13b)
    alias_repo(hub_cache, SHARE4V, SHARE4V.replace("7B", "13B"), mm_vision_tower=tower_13b)
    return weights


@pytest.fixture(scope="session")
def offline_hub(hub_cache: Path, tiny_weights: dict) -> Path:
    """HF_HUB_CACHE pointed at the fixture copy with HF_HUB_OFFLINE=1, for the whole session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("T2V_PROGRESS", "0")
    with offline_hf_cache(hub_cache):
        yield hub_cache
    mp.undo()


@pytest.fixture(scope="session")
def golden() -> dict:
    """The reference's scores on the fixture checkpoint."""
    return json.loads((GOLDEN / "golden.json").read_text())


@pytest.fixture(scope="session")
def llava(offline_hub: Path):
    """The llava-v1.5-7b scorer, built by name through the installed entry point."""
    import t2v_core

    return t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu")


@pytest.fixture(autouse=True)
def _images_batched_as_on_gpu(monkeypatch):
    """several images per tower / prefix forward on this CPU too (a CPU user's scorer takes one at a time)"""
    from t2v_llava.scorer import LlavaScorer

    monkeypatch.setattr(LlavaScorer, "cpu_image_block", None)
