"""LLaVA-Video (``lmms-lab/LLaVA-Video-{7B,72B}-Qwen2``) on native transformers parts, as the reference runs it.

The checkpoints are LLaVA-NeXT's ``LlavaQwenForCausalLM`` in the original layout (flat Qwen2 config with
``mm_*`` fields; the SigLIP tower, minus its last layer and head, the projector and ``image_newline`` inside):
:func:`t2v_llava.modeling.load_llava` reads them (Qwen2 and SigLIP branches). What transformers' OneVision class
lacks is the video feature layout these checkpoints were trained with, written here
(``mm_spatial_pool_mode`` ``average``, ``mm_newline_position`` ``grid``, ``mm_patch_merge_type``
``spatial_unpad``): every frame's projected patch features pooled 2x2, then laid out frame by frame, row by
row, with ``image_newline`` after every row. Checked against LLaVA-NeXT's own ``get_2dPool`` and
``add_token_per_grid`` (run on random tensors outside the project: equal to the last bit).

The reference (video only): 64 frames at ``np.linspace(0, n - 1, 64, dtype=int)`` whatever ``num_frames`` says,
the SigLIP processor, and the ``qwen_1_5`` prompt ::

    <|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n<image>\\n{time}\\n{Q}<|im_end|>\\n
    <|im_start|>assistant\\n

with ``{time}`` = ``The video lasts for {d:.2f} seconds, and 64 frames are uniformly sampled from it. These
frames are located at {t0:.2f}s,{t1:.2f}s,....Please answer the following questions related to this video.``
(no space after the frame list's full stop, as the reference). score = P(first answer token) at the assistant
turn's start, softmax over all of ``lm_head``'s rows (the reference's own model).

Importing this module imports torch and transformers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from t2v_core.device import to_device
from t2v_core.media import Media, Video
from t2v_core.scorer import generation_kwargs
from t2v_core.templates import Templates

from .scorer import IMAGE_TOKEN, LlavaScorer, _Text

SYSTEM = "You are a helpful assistant."


def pool_frames(feats: torch.Tensor, stride: int, mode: str) -> torch.Tensor:
    """``(frames, side*side, dim)`` patch features pooled over each frame's grid: ``(frames, h, w, dim)``."""
    n, tokens, dim = feats.shape
    side = math.isqrt(tokens)
    x = feats.view(n, side, side, dim).permute(0, 3, 1, 2)
    if stride > 1:
        if mode == "average":
            x = F.avg_pool2d(x, stride)
        elif mode == "max":
            x = F.max_pool2d(x, stride)
        elif mode == "bilinear":
            x = F.interpolate(x, size=[math.ceil(side / stride)] * 2, mode="bilinear")
        else:
            raise ValueError(f"unsupported mm_spatial_pool_mode {mode!r}")
    return x.permute(0, 2, 3, 1)


def layout(grid: torch.Tensor, newline: torch.Tensor | None, position: str) -> torch.Tensor:
    """Pooled ``(frames, h, w, dim)`` features as one token sequence, newlines per ``mm_newline_position``."""
    n, h, w, dim = grid.shape
    if position == "grid":
        if newline is None:
            raise ValueError("mm_newline_position 'grid' needs model.image_newline in the checkpoint")
        nl = newline.to(grid.dtype).view(1, 1, 1, dim).expand(n, h, 1, dim)
        return torch.cat([grid, nl], dim=2).reshape(-1, dim)
    if position == "frame":
        if newline is None:
            raise ValueError("mm_newline_position 'frame' needs model.image_newline in the checkpoint")
        nl = newline.to(grid.dtype).view(1, 1, dim).expand(n, 1, dim)
        return torch.cat([grid.reshape(n, h * w, dim), nl], dim=1).reshape(-1, dim)
    flat = grid.reshape(-1, dim)
    if position == "one_token":
        if newline is None:
            raise ValueError("mm_newline_position 'one_token' needs model.image_newline in the checkpoint")
        return torch.cat([flat, newline.to(flat.dtype)[None]])
    if position == "no_token":
        return flat
    raise ValueError(f"unsupported mm_newline_position {position!r}")


