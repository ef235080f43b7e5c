"""Tiny PaliGemma and PaliGemma 2 checkpoints in a fake offline Hugging Face cache, built once per session."""

from __future__ import annotations

import pytest
from paligemma_testutils import REPOS
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)
from t2v_hf.testing import build_fake_hub, random_images, use_fake_hub


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_paligemma.testing import build_tiny_paligemma

    def build(version):
        return lambda folder: build_tiny_paligemma(folder, version=version, seed=version)

    return build_fake_hub(tmp_path_factory.mktemp("paligemma"),
                          {version: (repo, build(version)) for version, repo in REPOS.items()})


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    use_fake_hub(monkeypatch, tiny_hub[0])
    return tiny_hub[1]


@pytest.fixture(scope="session")
def images():
    return random_images([(40, 50), (28, 28), (60, 30)], seed=0)
