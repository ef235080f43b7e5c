"""Registration only: imported at plugin discovery, so it imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"
VISION_TOWER = "openai/clip-vit-large-patch14-336"
SCORER = "t2v_clipflant5.scorer:CLIPFlanT5Scorer"

# name -> (checkpoint, tokenizer, conversation style, description)
MODELS: dict[str, tuple[str, str, str, str]] = {
    "clip-flant5-xxl": ("zhiqiulin/clip-flant5-xxl", "google/flan-t5-xxl", "t5_chat",
                        "CLIP-FlanT5-XXL (11B): the reference VQAScore model"),
    "clip-flant5-xl": ("zhiqiulin/clip-flant5-xl", "google/flan-t5-xl", "t5_chat",
                       "CLIP-FlanT5-XL (3B): a smaller VQAScore model"),
    "clip-flant5-xxl-no-system": ("zhiqiulin/clip-flant5-xxl", "google/flan-t5-xxl", "t5_chat_no_system",
                                  "CLIP-FlanT5-XXL prompted without the system message (prompt ablation)"),
    "clip-flant5-xxl-no-system-no-user": ("zhiqiulin/clip-flant5-xxl", "google/flan-t5-xxl",
                                          "t5_chat_no_system_no_user",
                                          "CLIP-FlanT5-XXL prompted without system message and roles (ablation)"),
}


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register the CLIP-FlanT5 VQAScore models."""
    for name, (checkpoint, tokenizer, conversation, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer=SCORER,
            media=("image", "video"),
            weights=(checkpoint, tokenizer, VISION_TOWER),
            question_template=QUESTION,
            answer_template=ANSWER,
            options={"conversation": conversation, "tokenizer": tokenizer},
            description=description,
        ))
