"""LLaVA-1.6's AnyRes image path, as its authors' code runs it (``image_aspect_ratio="anyres"``,
``mm_patch_merge_type="spatial_unpad"``), for users who want LLaVA-1.6 as published rather than the reference's
one padded tile.

Preprocessing: choose the grid resolution (``image_grid_pinpoints``, each ``(width, height)``) that keeps the
most of the image and wastes the least; resize the image into it keeping its aspect ratio and centre it on a
black canvas; cut that into tower-sized tiles; put the whole image resized to one tile first.
Features: every tile through the tower and projector; the grid tiles laid back into one feature map, the rows
and columns that only hold padding cut off, ``image_newline`` appended after every row; the base tile's
features first.

Sizes are ``(width, height)`` throughout, as PIL and the authors' code have them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image as PILImage


def select_best_resolution(size: tuple[int, int], resolutions: Sequence[Sequence[int]]) -> tuple[int, int]:
    """The ``(width, height)`` of ``resolutions`` that shows ``size`` at the highest effective resolution, then
    with the least waste."""
    w, h = size
    best: tuple[int, int] | None = None
    best_key = (-1, 0)
    for rw, rh in resolutions:
        scale = min(rw / w, rh / h)
        effective = min(int(w * scale) * int(h * scale), w * h)
        key = (effective, -(rw * rh - effective))
        if key > best_key:
            best, best_key = (int(rw), int(rh)), key
    if best is None:
        raise ValueError("image_grid_pinpoints is empty")
    return best


def resize_and_pad(image: PILImage.Image, target: tuple[int, int]) -> PILImage.Image:
    """``image`` resized to fit ``target`` (aspect kept, bicubic) and centred on a black canvas of that size."""
    w, h = image.size
    tw, th = target
    sw, sh = tw / w, th / h
    if sw < sh:
        nw, nh = tw, min(math.ceil(h * sw), th)
    else:
        nw, nh = min(math.ceil(w * sh), tw), th
    canvas = PILImage.new("RGB", (tw, th), (0, 0, 0))
    canvas.paste(image.resize((nw, nh), PILImage.Resampling.BICUBIC), ((tw - nw) // 2, (th - nh) // 2))
    return canvas


def tiles(image: PILImage.Image, pinpoints: Sequence[Sequence[int]], tile: int) -> tuple[list[PILImage.Image],
                                                                                       tuple[int, int]]:
    """The base tile (the whole image resized to ``tile`` x ``tile``) then the grid tiles, row by row; and the
    grid's ``(columns, rows)``."""
    target = select_best_resolution(image.size, pinpoints)
    padded = resize_and_pad(image, target)
    grid = [padded.crop((x, y, x + tile, y + tile)) for y in range(0, target[1], tile) for x in range(0, target[0], tile)]
    base = image.resize((tile, tile), PILImage.Resampling.BICUBIC)
    return [base] + grid, (target[0] // tile, target[1] // tile)


def unpad(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cut the padding rows or columns off a ``(dim, H, W)`` feature map of an image of ``size`` (w, h)."""
    w, h = size
    cur_h, cur_w = features.shape[1:]
    if w / h > cur_w / cur_h:
        new_h = int(h * (cur_w / w))
        pad = (cur_h - new_h) // 2
        return features[:, pad:cur_h - pad, :]
    new_w = int(w * (cur_h / h))
    pad = (cur_w - new_w) // 2
    return features[:, :, pad:cur_w - pad]


def pack(features: torch.Tensor, grid: tuple[int, int], size: tuple[int, int], newline: torch.Tensor | None,
         merge: str) -> torch.Tensor:
    """One image's token sequence from its tile features ``(1 + cols*rows, side*side, dim)``."""
    base, rest = features[0], features[1:]
    if merge == "flat":
        return torch.cat([base, rest.flatten(0, 1)])
    if merge != "spatial_unpad":
        raise ValueError(f"unsupported mm_patch_merge_type {merge!r} (expected 'spatial_unpad' or 'flat')")
    if newline is None:
        raise ValueError("mm_patch_merge_type 'spatial_unpad' needs model.image_newline in the checkpoint")
    cols, rows = grid
    side = math.isqrt(rest.shape[1])
    fmap = rest.view(rows, cols, side, side, -1).permute(4, 0, 2, 1, 3).flatten(1, 2).flatten(2, 3)
    fmap = unpad(fmap, size)
    fmap = torch.cat([fmap, newline.to(fmap.dtype)[:, None, None].expand(*fmap.shape[:-1], 1)], dim=-1)
    return torch.cat([base, fmap.flatten(1, 2).transpose(0, 1)])
