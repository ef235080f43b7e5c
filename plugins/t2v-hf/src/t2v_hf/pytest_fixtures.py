"""pytest fixtures for family plugins' tests; import them into a conftest (``from t2v_hf.pytest_fixtures import
batched_as_on_gpu``). Kept apart from :mod:`t2v_hf.testing`, which benchmarks import without pytest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import batch_whole_prompts_on_cpu


@pytest.fixture(autouse=True)
def batched_as_on_gpu(monkeypatch: Any) -> Iterator[None]:
    """Autouse: whole prompts batched by ``batch_size`` on this CPU too, so the batched path a GPU takes stays
    under test (a CPU user's scorer takes them one by one)."""
    batch_whole_prompts_on_cpu(monkeypatch)
    yield
