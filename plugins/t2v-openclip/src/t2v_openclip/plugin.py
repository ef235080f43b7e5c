"""Registration only: imported at plugin discovery, so it reads a JSON file and imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

from .catalogue import load_catalogue

MEDIA = ("image", "video")
HPS_REPO = "xswu/HPSv2"
HPS_FILES = {"hpsv2": "HPS_v2_compressed.pt", "hpsv2.1": "HPS_v2.1_compressed.pt"}
PICKSCORE_REPO = "yuvalkirstain/PickScore_v1"
PICKSCORE_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"


def openclip_specs() -> list[ScorerSpec]:
    """One spec per ``(architecture, pretrained)`` pair of the packaged OpenCLIP catalogue."""
    specs = []
    for m in load_catalogue()["models"]:
        weights = (m["hf_hub"],) if m["hf_hub"] else ((m["url"],) if m["url"] else ())
        specs.append(ScorerSpec(
            name=m["name"],
            kind="clip",
            scorer="t2v_openclip.scorer:OpenCLIPScorer",
            media=MEDIA,
            weights=weights,
            options={"architecture": m["architecture"], "pretrained": m["pretrained"]},
            description=f"CLIPScore (cosine similarity) with OpenCLIP {m['architecture']}, "
                        f"{m['pretrained']} weights",
        ))
    return specs


def preference_specs() -> list[ScorerSpec]:
    """HPSv2, HPSv2.1 and PickScore: CLIP models fine-tuned on human preferences."""
    return [
        ScorerSpec(
            name="hpsv2",
            kind="clip",
            scorer="t2v_openclip.scorer:HPSv2Scorer",
            media=MEDIA,
            weights=(f"{HPS_REPO}/{HPS_FILES['hpsv2']}",),
            options={"checkpoint_file": HPS_FILES["hpsv2"]},
            description="HPSv2 (v2.0) human preference score: cosine similarity of an OpenCLIP ViT-H-14 "
                        "fine-tuned on HPD v2",
        ),
        ScorerSpec(
            name="hpsv2.1",
            kind="clip",
            scorer="t2v_openclip.scorer:HPSv2Scorer",
            media=MEDIA,
            weights=(f"{HPS_REPO}/{HPS_FILES['hpsv2.1']}",),
            options={"checkpoint_file": HPS_FILES["hpsv2.1"]},
            description="HPSv2.1 human preference score: cosine similarity of an OpenCLIP ViT-H-14 "
                        "fine-tuned on HPD v2 (v2.1 weights)",
        ),
        ScorerSpec(
            name="pickscore-v1",
            kind="clip",
            scorer="t2v_openclip.scorer:PickScoreScorer",
            media=MEDIA,
            weights=(PICKSCORE_REPO, PICKSCORE_PROCESSOR),
            description="PickScore v1: logit_scale.exp() x cosine similarity of a CLIP ViT-H-14 fine-tuned "
                        "on Pick-a-Pic (as its model card defines it)",
        ),
    ]


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register every OpenCLIP pretrained model, HPSv2, HPSv2.1 and PickScore as ``clip`` scorers."""
    for spec in openclip_specs() + preference_specs():
        register(spec)
