"""Tarsier2's frame sampling, pixel preprocessing and 3-D positions, as the reference computes them.

Written out here (numpy + PIL) rather than taken from a transformers processor, so that scores do not move
when transformers changes its Qwen2-VL image processor (transformers 5 made the torchvision one the default
and rejects the repos' old ``preprocessor_config.json``). The rules are those of the reference's vendored
Tarsier code (t2v_metrics 880a5b8) with its default config (``tarser2_default_config.yaml``) and transformers
4.49's slow ``Qwen2VLImageProcessor``, which it ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: frames per video (config ``n_frames``), the per-frame pixel cap (``max_pixels``) and the per-sample pixel
#: budget Tarsier's processor divides over all frames (``max_pixels_per_sample``)
N_FRAMES = 16
MAX_PIXELS = 1280 * 720 // 2
MIN_PIXELS = 0
MAX_PIXELS_PER_SAMPLE = 128 * 384 * 384


def frame_indices(total: int, n: int = N_FRAMES) -> list[int]:
    """Tarsier's sampler v1 at test time: ``n`` frames evenly spaced with the first and last always taken
    (Python's ``round``: halves to even), or every frame of a video with ``n`` frames or fewer."""
    if n < 1:
        raise ValueError(f"num_frames must be at least 1, got {n}")
    if n == 1:
        return [0]
    if total <= n:
        return list(range(total))
    return [round(i * (total - 1) / (n - 1)) for i in range(n)]


def smart_resize(height: int, width: int, factor: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """(height, width) in multiples of ``factor`` with the area in ``[min_pixels, max_pixels]`` (transformers
    4.49's Qwen2-VL rule, which Tarsier also calls with ``factor=1`` for its own pre-resize)."""
    if height < factor or width < factor:
        raise ValueError(f"a {width}x{height} frame is smaller than {factor} pixels on a side: Tarsier2 cannot take it")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"the aspect ratio of a {width}x{height} frame is over 200: Tarsier2 cannot take it")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def frame_pixel_cap(n_images: int, max_pixels: int = MAX_PIXELS) -> int:
    """The per-frame pixel cap: ``max_pixels``, lowered when the sample's budget divided over its
    ``n_images`` frames (each video frame counted twice, see :func:`patchify`) is smaller."""
    share = MAX_PIXELS_PER_SAMPLE // n_images
    return share if share < max_pixels else max_pixels


@dataclass(frozen=True)
class ImageProcessorConfig:
    """The fields of a Qwen2-VL ``preprocessor_config.json`` that preprocessing uses."""

    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 1280
    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    image_mean: tuple[float, ...] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, ...] = (0.26862954, 0.26130258, 0.27577711)
    rescale_factor: float = 1 / 255
    resample: int = 3

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ImageProcessorConfig:
        """Read either layout: old (``min_pixels`` / ``max_pixels``, or ``size`` holding them) or new
        (``size: {shortest_edge, longest_edge}``)."""
        size = raw.get("size") or {}
        lo = raw.get("min_pixels", size.get("min_pixels", size.get("shortest_edge", cls.min_pixels)))
        hi = raw.get("max_pixels", size.get("max_pixels", size.get("longest_edge", cls.max_pixels)))
        keep = {k: raw[k] for k in ("patch_size", "temporal_patch_size", "merge_size", "rescale_factor", "resample")
                if k in raw}
        for k in ("image_mean", "image_std"):
            if k in raw:
                keep[k] = tuple(float(x) for x in raw[k])
        return cls(min_pixels=int(lo), max_pixels=int(hi), **keep)


