"""Registering a family's model names (used from family plugins' ``plugin.py``: imports nothing heavy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from t2v_core import ScorerSpec


def register_models(register: Callable[[ScorerSpec], None], models: Mapping[str, tuple[str, str]], *,
                    scorer: str, question: str, answer: str, media: tuple[str, ...] = ("image", "video"),
                    note: str = "", aliases: Mapping[str, tuple[str, ...]] | None = None,
                    alias_note: str = "") -> None:
    """Register one VQAScore spec per ``name -> (hub repo, description)`` entry of ``models``, all scored by
    ``scorer`` (``"module:Class"``) with the same default templates and media; ``note`` is appended to every
    description (e.g. how videos are taken, or that the repos are gated). ``aliases`` gives some names other
    names (``t2v models`` shows ``alias_note`` beside each, if given)."""
    for name, (repo, description) in models.items():
        names = tuple((aliases or {}).get(name, ()))
        register(ScorerSpec(name=name, kind="vqa", scorer=scorer, media=media, weights=(repo,), aliases=names,
                            alias_notes={a: alias_note for a in names} if alias_note else {},
                            question_template=question, answer_template=answer, description=description + note))