def newline_position(config: dict[str, Any]) -> str:
    """Where a video's newlines go for a checkpoint config, as LLaVA-NeXT's forward decides: its defaults
    (``mm_patch_merge_type`` ``flat``, ``mm_newline_position`` ``one_token``); a ``flat`` merge type flattens
    videos with no newline at all, and ``one_token`` appends its newline only for an ``unpad`` merge type."""
    merge = config.get("mm_patch_merge_type") or "flat"
    position = config.get("mm_newline_position") or "one_token"
    if merge == "flat" or (position == "one_token" and "unpad" not in merge):
        return "no_token"
    return position


@dataclass
class _Clip:
    """A video sampled the reference's way, and the time instruction that describes the sampling."""

    frames: list[Any]
    instruction: str


class LlavaVideoScorer(LlavaScorer):
    """LLaVA-Video VQAScore on the original lmms-lab checkpoints (videos only, as the reference).

    Options: ``checkpoint``, ``revision``. Call option: ``num_frames`` (default 64, the reference's fixed count).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 64}
    prompt_before: ClassVar[str] = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n"
    default_batch_size: ClassVar[int] = 8
    cpu_batch_size: ClassVar[int] = 4

    def load(self) -> None:
        """Load as LLaVA-1.5, then take the softmax over every ``lm_head`` row (the reference's own model)."""
        if "image_aspect_ratio" in self.options:
            raise TypeError(f"model {self.name!r} scores videos only and takes no image_aspect_ratio option")
        super().load()
        self.vocab = self.model.language_model.lm_head.out_features
        cfg = self.config
        if cfg.get("add_faster_video"):
            raise ValueError(f"model {self.name!r}: the checkpoint's config sets add_faster_video, which this "
                             "plugin does not implement")
        # LLaVA-NeXT's forward pools video frames with get_2dPool's default stride 2 (the call that would pass
        # mm_spatial_pool_stride, encode_multimodals, is commented out there), so the config's stride is unused
        self.pool_stride = 2
        self.pool_mode = cfg.get("mm_spatial_pool_mode") or "average"
        self.newline_position = newline_position(cfg)

    def _clip(self, video: Video, num_frames: int) -> _Clip:
        info = video.info
        if not info.fps:
            raise ValueError(f"video {video.source!r}: its frame rate is unknown, which the time instruction needs")
        total = info.num_frames
        indices = [int(x) for x in np.linspace(0, total - 1, num_frames, dtype=int)]
        times = ",".join(f"{i / info.fps:.2f}s" for i in indices)
        instruction = (f"The video lasts for {total / info.fps:.2f} seconds, and {len(indices)} frames are uniformly "
                       f"sampled from it. These frames are located at {times}.Please answer the following "
                       "questions related to this video.")
        return _Clip(video.frames(indices), instruction)

    def _video_text(self, instruction: str, question: str, answer: str) -> _Text:
        for what, s in (("question", question), ("answer", answer)):
            if IMAGE_TOKEN in s:
                raise ValueError(f"the {what} {s!r} contains {IMAGE_TOKEN!r}, which LLaVA reserves for the video")
        after = "\n" + instruction + "\n" + question + "<|im_end|>\n<|im_start|>assistant\n"
        ids = self._chunks(self.prompt_before + IMAGE_TOKEN + after)[1]
        answer_ids = self.tokenizer(answer, add_special_tokens=False).input_ids
        if not answer_ids:
            raise ValueError(f"answer template gives an empty answer {answer!r}: it must have at least one token")
        # P(first answer token) = exp(-mean CE) over that one token
        return _Text(ids + [answer_ids[0]], len(ids))

    @torch.inference_mode()
    def encode_images(self, clips: Sequence[Any]) -> list[torch.Tensor]:  # type: ignore[override]
        """Each clip's video tokens: frames through the tower and projector, pooled, laid out with newlines."""
        out = []
        for clip in clips:
            pixels = to_device(self.processor(images=list(clip.frames), return_tensors="pt")["pixel_values"],
                               self.device, self.dtype)
            feats = torch.cat([self.model.encode_images(pixels[s:s + 16]) for s in range(0, len(pixels), 16)])
            grid = pool_frames(feats, self.pool_stride, self.pool_mode)
            out.append(layout(grid, self.model.image_newline, self.newline_position))
        return out

    def _video_scores(self, media: Sequence[Media], texts: Sequence[str], templates: Templates | None,
                      num_frames: int, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
        if templates is None:
            raise ValueError("LLaVA-Video is a VQA scorer: it needs question/answer templates")
        filled = [templates.fill(t) for t in texts]
        out = torch.empty(len(pairs), dtype=torch.float32)
        by_media: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(pairs):
            by_media.setdefault(i, []).append(k)
        for i, ks in by_media.items():
            item = media[i]
            if not isinstance(item, Video):
                raise ValueError(f"media {i} is an image; LLaVA-Video scores videos only, as the reference")
            clip = self._clip(item, num_frames)
            # the time instruction belongs to the video, so one video's texts are scored together
            own = [self._video_text(clip.instruction, *filled[pairs[k][1]]) for k in ks]
            out[ks] = self._score_index_pairs([clip], own, [(0, r) for r in range(len(ks))])
        return out

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None, num_frames: int = 64) -> torch.Tensor:
        """The M x N matrix: each video encoded once, its prefix cache shared by every text."""
        pairs = [(i, j) for i in range(len(media)) for j in range(len(texts))]
        return self._video_scores(media, texts, templates, num_frames, pairs).reshape(len(media), len(texts))

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None, num_frames: int = 64) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        return self._video_scores(media, texts, templates, num_frames, [(k, k) for k in range(len(media))])

    def generate_media(self, media: Sequence[Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Answer ``prompts[k]`` about the video ``media[k]`` (captions, VQA) in the scoring prompt: the
        ``qwen_1_5`` conversation, the video tokens, the time instruction, then the prompt; generation stops at
        ``<|im_end|>``. Videos only, as the scores.

        Options: ``max_new_tokens`` (default 128), ``temperature`` (default 0: greedy), ``top_p``,
        ``num_beams`` (default 1), ``num_frames`` (default 64).
        """
        gen = {**generation_kwargs(self.name, prompts, options), "eos_token_id": self.eos_id,
               "pad_token_id": self.eos_id}
        num_frames = int(options.get("num_frames", self.call_options["num_frames"]))
        answers = []
        for k, (m, p) in enumerate(zip(media, prompts)):
            if IMAGE_TOKEN in p:
                raise ValueError(f"prompt {k} ({p!r}) contains {IMAGE_TOKEN!r}, which LLaVA reserves for the video")
            if not isinstance(m, Video):
                raise ValueError(f"media {k} is an image; LLaVA-Video answers about videos only, as it scores")
            clip = self._clip(m, num_frames)
            feats = self.encode_images([clip])[0]
            before, after = self._chunks(self.prompt_before + IMAGE_TOKEN + "\n" + clip.instruction + "\n" + p
                                         + "<|im_end|>\n<|im_start|>assistant\n")
            emb = torch.cat([self.model.embed(torch.tensor(before, device=self.device)), feats.to(self.dtype),
                             self.model.embed(torch.tensor(after, device=self.device))])[None]
            with torch.inference_mode():
                ids = self.model.language_model.generate(inputs_embeds=emb, attention_mask=torch.ones(
                    emb.shape[:2], dtype=torch.long, device=self.device), **gen)
            answers.append(self.tokenizer.decode(ids[0], skip_special_tokens=True).strip())
        return answers
