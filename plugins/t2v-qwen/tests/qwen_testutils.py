"""Shared paths and helpers of the t2v-qwen tests (a uniquely named module: conftest names clash across plugins)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
GOLDEN_HUB = FIXTURES / "hub"


def transformers_version() -> tuple[int, ...]:
    from t2v_hf.loading import transformers_version as v

    return v()


def offline(monkeypatch, hub) -> None:
    """Point the Hugging Face cache at ``hub`` and switch the hub off (read at load time by t2v-hf)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


needs_tiny_builder = pytest.mark.skipif(
    transformers_version() < (4, 57),
    reason="tiny Qwen2-VL / Qwen3-VL checkpoints are built with transformers >= 4.57 classes (video processors, Qwen3-VL)")
