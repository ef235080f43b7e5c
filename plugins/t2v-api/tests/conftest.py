"""Fixtures: a fake server per test, scorers built by model name through the installed entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _api_helpers import KEYS, build
from t2v_api.testing import FakeModelServer

from t2v_core import plugins


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # other plugins of the monorepo may be half-built in a shared venv: load only this one, through its
    # installed entry point; and keep the clients from being redirected by the developer's environment
    monkeypatch.setenv("T2V_PLUGINS", "t2v-api")
    monkeypatch.setenv("T2V_PROGRESS", "0")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL",
                "GOOGLE_GENAI_API_VERSION", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer(api_keys=KEYS) as s:
        yield s
        assert not s.errors, f"the fake server could not read some requests: {s.errors}"


@pytest.fixture
def make(server: FakeModelServer) -> Callable[..., Any]:
    return lambda protocol, model=None, **kw: build(server, protocol, model, **kw)