def patchify(frames: Sequence[Any], cfg: ImageProcessorConfig) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Pixel patches of a frame sequence and its grid ``(t, h, w)``: each frame resized (PIL, the processor's
    resample filter) to multiples of patch x merge within its pixel bounds, rescaled in float64 then cast to
    float32, normalized, and cut into ``temporal_patch_size`` x ``patch_size``^2 patches in the processor's order."""
    from PIL import Image

    factor = cfg.patch_size * cfg.merge_size
    width, height = frames[0].size
    h, w = smart_resize(height, width, factor, cfg.min_pixels, cfg.max_pixels)
    mean = np.array(cfg.image_mean, dtype=np.float32)
    std = np.array(cfg.image_std, dtype=np.float32)
    out = []
    for frame in frames:
        if frame.size != (width, height):
            raise ValueError(f"frames of one video differ in size: {frame.size} and {(width, height)}")
        arr = np.asarray(frame.convert("RGB").resize((w, h), resample=Image.Resampling(cfg.resample)))
        arr = (arr.astype(np.float64) * cfg.rescale_factor).astype(np.float32)
        out.append(((arr - mean) / std).transpose(2, 0, 1))
    patches = np.stack(out)
    tp = cfg.temporal_patch_size
    if patches.shape[0] % tp:
        patches = np.concatenate([patches, np.repeat(patches[-1:], tp - patches.shape[0] % tp, axis=0)])
    gt, gh, gw = patches.shape[0] // tp, h // cfg.patch_size, w // cfg.patch_size
    m, ps, c = cfg.merge_size, cfg.patch_size, patches.shape[1]
    patches = patches.reshape(gt, tp, c, gh // m, m, ps, gw // m, m, ps).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return torch.from_numpy(np.ascontiguousarray(patches.reshape(gt * gh * gw, c * tp * ps * ps))), (gt, gh, gw)


def rope_positions(input_ids: torch.Tensor, grids: Sequence[Sequence[int]], image_token_id: int, merge: int,
                   attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Tarsier's 3-D (mrope) positions, ``(3, batch, length)``, and their offsets from 1-D positions.

    Text tokens count up by one; each run of image tokens (one vision item) takes ``(t, h, w)`` grid positions
    from the current count; the text after it starts at the item's largest position + 1. (transformers >= 5
    continues after a vision item from its spatial extent instead, which differs for videos; this is the
    reference's rule.) Padding positions are 1, as Tarsier fills them."""
    batch, length = input_ids.shape
    positions = torch.ones(3, batch, length, dtype=torch.long, device=input_ids.device)
    deltas = []
    items = iter(grids)
    for b in range(batch):
        keep = attention_mask[b].bool() if attention_mask is not None else torch.ones(length, dtype=torch.bool,
                                                                                         device=input_ids.device)
        ids = input_ids[b][keep].tolist()
        parts, cur, i = [], 0, 0
        while i < len(ids):
            if ids[i] != image_token_id:
                j = i
                while j < len(ids) and ids[j] != image_token_id:
                    j += 1
                parts.append(torch.arange(j - i).view(1, -1).expand(3, -1) + cur)
                cur += j - i
            else:
                j = i
                while j < len(ids) and ids[j] == image_token_id:
                    j += 1
                t, h, w = (int(x) for x in next(items))
                h, w = h // merge, w // merge
                if j - i != t * h * w:
                    raise ValueError(f"prompt {b} has a run of {j - i} image tokens where its vision item's grid "
                                     f"({t}, {h * merge}, {w * merge}) needs {t * h * w}")
                tt = torch.arange(t).view(-1, 1).expand(-1, h * w).flatten()
                hh = torch.arange(h).view(1, -1, 1).expand(t, -1, w).flatten()
                ww = torch.arange(w).view(1, 1, -1).expand(t, h, -1).flatten()
                block = torch.stack([tt, hh, ww]) + cur
                parts.append(block)
                cur = int(block.max()) + 1
            i = j
        row = torch.cat(parts, dim=1).to(input_ids.device)
        positions[:, b, keep] = row
        deltas.append(int(row.max()) + 1 - len(ids))
    return positions, torch.tensor(deltas, device=input_ids.device).unsqueeze(1)
