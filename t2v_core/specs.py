"""Light descriptions of what plugins provide. Importing this module imports nothing heavy."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

KINDS = ("vqa", "clip", "itm")
MEDIA = ("image", "video")


@dataclass(frozen=True)
class ScorerSpec:
    """What a plugin registers for one model name.

    Attributes:
        name: the public model name (``"qwen2.5-vl-7b"``); lower case, unique across plugins.
        kind: ``"vqa"``, ``"clip"`` or ``"itm"``.
        scorer: ``"module:Class"`` of a :class:`t2v_core.scorer.Scorer` subclass, imported lazily.
        media: the media kinds the model accepts.
        weights: where the weights live (Hugging Face repo ids or URLs), in loading order.
        aliases: other names that resolve to this spec.
        question_template / answer_template: the default templates (``None`` for kinds without templates).
        options: keyword arguments passed to the scorer class when it is built (user kwargs override).
        description: one line for ``t2v models``.
        requirements: pip requirements the scorer needs (``"transformers==4.40.2"``); when the current
            environment does not meet them, the scorer runs in a worker environment (:mod:`t2v_core.workers`).
        python: the Python version the worker environment needs, if it matters (``"3.10"``; needs uv).
        preflight: ``"module:function"`` of a light check (its module imports nothing heavy), called as
            ``function(spec, options)`` in the caller's process before a worker environment is made or
            started; it raises to refuse options the scorer would refuse anyway (``trust_remote_code`` not
            given), so that a refusal never waits for an environment to be built first.
        plugin: the distribution that registered the spec; filled in by the registry.
    """

    name: str
    kind: str
    scorer: str
    media: tuple[str, ...] = ("image",)
    weights: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    question_template: str | None = None
    answer_template: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    requirements: tuple[str, ...] = ()
    python: str | None = None
    preflight: str | None = None
    plugin: str | None = None
    #: alias -> a note ``t2v models`` shows beside it (e.g. the hosted model behind a dated name has changed)
    alias_notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise ValueError(f"ScorerSpec name must be a non-empty string without surrounding spaces, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"ScorerSpec {self.name!r}: expected kind in {KINDS}, but got {self.kind!r}")
        bad = [m for m in self.media if m not in MEDIA]
        if bad or not self.media:
            raise ValueError(f"ScorerSpec {self.name!r}: expected media drawn from {MEDIA}, but got {self.media!r}")
        if ":" not in self.scorer:
            raise ValueError(
                f"ScorerSpec {self.name!r}: expected scorer as 'module:Class', but got {self.scorer!r}"
            )

    def load_class(self) -> Any:
        """Import and return the scorer class (the first heavy import happens here)."""
        return load_object(self.scorer)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view, as printed by ``t2v models --json``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "media": list(self.media),
            "weights": list(self.weights),
            "aliases": list(self.aliases),
            "alias_notes": dict(self.alias_notes),
            "question_template": self.question_template,
            "answer_template": self.answer_template,
            "plugin": self.plugin,
            "description": self.description,
            "requirements": list(self.requirements),
        }


@dataclass(frozen=True)
class BenchmarkSpec:
    """What a plugin registers for one benchmark; ``loader`` is ``"module:callable"``, imported lazily."""

    name: str
    loader: str
    description: str = ""
    media: tuple[str, ...] = ("image",)
    aliases: tuple[str, ...] = ()
    plugin: str | None = None

    def load(self) -> Any:
        """Import and return the loader callable."""
        return load_object(self.loader)


@dataclass(frozen=True)
class CommandSpec:
    """A ``t2v`` subcommand a plugin provides; ``main`` is ``"module:callable"`` (``main(argv) -> int``),
    imported only when the subcommand runs."""

    name: str
    main: str
    help: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").isalnum() or ":" not in self.main:
            raise ValueError(f"CommandSpec needs a name such as 'bench' and main as 'module:callable', got "
                             f"name={self.name!r}, main={self.main!r}")

    def load(self) -> Any:
        """Import and return the command's ``main`` callable."""
        return load_object(self.main)


def load_object(ref: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, _, attr = ref.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
