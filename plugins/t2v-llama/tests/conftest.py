"""Tiny Llama-3.2-Vision and Llama-Guard-3-Vision checkpoints in a fake offline Hugging Face cache."""

from __future__ import annotations

import pytest
from llama_testutils import REPOS
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)
from t2v_hf.testing import build_fake_hub, random_images, use_fake_hub


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory):
    from t2v_llama.testing import build_tiny_mllama

    def build(kind, seed):
        return lambda folder: build_tiny_mllama(folder, guard=kind == "guard", seed=seed)

    return build_fake_hub(tmp_path_factory.mktemp("mllama"),
                          {kind: (repo, build(kind, k + 5)) for k, (kind, repo) in enumerate(REPOS.items())})


@pytest.fixture
def offline(tiny_hub, monkeypatch):
    use_fake_hub(monkeypatch, tiny_hub[0])
    return tiny_hub[1]


@pytest.fixture(scope="session")
def images():
    return random_images([(40, 50), (28, 28), (30, 70)], seed=0)
