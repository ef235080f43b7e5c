"""Registration only: imported at plugin discovery, so it imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

MEDIA = ("image", "video")

#: model name -> Hugging Face repo (the reference's table, t2v_metrics 880a5b8)
LANGUAGEBIND_REPOS = {
    "languagebind-video-v1.5-ft": "LanguageBind/LanguageBind_Video_V1.5_FT",
    "languagebind-video-ft": "LanguageBind/LanguageBind_Video_FT",
    "languagebind-video-v1.5": "LanguageBind/LanguageBind_Video_V1.5",
    "languagebind-video": "LanguageBind/LanguageBind_Video",
}


def languagebind_specs() -> list[ScorerSpec]:
    """The four LanguageBind Video checkpoints as ``clip`` scorers."""
    return [
        ScorerSpec(
            name=name,
            kind="clip",
            scorer="t2v_videoclip.scorer:LanguageBindVideoScorer",
            media=MEDIA,
            weights=(repo,),
            options={"repo_id": repo},
            description=f"CLIPScore (cosine of video and text embeddings) with LanguageBind Video ({repo}), "
                        "8 frames",
        )
        for name, repo in LANGUAGEBIND_REPOS.items()
    ]


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register the video CLIP scorers."""
    for spec in languagebind_specs():
        register(spec)
