"""t2v: score how well an image or a video matches a text (VQAScore, CLIPScore, ITMScore).

The names that need torch (the scorers) are imported lazily, so that ``import t2v_core`` and listing models
stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    DatasetError,
    MediaError,
    OptionError,
    PluginNotInstalledError,
    RegistrationError,
    ScoreNoteWarning,
    ScoringError,
    StoreError,
    T2VError,
    TemplateError,
    TextError,
    UnknownModelError,
    WeightsNotFoundError,
)
from .hookspecs import hookimpl
from .specs import BenchmarkSpec, CommandSpec, ScorerSpec

__version__ = "0.1.0"

_LAZY = {
    "Score": "frontend",
    "VQAScore": "frontend",
    "CLIPScore": "frontend",
    "ITMScore": "frontend",
    "get_score_model": "frontend",
    "Scorer": "scorer",
    "PairFailure": "scorer",
    "PairNote": "scorer",
    "ScoreStore": "store",
    "T2VMetric": "metric",
}

if TYPE_CHECKING:
    from .frontend import CLIPScore, ITMScore, Score, VQAScore, get_score_model
    from .metric import T2VMetric
    from .scorer import PairFailure, PairNote, Scorer
    from .store import ScoreStore


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 't2v_core' has no attribute {name!r}")


def list_all_models() -> list[str]:
    """Every installed model name, all kinds."""
    from .registry import list_models

    return list_models()


def list_all_vqascore_models() -> list[str]:
    """Installed VQAScore models."""
    from .registry import list_models

    return list_models("vqa")


def list_all_clipscore_models() -> list[str]:
    """Installed CLIPScore models."""
    from .registry import list_models

    return list_models("clip")


def list_all_itmscore_models() -> list[str]:
    """Installed ITMScore models."""
    from .registry import list_models

    return list_models("itm")


__all__ = [
    "BenchmarkSpec",
    "CLIPScore",
    "CommandSpec",
    "DatasetError",
    "ITMScore",
    "MediaError",
    "OptionError",
    "PairFailure",
    "PairNote",
    "PluginNotInstalledError",
    "RegistrationError",
    "Score",
    "ScoreStore",
    "Scorer",
    "ScorerSpec",
    "ScoreNoteWarning",
    "ScoringError",
    "StoreError",
    "T2VError",
    "T2VMetric",
    "TemplateError",
    "TextError",
    "UnknownModelError",
    "VQAScore",
    "WeightsNotFoundError",
    "get_score_model",
    "hookimpl",
    "list_all_clipscore_models",
    "list_all_itmscore_models",
    "list_all_models",
    "list_all_vqascore_models",
]
