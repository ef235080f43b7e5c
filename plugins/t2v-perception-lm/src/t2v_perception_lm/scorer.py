"""VQAScore with Perception-LM (native ``PerceptionLMForConditionalGeneration``) on the t2v-hf scorer.

The chat template writes ``<|begin_of_text|>`` (no second BOS is added) and a default system prompt. Images are
tiled by the processor (a thumbnail plus up to ``max_num_tiles`` tiles), so images of different shapes have
different tile counts and cannot share a processor batch: calls are split into groups of equal image size
(videos: one group), each scored by t2v-hf (prefix reuse for M x N, batched whole prompts otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from t2v_hf.scorer import HFVLMScorer

from t2v_core.media import Image, Media
from t2v_core.templates import Templates


def _groups(media: Sequence[Media]) -> dict[Any, list[int]]:
    # equal image size -> equal tile count; every video frame becomes one tile
    out: dict[Any, list[int]] = {}
    for k, item in enumerate(media):
        key = ("image", item.image.size) if isinstance(item, Image) else ("video",)
        out.setdefault(key, []).append(k)
    return out


class PerceptionLMScorer(HFVLMScorer):
    """Perception-LM VQAScore. Call option ``num_frames`` (default 32): frames sampled uniformly from a video."""

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 32, "fps": None}
    model_class: ClassVar[str | None] = "PerceptionLMForConditionalGeneration"

    def score(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
              **options: Any) -> torch.Tensor:
        """``M x N`` scores, t2v-hf's per group of media with equal tile counts."""
        out = torch.full((len(media), len(texts)), float("nan"))
        for rows in _groups(media).values():
            out[rows] = super().score([media[k] for k in rows], texts, templates=templates, **options)
        return out

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    **options: Any) -> torch.Tensor:
        """Scores of aligned pairs, t2v-hf's per group of media with equal tile counts."""
        out = torch.full((len(texts),), float("nan"))
        for rows in _groups(media).values():
            out[rows] = super().score_pairs([media[k] for k in rows], [texts[k] for k in rows],
                                            templates=templates, **options)
        return out
