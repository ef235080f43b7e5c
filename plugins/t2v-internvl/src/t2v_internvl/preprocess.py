"""InternVL's own image and video preprocessing, as the family's reference code defines it.

An image is resized onto the grid of ``tile x tile`` squares (448 px for every released checkpoint) whose
aspect ratio is closest to the image's, cut into those tiles (at most ``max_tiles``, 12 by default), and, when
it makes more than one tile, followed by a thumbnail of the whole image at tile size. A video frame is always
one tile. Resizing uses PIL's bicubic filter on 8-bit pixels, as the reference does, so scores match it.

The user turn puts one ``<image>`` placeholder per picture: ``"<image>\\n{question}"`` for an image and
``"Frame1: <image>\\nFrame2: <image>\\n...{question}"`` for a video; each placeholder becomes
``<img>`` + ``<IMG_CONTEXT>`` x (tokens per tile x tiles) + ``</img>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image as PILImage

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_PLACEHOLDER = "<image>"
IMG_START, IMG_END, IMG_CONTEXT = "<img>", "</img>", "<IMG_CONTEXT>"


def candidate_grids(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """Every (columns, rows) grid with between ``min_tiles`` and ``max_tiles`` tiles, fewest tiles first."""
    grids = {(c, r) for n in range(min_tiles, max_tiles + 1) for c in range(1, n + 1) for r in range(1, n + 1)
             if min_tiles <= c * r <= max_tiles}
    return sorted(grids, key=lambda g: g[0] * g[1])


def best_grid(width: int, height: int, tile: int, max_tiles: int, min_tiles: int = 1) -> tuple[int, int]:
    """The grid whose aspect ratio is closest to the image's.

    On a tie (same ratio, e.g. 1x1 and 2x2) the larger grid wins only while the image has more than half the
    pixels of that grid, so small images are not blown up into many tiles.
    """
    aspect = width / height
    area = width * height
    best, best_diff = (1, 1), float("inf")
    for cols, rows in candidate_grids(min_tiles, max_tiles):
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best, best_diff = (cols, rows), diff
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best


def tile_image(image: PILImage.Image, tile: int = 448, max_tiles: int = 12, thumbnail: bool = True
               ) -> list[PILImage.Image]:
    """Cut ``image`` into tiles (row by row), plus a whole-image thumbnail when there is more than one tile."""
    if max_tiles < 1:
        raise ValueError(f"max_tiles must be at least 1, got {max_tiles}")
    width, height = image.size
    cols, rows = best_grid(width, height, tile, max_tiles)
    resized = image.resize((cols * tile, rows * tile), PILImage.BICUBIC)
    tiles = [resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile))
             for r in range(rows) for c in range(cols)]
    if thumbnail and len(tiles) > 1:
        tiles.append(image.resize((tile, tile), PILImage.BICUBIC))
    return tiles


def to_pixels(tiles: Sequence[PILImage.Image], tile: int, mean: Sequence[float] = IMAGENET_MEAN,
              std: Sequence[float] = IMAGENET_STD) -> torch.Tensor:
    """Tiles as a normalized float tensor ``(n_tiles, 3, tile, tile)``."""
    out = []
    for t in tiles:
        if t.size != (tile, tile):
            t = t.resize((tile, tile), PILImage.BICUBIC)
        arr = torch.from_numpy(np.asarray(t.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1)
        out.append(arr.float().div(255.0))
    pixels = torch.stack(out)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (pixels - m) / s


def video_indices(total_frames: int, num_frames: int) -> list[int]:
    """The reference's frame choice: the middle of each of ``num_frames`` equal segments of the video."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    if total_frames < 1:
        raise ValueError("the video has no frames")
    last = total_frames - 1
    seg = last / num_frames
    return [min(last, int(seg / 2 + np.round(seg * i))) for i in range(num_frames)]


@dataclass
class Visual:
    """One media item, ready for the model: its tiles and how its user turn begins."""

    pixels: torch.Tensor  # (n_tiles, 3, tile, tile)
    tiles_per_placeholder: list[int]  # one entry per <image> placeholder, in order
    prefix: str  # the user text before the question ("<image>\n" or "Frame1: <image>\n...")

    @property
    def num_tiles(self) -> int:
        """How many tiles the vision tower encodes for this item."""
        return int(self.pixels.shape[0])


def image_visual(image: PILImage.Image, tile: int, max_tiles: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> Visual:
    """An image as dynamic tiles plus thumbnail, behind a single ``<image>`` placeholder."""
    tiles = tile_image(image.convert("RGB"), tile, max_tiles)
    return Visual(to_pixels(tiles, tile, mean, std), [len(tiles)], IMAGE_PLACEHOLDER + "\n")


def video_visual(frames: Sequence[PILImage.Image], tile: int, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> Visual:
    """Video frames, one tile each, laid out as ``Frame1: <image>\\nFrame2: <image>\\n...``."""
    tiles = [f.convert("RGB").resize((tile, tile), PILImage.BICUBIC) for f in frames]
    prefix = "".join(f"Frame{i + 1}: {IMAGE_PLACEHOLDER}\n" for i in range(len(tiles)))
    return Visual(to_pixels(tiles, tile, mean, std), [1] * len(tiles), prefix)


def expand_placeholders(text: str, tiles_per_placeholder: Sequence[int], tokens_per_tile: int) -> str:
    """Replace each ``<image>`` in order by ``<img>`` + the context tokens of its tiles + ``</img>``."""
    for n in tiles_per_placeholder:
        if IMAGE_PLACEHOLDER not in text:
            raise ValueError("the prompt has fewer <image> placeholders than pictures")
        text = text.replace(IMAGE_PLACEHOLDER, IMG_START + IMG_CONTEXT * (tokens_per_tile * n) + IMG_END, 1)
    return text
