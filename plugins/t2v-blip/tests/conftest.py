"""Shared fixtures: the reference fixture's Hugging Face cache, copied to a temporary folder, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from _blip_helpers import copy_hub

from t2v_core.testing import offline_hf_cache

# tiny models on a shared machine: one thread avoids thread-pool contention
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the fixture's HF cache (libraries may write markers into a cache)."""
    return copy_hub(tmp_path_factory.mktemp("hf") / "hub")


@pytest.fixture(scope="session")
def offline_hub(hub_cache: Path):
    """HF_HUB_CACHE pointed at the fixture copy with HF_HUB_OFFLINE=1, for the whole session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("T2V_PROGRESS", "0")
    with offline_hf_cache(hub_cache):
        yield hub_cache
    mp.undo()


@pytest.fixture(scope="session")
def instructblip(offline_hub: Path):
    """instructblip-flant5-xl, built by name through the installed entry point."""
    import t2v_core

    return t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu")


@pytest.fixture(scope="session")
def itm(offline_hub: Path):
    """blip2-itm (ITMScore)."""
    import t2v_core

    return t2v_core.ITMScore(model="blip2-itm", device="cpu")


@pytest.fixture(scope="session")
def itc(offline_hub: Path):
    """blip2-itc (CLIPScore)."""
    import t2v_core

    return t2v_core.CLIPScore(model="blip2-itc", device="cpu")
