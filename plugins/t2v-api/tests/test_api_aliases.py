"""The seed's model names keep working: a dated preview name resolves to the model Google serves now."""

from __future__ import annotations

import torch
from _api_helpers import build

from t2v_core import registry
from t2v_core.cli import main
from t2v_core.testing import random_images


def test_a_dated_preview_name_scores_with_its_current_model(server) -> None:
    assert registry.get_spec("gemini-2.5-pro-preview-03-25").name == "gemini-2.5-pro"
    old = build(server, "gemini", "gemini-2.5-pro-preview-03-25")
    new = build(server, "gemini", "gemini-2.5-pro")
    imgs = random_images(1)
    a, b = old(images=imgs, texts=["x"]), new(images=imgs, texts=["x"])
    assert torch.isfinite(a).all() and torch.equal(a, b)  # the same request to the same served model
    assert {r.model for r in server.requests} == {"gemini-2.5-pro"}


def test_models_lists_the_note_beside_the_alias(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "gemini-2.5-pro-preview-03-25 -> gemini-2.5-pro: the 03-25 preview is retired" in out
