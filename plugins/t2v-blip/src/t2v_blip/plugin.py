"""Registration only: imported at plugin discovery, so it imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

QUESTION = 'Question: Does this figure show "{}"? Please answer yes or no.'
#: lower case, as the reference ("instruct-blip uses yes")
ANSWER = "yes"
MEDIA = ("image", "video")
LAVIS = "https://storage.googleapis.com/sfr-vision-language-research/LAVIS/models/BLIP2"
VITL_CHECKPOINT = f"{LAVIS}/blip2_pretrained_vitL.pth"

# name -> (checkpoint repo, description)
INSTRUCTBLIP: dict[str, tuple[str, str]] = {
    "instructblip-flant5-xl": (
        "Salesforce/instructblip-flan-t5-xl",
        "InstructBLIP with Flan-T5-XL (4B): VQAScore",
    ),
    "instructblip-flant5-xxl": (
        "Salesforce/instructblip-flan-t5-xxl",
        "InstructBLIP with Flan-T5-XXL (12B): VQAScore",
    ),
}
# variant -> (weights, description of the checkpoint)
BLIP2: dict[str, tuple[str, str]] = {
    "": ("Salesforce/blip2-itm-vit-g", "BLIP-2 pretrained, EVA ViT-g, 224 px"),
    "-vitL": (VITL_CHECKPOINT, "BLIP-2 pretrained, OpenAI CLIP ViT-L/14, 224 px (LAVIS checkpoint)"),
    "-coco": ("Salesforce/blip2-itm-vit-g-coco", "BLIP-2 fine-tuned on COCO, EVA ViT-g, 364 px"),
}
#: the BERT tokenizer the LAVIS checkpoint was trained with (the vitL checkpoint has no conversion)
BERT = "bert-base-uncased"


def specs() -> list[ScorerSpec]:
    """The eight model names of this plugin."""
    out = [
        ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_blip.scorer:InstructBLIPScorer",
            media=MEDIA,
            weights=(repo,),
            question_template=QUESTION,
            answer_template=ANSWER,
            description=desc,
        )
        for name, (repo, desc) in INSTRUCTBLIP.items()
    ]
    for variant, (weights, desc) in BLIP2.items():
        extra = (BERT,) if weights.startswith("https://") else ()
        out.append(
            ScorerSpec(
                name=f"blip2-itm{variant}",
                kind="itm",
                scorer="t2v_blip.scorer:Blip2ITMScorer",
                media=MEDIA,
                weights=(weights, *extra),
                description=f"ITMScore: P(match) of the image-text matching head; {desc}",
            )
        )
        out.append(
            ScorerSpec(
                name=f"blip2-itc{variant}",
                kind="clip",
                scorer="t2v_blip.scorer:Blip2ITCScorer",
                media=MEDIA,
                weights=(weights, *extra),
                description=f"CLIPScore: max over the 32 queries of the cosine to the text; {desc}",
            )
        )
    return out


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register InstructBLIP-FlanT5 (VQAScore), BLIP2-ITM (ITMScore) and BLIP2-ITC (CLIPScore)."""
    for spec in specs():
        register(spec)
