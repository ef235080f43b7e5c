"""Tiny PaliGemma and PaliGemma 2 checkpoints in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from paligemma_testutils import REPOS
from PIL import Image

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_paligemma.testing import build_tiny_paligemma

    root = tmp_path_factory.mktemp("paligemma")
    folders = {}
    for version, repo in REPOS.items():
        folders[version] = build_tiny_paligemma(root / f"v{version}", version=version, seed=version)
        make_fake_hf_cache(root / "hub", repo, folders[version])
    return root / "hub", folders


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tiny_hub[0]))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tiny_hub[1]


@pytest.fixture(scope="session")
def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 50), (28, 28), (60, 30)]]
