"""A tiny Gemma 3 checkpoint in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from gemma_testutils import REPO
from PIL import Image

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_gemma.testing import build_tiny_gemma3

    root = tmp_path_factory.mktemp("gemma")
    folder = build_tiny_gemma3(root / "gemma3", seed=3)
    make_fake_hf_cache(root / "hub", REPO, folder)
    return root / "hub", folder


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tiny_hub[0]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tiny_hub[1]


@pytest.fixture(scope="session")
def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 50), (56, 56), (70, 30)]]


@pytest.fixture(scope="session")
def frames():
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)) for _ in range(12)]
