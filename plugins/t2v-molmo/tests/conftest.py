"""A tiny Molmo2 checkpoint in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from molmo_testutils import REPO
from PIL import Image
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_molmo.testing import build_tiny_molmo2

    root = tmp_path_factory.mktemp("molmo2")
    folder = build_tiny_molmo2(root / "molmo2", seed=5)
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
    # three shapes give different crop tilings (and token counts) in one processor batch
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(40, 90), (64, 64), (120, 50)]]


@pytest.fixture(scope="session")
def frames():
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)) for _ in range(20)]
