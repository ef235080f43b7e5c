"""Fixtures: the tiny Tarsier2-layout checkpoint (tests/fixtures/tiny-tarsier2, see its README) in a fake
offline Hugging Face cache under the real repo ids, and the reference's golden scores on it."""

from __future__ import annotations

import json

import pytest
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)
from tarsier_testutils import FIXTURES, REPOS, TINY

from t2v_core.testing import make_fake_hf_cache


@pytest.fixture(scope="session")
def golden():
    data = json.loads((FIXTURES / "golden.json").read_text())
    data["video_paths"] = [str(FIXTURES / "videos" / v) for v in data["videos"]]
    data["matrix"] = [[data["scores"][f"{v}|{t}"] for t in data["texts"]] for v in data["videos"]]
    return data


@pytest.fixture(scope="session")
def tarsier_hub(tmp_path_factory):
    hub = tmp_path_factory.mktemp("tarsier") / "hub"
    for repo in REPOS:
        make_fake_hf_cache(hub, repo, TINY)
    return hub


@pytest.fixture
def hub(tarsier_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tarsier_hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tarsier_hub
