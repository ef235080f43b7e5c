"""Frame counts and frame sizes as the reference computes them (the rules of qwen-vl-utils 0.0.14).

Written out here rather than imported so that scores do not move when qwen-vl-utils changes its constants;
decoding is the core's (PyAV or decord), never qwen-vl-utils' readers.
"""

from __future__ import annotations

import math

SPATIAL_MERGE = 2
IMAGE_MIN_TOKENS = 4
IMAGE_MAX_TOKENS = 16384
VIDEO_MIN_TOKENS = 128
VIDEO_MAX_TOKENS = 768
MODEL_SEQ_LEN = 128000
FRAME_FACTOR = 2
DYNAMIC_FPS = 2.0
MIN_FRAMES = 4
MAX_FRAMES = 768
MAX_RATIO = 200
#: the reference asks for at most 360 x 420 pixels per video frame
REFERENCE_VIDEO_MAX_PIXELS = 360 * 420


def round_by(x: float, f: int) -> int:
    return round(x / f) * f


def ceil_by(x: float, f: int) -> int:
    return math.ceil(x / f) * f


def floor_by(x: float, f: int) -> int:
    return math.floor(x / f) * f


def smart_resize(height: int, width: int, factor: int, min_pixels: float, max_pixels: float) -> tuple[int, int]:
    """(height, width), both multiples of ``factor``, area within ``[min_pixels, max_pixels]``, aspect kept."""
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"the aspect ratio of a {width}x{height} image is over {MAX_RATIO}: Qwen-VL cannot take it; "
                         "crop or pad it first")
    h = max(factor, round_by(height, factor))
    w = max(factor, round_by(width, factor))
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h, w = floor_by(height / beta, factor), floor_by(width / beta, factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h, w = ceil_by(height * beta, factor), ceil_by(width * beta, factor)
    return h, w


def image_size(height: int, width: int, factor: int) -> tuple[int, int]:
    """The size an image is resized to before the processor (qwen-vl-utils ``fetch_image`` defaults)."""
    return smart_resize(height, width, factor, IMAGE_MIN_TOKENS * factor ** 2, IMAGE_MAX_TOKENS * factor ** 2)


def video_frame_count(total: int, video_fps: float | None, fps: float | None = None, num_frames: int | None = None,
                      source: str = "") -> int:
    """How many frames to sample: ``num_frames`` rounded to even, or ``total / video_fps * fps`` kept within
    [4, min(768, total)] and floored to even (qwen-vl-utils ``smart_nframes``)."""
    if total < FRAME_FACTOR:
        raise ValueError(f"video {source or '<frames>'} has {total} frame(s); Qwen-VL needs at least {FRAME_FACTOR} "
                         "(pass a single frame as an image instead)")
    if num_frames is not None:
        n = round_by(num_frames, FRAME_FACTOR)
    else:
        if not video_fps:
            raise ValueError(f"video {source or '<frames>'}: its frame rate is unknown, so it cannot be sampled at "
                             f"fps={fps}; pass num_frames=... instead")
        lo = ceil_by(MIN_FRAMES, FRAME_FACTOR)
        hi = floor_by(min(MAX_FRAMES, total), FRAME_FACTOR)
        n = floor_by(min(max(total / video_fps * (fps or DYNAMIC_FPS), lo), hi, total), FRAME_FACTOR)
    if not FRAME_FACTOR <= n <= total:
        raise ValueError(f"video {source or '<frames>'} has {total} frames; Qwen-VL samples an even number of "
                         f"frames between {FRAME_FACTOR} and the frame count, got {n}. Pass num_frames between "
                         f"{FRAME_FACTOR} and {total}")
    return n


def video_frame_size(height: int, width: int, nframes: int, factor: int,
                     max_pixels: float = REFERENCE_VIDEO_MAX_PIXELS) -> tuple[int, int]:
    """The size video frames are resized to before the processor (qwen-vl-utils ``fetch_video`` rules)."""
    min_pixels = VIDEO_MIN_TOKENS * factor ** 2
    total_pixels = MODEL_SEQ_LEN * factor ** 2 * 0.9
    limit = max(min(VIDEO_MAX_TOKENS * factor ** 2, total_pixels / nframes * FRAME_FACTOR), int(min_pixels * 1.05))
    return smart_resize(height, width, factor, min_pixels, min(max_pixels, limit))
