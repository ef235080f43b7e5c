"""Tiny Gemma 3 and Gemma 4 checkpoints in fake offline Hugging Face caches, built once per session."""

from __future__ import annotations

import pytest
from gemma_testutils import REPO, REPO4, REPO4_12B, REPO4_E2B
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)
from t2v_hf.testing import build_fake_hub, random_images, use_fake_hub


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_gemma.testing import build_tiny_gemma3

    hub, folders = build_fake_hub(tmp_path_factory.mktemp("gemma"),
                                  {"g3": (REPO, lambda f: build_tiny_gemma3(f, seed=3))})
    return hub, folders["g3"]


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    use_fake_hub(monkeypatch, tiny_hub[0])
    return tiny_hub[1]


@pytest.fixture(scope="session")
def tiny_hub4(tmp_path_factory):
    """Three tiny Gemma 4 checkpoints in one fake cache: {repo: folder}."""
    from t2v_gemma.testing import GEMMA4_CHAT_TEMPLATE_OPEN, build_tiny_gemma4

    return build_fake_hub(tmp_path_factory.mktemp("gemma4"), {
        REPO4: (REPO4, lambda f: build_tiny_gemma4(f, per_layer_hidden=0, seed=4)),
        REPO4_E2B: (REPO4_E2B, lambda f: build_tiny_gemma4(f, bidirectional_vision=False,
                                                           chat_template=GEMMA4_CHAT_TEMPLATE_OPEN, seed=5)),
        REPO4_12B: (REPO4_12B, lambda f: build_tiny_gemma4(f, unified=True, seed=6)),
    })


@pytest.fixture
def offline4(tiny_hub4, monkeypatch):
    use_fake_hub(monkeypatch, tiny_hub4[0])
    return tiny_hub4[1]


@pytest.fixture(scope="session")
def images():
    return random_images([(40, 50), (56, 56), (70, 30)], seed=0)


@pytest.fixture(scope="session")
def frames():
    return random_images([(48, 64)] * 12, seed=1)
