"""A tiny Gemma 3 checkpoint in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from gemma_testutils import REPO, REPO4, REPO4_12B, REPO4_E2B
from PIL import Image

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_gemma.testing import build_tiny_gemma3

    root = tmp_path_factory.mktemp("gemma")
    folder = build_tiny_gemma3(root / "gemma3", seed=3)
    make_fake_hf_cache(root / "hub", REPO, folder)
    return root / "hub", folder


@pytest.fixture(scope="session")
def tiny_hub4(tmp_path_factory):
    """Three tiny Gemma 4 checkpoints in one fake cache: {repo: folder}."""
    from t2v_gemma.testing import GEMMA4_CHAT_TEMPLATE_OPEN, build_tiny_gemma4

    root = tmp_path_factory.mktemp("gemma4")
    folders = {REPO4: build_tiny_gemma4(root / "g4_31b", per_layer_hidden=0, seed=4),
               REPO4_E2B: build_tiny_gemma4(root / "g4_e2b", bidirectional_vision=False,
                                            chat_template=GEMMA4_CHAT_TEMPLATE_OPEN, seed=5),
               REPO4_12B: build_tiny_gemma4(root / "g4_12b", unified=True, seed=6)}
    for repo, folder in folders.items():
        make_fake_hf_cache(root / "hub", repo, folder)
    return root / "hub", folders


@pytest.fixture
def offline4(tiny_hub4, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tiny_hub4[0]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tiny_hub4[1]


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
