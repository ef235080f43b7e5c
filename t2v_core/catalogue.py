"""A static list of first-party model names, so that a known model whose plugin is not installed gets
the exact ``pip install`` line instead of an "unknown model" error. Kept in sync with the plugins by a
test; it never imports a plugin."""

from __future__ import annotations

import re

FIRST_PARTY: dict[str, tuple[str, ...]] = {
    "t2v-clipflant5": (
        "clip-flant5-xxl",
        "clip-flant5-xl",
        "clip-flant5-xxl-no-system",
        "clip-flant5-xxl-no-system-no-user",
    ),
    "t2v-llava": (
        "llava-v1.5-7b",
        "llava-v1.5-13b",
        "sharegpt4v-7b",
        "sharegpt4v-13b",
        "llava-v1.6-13b",
        "llava-onevision-qwen2-7b-si",
        "llava-onevision-qwen2-7b-ov",
        "llava-video-7b",
        "llava-video-72B",
    ),
    "t2v-qwen": (
        "qwen2-vl-2b",
        "qwen2-vl-7b",
        "qwen2-vl-72b",
        "qwen2.5-vl-3b",
        "qwen2.5-vl-7b",
        "qwen2.5-vl-32b",
        "qwen2.5-vl-72b",
        "qwen3-vl-2b",
        "qwen3-vl-4b",
        "qwen3-vl-8b",
        "qwen3-vl-32b",
        "qwen3-vl-30b-a3b",
        "qwen3-vl-235b-a22b",
        "qwen3.5-4b",
        "qwen3.5-9b",
        "qwen3.5-27b",
        "qwen3-vl-2b-thinking",
        "qwen3-vl-4b-thinking",
        "qwen3-vl-8b-thinking",
        "qwen3-vl-32b-thinking",
        "qwen3-vl-30b-a3b-thinking",
        "qwen3-vl-235b-a22b-thinking",
    ),
    "t2v-internvl": tuple(
        [f"internvl2-{s}" for s in ("1b", "2b", "4b", "8b", "26b", "40b")]
        + ["internvl2-llama3-76b"]
        + [f"internvl2.5-{s}" for s in ("1b", "2b", "4b", "8b", "26b", "38b", "78b")]
        + [f"internvl3-{s}" for s in ("1b", "2b", "8b", "9b", "14b", "38b", "78b")]
    ),
    "t2v-api": (
        "openai-compatible",
        "gpt-4-turbo",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "gemini-2.0-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
    ),
    "t2v-videoclip": (
        "languagebind-video-v1.5-ft",
        "languagebind-video-ft",
        "languagebind-video-v1.5",
        "languagebind-video",
        "umt-b16-25m-clip",
        "umt-l16-25m-clip",
        "umt-b16-25m-itm",
        "umt-l16-25m-itm",
        "internvideo2-1b-stage2-clip",
        "internvideo2-1b-stage2-itm",
    ),
    "t2v-paligemma": tuple(
        [f"paligemma-3b-mix-{r}" for r in (224, 448, 896)]
        + [f"paligemma2-{s}-mix-{r}" for s in ("3b", "10b", "28b") for r in (224, 448)]
    ),
    "t2v-gemma": ("gemma-3-4b-it", "gemma-3-12b-it", "gemma-3-27b-it", "gemma-4-e2b-it", "gemma-4-e4b-it",
                  "gemma-4-12b-it", "gemma-4-26b-a4b-it", "gemma-4-31b-it"),
    "t2v-tarsier": (
        "tarsier2-7b",
        "tarsier-recap-7b",
    ),
    "t2v-llama": (
        "llama-3.2-11b-vision",
        "llama-3.2-11b-vision-instruct",
        "llama-3.2-90b-vision",
        "llama-3.2-90b-vision-instruct",
        "llama-guard-3-11b-vision",
        "llama-3.2-1b",
        "llama-3.2-3b",
        "llama-3.2-1b-instruct",
        "llama-3.2-3b-instruct",
        "llama-guard-3-1b",
    ),
    "t2v-perception-lm": ("perception-lm-1b", "perception-lm-3b", "perception-lm-8b"),
    "t2v-molmo": ("molmo2-4b", "molmo2-o-7b", "molmo2-8b"),
    "t2v-remote": (
        "mplug-owl3-7b",
        "internlmxcomposer25-7b",
        "internvideo2-chat-8b",
        "internvideo2-chat-8b-hd",
        "internvideo2-chat-8b-internlm",
        "molmo-72b-0924",
        "molmo-7b-d-0924",
        "molmo-7b-o-0924",
        "molmoe-1b-0924",
    ),
    "t2v-openclip": ("hpsv2", "hpsv2.1", "pickscore-v1", "openai:ViT-B-32", "openai:ViT-L-14"),
    "t2v-blip": (
        "instructblip-flant5-xl",
        "instructblip-flant5-xxl",
        "blip2-itm",
        "blip2-itm-vitL",
        "blip2-itm-coco",
        "blip2-itc",
        "blip2-itc-vitL",
        "blip2-itc-coco",
    ),
}

# Families whose names follow a pattern rather than a list.
FIRST_PARTY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^clip-flant5-"), "t2v-clipflant5"),
    (re.compile(r"^qwen(2|2\.5|3)-vl-"), "t2v-qwen"),
    (re.compile(r"^(llava-v1\.[56]-|sharegpt4v-|llava-onevision-|llava-video-)"), "t2v-llava"),
    (re.compile(r"^internvl"), "t2v-internvl"),
    (re.compile(r"^(instructblip-|blip2-)"), "t2v-blip"),
    (re.compile(r"^qwen3\.5-"), "t2v-qwen"),
    (re.compile(r"^paligemma"), "t2v-paligemma"),
    (re.compile(r"^gemma-"), "t2v-gemma"),
    (re.compile(r"^perception-lm-"), "t2v-perception-lm"),
    (re.compile(r"^molmo2-"), "t2v-molmo"),
    (re.compile(r"^llama-(3\.2|guard-3)-"), "t2v-llama"),
    (re.compile(r"^(gpt-|o[1-9]|gemini-|openai-compatible)"), "t2v-api"),
    (re.compile(r"^[A-Za-z0-9_.\-]+:[A-Za-z0-9_.\-/]+$"), "t2v-openclip"),
)


def distribution_for(name: str) -> str | None:
    """The first-party distribution that provides ``name``, or ``None`` if it is not one of ours."""
    lowered = name.lower()
    for dist, names in FIRST_PARTY.items():
        if lowered in (n.lower() for n in names):
            return dist
    for pattern, dist in FIRST_PARTY_PATTERNS:
        if pattern.match(name):
            return dist
    return None


def all_names() -> list[str]:
    """Every first-party model name listed in the catalogue."""
    return [n for names in FIRST_PARTY.values() for n in names]
