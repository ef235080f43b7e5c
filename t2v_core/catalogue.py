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
    "t2v-remote": (
        "mplug-owl3-7b",
        "internlmxcomposer25-7b",
        "internvideo2-chat-8b",
        "internvideo2-chat-8b-hd",
        "molmo-72b-0924",
        "molmo-7b-d-0924",
        "molmo-7b-o-0924",
        "molmoe-1b-0924",
    ),
    "t2v-openclip": ("hpsv2", "hpsv2.1", "pickscore-v1", "openai:ViT-B-32", "openai:ViT-L-14"),
}

# Families whose names follow a pattern rather than a list.
FIRST_PARTY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^clip-flant5-"), "t2v-clipflant5"),
    (re.compile(r"^qwen(2|2\.5|3)-vl-"), "t2v-qwen"),
    (re.compile(r"^internvl"), "t2v-internvl"),
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
