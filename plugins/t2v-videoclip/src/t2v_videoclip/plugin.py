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


#: UMT: model name -> (video-text checkpoint repo, vision pre-training repo, BERT repo)
UMT_MODELS = {
    "umt-b16-25m": ("zhiqiulin/umt_b16_25m", "zhiqiulin/b16_ptk710_f8_res224", "bert-base-uncased"),
    "umt-l16-25m": ("zhiqiulin/umt_l16_25m", "zhiqiulin/l16_ptk710_f8_res224", "bert-large-uncased"),
}


def umt_specs() -> list[ScorerSpec]:
    """UMT B/16 and L/16 (25M pre-training) as ``clip`` and ``itm`` scorers."""
    specs = []
    for base, (repo, vision, bert) in UMT_MODELS.items():
        options = {"repo_id": repo, "checkpoint": repo.split("/")[1] + ".pth", "vision_repo_id": vision,
                   "vision_checkpoint": vision.split("/")[1] + ".pth", "text_repo_id": bert, "frames": 4,
                   "max_text_tokens": 32}
        specs.append(ScorerSpec(
            name=f"{base}-clip", kind="clip", scorer="t2v_videoclip.scorer:UMTCLIPScorer", media=MEDIA,
            weights=(repo, vision, bert), options=options,
            description=f"CLIPScore with UMT ({repo}): per-frame cosine averaged over 4 frames"))
        specs.append(ScorerSpec(
            name=f"{base}-itm", kind="itm", scorer="t2v_videoclip.scorer:UMTITMScorer", media=MEDIA,
            weights=(repo, vision, bert), options={**options, "itm_output": "logit"},
            description=f"ITMScore with UMT ({repo}): the match logit of its video-text matching head, "
                        "4 frames"))
    return specs


INTERNVIDEO2_REPO = "zhiqiulin/internvideo2_1b_stage2"


def internvideo2_specs() -> list[ScorerSpec]:
    """InternVideo2 1B stage 2 as ``clip`` and ``itm`` scorers."""
    options = {"repo_id": INTERNVIDEO2_REPO, "checkpoint": "internvideo2_1b_stage2.pth",
               "text_repo_id": "google-bert/bert-large-uncased", "max_text_tokens": 40, "heads": 16, "pool_heads": 16}
    weights = (INTERNVIDEO2_REPO, "google-bert/bert-large-uncased")
    return [
        ScorerSpec(name="internvideo2-1b-stage2-clip", kind="clip", scorer="t2v_videoclip.scorer:InternVideo2CLIPScorer",
                   media=MEDIA, weights=weights, options=options,
                   description="CLIPScore with InternVideo2 1B stage 2: cosine of the pooled video and text "
                               "embeddings, 4 frames"),
        ScorerSpec(name="internvideo2-1b-stage2-itm", kind="itm", scorer="t2v_videoclip.scorer:InternVideo2ITMScorer",
                   media=MEDIA, weights=weights, options={**options, "itm_output": "logit"},
                   description="ITMScore with InternVideo2 1B stage 2: the match logit of its video-text "
                               "matching head, 4 frames"),
    ]


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
    """Register the video CLIP and ITM scorers."""
    for spec in languagebind_specs() + umt_specs() + internvideo2_specs():
        register(spec)
