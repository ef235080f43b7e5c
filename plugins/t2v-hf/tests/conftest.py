"""Tiny random-weight checkpoints saved into a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import numpy as np
import pytest
from hf_testutils import REPO
from PIL import Image
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Qwen2-VL checkpoint folder (real classes, random weights)."""
    from t2v_hf.testing import build_tiny_qwen_vl

    return build_tiny_qwen_vl(tmp_path_factory.mktemp("ckpt") / "qwen2_vl", family="qwen2_vl", seed=1)


@pytest.fixture(scope="session")
def hub_dir(tmp_path_factory, tiny_checkpoint):
    hub = tmp_path_factory.mktemp("hub")
    make_fake_hf_cache(hub, REPO, tiny_checkpoint, commit="c0ffee" + "0" * 34)
    return hub


@pytest.fixture
def offline_hub(hub_dir, monkeypatch):
    """HF_HUB_CACHE at the fake cache, hub offline: loading by repo id runs the production path."""
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return hub_dir


@pytest.fixture(scope="session")
def images():
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(70, 90), (60, 60), (100, 50)]]


@pytest.fixture(scope="session")
def frames():
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 256, (56, 84, 3), dtype=np.uint8)) for _ in range(6)]
