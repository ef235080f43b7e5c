"""Registration only: imported at plugin discovery, so it imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"
SCORER = "t2v_llava.scorer:LlavaScorer"
CLIP_L_336 = "openai/clip-vit-large-patch14-336"

# name -> (checkpoint, vision tower repo named by its config, description)
MODELS: dict[str, tuple[str, str, str]] = {
    "llava-v1.5-7b": ("liuhaotian/llava-v1.5-7b", CLIP_L_336, "LLaVA-1.5 7B (Vicuna-7B, CLIP-L/336)"),
    "llava-v1.5-13b": ("liuhaotian/llava-v1.5-13b", CLIP_L_336,
                       "LLaVA-1.5 13B (Vicuna-13B, CLIP-L/336): the VQAScore paper's LLaVA"),
    "sharegpt4v-7b": ("Lin-Chen/ShareGPT4V-7B", "Lin-Chen/ShareGPT4V-7B_Pretrained_vit-large336-l12",
                      "ShareGPT4V 7B (LLaVA-1.5 architecture, its own fine-tuned CLIP-L/336 tower)"),
    "sharegpt4v-13b": ("Lin-Chen/ShareGPT4V-13B", "Lin-Chen/ShareGPT4V-13B_Pretrained_vit-large336-l12",
                       "ShareGPT4V 13B (LLaVA-1.5 architecture, its own fine-tuned CLIP-L/336 tower)"),
    "llava-v1.6-13b": ("liuhaotian/llava-v1.6-vicuna-13b", CLIP_L_336,
                       "LLaVA-1.6 Vicuna-13B weights, run as the reference does: one padded 336 px tile"),
}


OV_QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'
OV_SCORER = "t2v_llava.onevision:OneVisionScorer"
# name -> (llava-hf conversion of the lmms-lab checkpoint, description)
ONEVISION: dict[str, tuple[str, str]] = {
    "llava-onevision-qwen2-7b-si": ("llava-hf/llava-onevision-qwen2-7b-si-hf",
                                    "LLaVA-OneVision Qwen2-7B single-image stage (llava-hf conversion of "
                                    "lmms-lab/llava-onevision-qwen2-7b-si)"),
    "llava-onevision-qwen2-7b-ov": ("llava-hf/llava-onevision-qwen2-7b-ov-hf",
                                    "LLaVA-OneVision Qwen2-7B OneVision stage (llava-hf conversion of "
                                    "lmms-lab/llava-onevision-qwen2-7b-ov)"),
}


VIDEO_SCORER = "t2v_llava.video:LlavaVideoScorer"
# name -> (original lmms-lab checkpoint, description)
LLAVA_VIDEO: dict[str, tuple[str, str]] = {
    "llava-video-7b": ("lmms-lab/LLaVA-Video-7B-Qwen2", "LLaVA-Video 7B (Qwen2), videos only, 64 frames"),
    "llava-video-72B": ("lmms-lab/LLaVA-Video-72B-Qwen2", "LLaVA-Video 72B (Qwen2), videos only, 64 frames"),
}


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register the LLaVA-1.5 / ShareGPT4V / LLaVA-1.6 / LLaVA-OneVision VQAScore models."""
    for name, (checkpoint, description) in LLAVA_VIDEO.items():
        register(ScorerSpec(name=name, kind="vqa", scorer=VIDEO_SCORER, media=("video",),
                            weights=(checkpoint, "google/siglip-so400m-patch14-384"), question_template=OV_QUESTION,
                            answer_template=ANSWER, options={}, description=description))
    for name, (checkpoint, description) in ONEVISION.items():
        register(ScorerSpec(name=name, kind="vqa", scorer=OV_SCORER, media=("image", "video"),
                            weights=(checkpoint,), question_template=OV_QUESTION, answer_template=ANSWER,
                            options={}, description=description))
    for name, (checkpoint, tower, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer=SCORER,
            media=("image", "video"),
            weights=(checkpoint, tower),
            question_template=QUESTION,
            answer_template=ANSWER,
            options={},
            description=description,
        ))
