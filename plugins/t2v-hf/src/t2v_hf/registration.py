"""Registering a family's model names (used from family plugins' ``plugin.py``: imports nothing heavy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from t2v_core import ScorerSpec


def register_models(register: Callable[[ScorerSpec], None], models: Mapping[str, tuple[str, str]], *,
                    scorer: str, question: str, answer: str, media: tuple[str, ...] = ("image", "video"),
                    note: str = "") -> None:
    """Register one VQAScore spec per ``name -> (hub repo, description)`` entry of ``models``, all scored by
    ``scorer`` (``"module:Class"``) with the same default templates and media; ``note`` is appended to every
    description (e.g. how videos are taken, or that the repos are gated)."""
    for name, (repo, description) in models.items():
        register(ScorerSpec(name=name, kind="vqa", scorer=scorer, media=media, weights=(repo,),
                            question_template=question, answer_template=answer, description=description + note))
