"""A tiny Perception-LM checkpoint in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import pytest
from plm_testutils import REPO
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)
from t2v_hf.testing import build_fake_hub, random_images, use_fake_hub


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_perception_lm.testing import build_tiny_perception_lm

    hub, folders = build_fake_hub(tmp_path_factory.mktemp("plm"),
                                  {"plm": (REPO, lambda f: build_tiny_perception_lm(f, seed=9))})
    return hub, folders["plm"]


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    use_fake_hub(monkeypatch, tiny_hub[0])
    return tiny_hub[1]


@pytest.fixture(scope="session")
def images():
    # two shapes give different tile counts (thumbnail + 2 tiles, thumbnail + 1 tile)
    return random_images([(40, 90), (64, 64), (40, 90)], seed=0)


@pytest.fixture(scope="session")
def frames():
    return random_images([(48, 64)] * 40, seed=1)
