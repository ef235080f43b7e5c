"""Loading images and videos from whatever users hand us, with errors that name the item.

Images become RGB ``PIL.Image`` objects (EXIF orientation applied, alpha composited on white, palette and
grayscale converted). Videos stay lazy: a :class:`Video` knows its frame count and rate, and decodes only
the frames a scorer asks for, with PyAV (default) or decord. Nothing is written to disk and no ffmpeg
binary is needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from .errors import MediaError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpeg", ".mpg"}
#: the longest a whole URL download may take, in seconds (connect, headers and body together)
URL_TIMEOUT_S = 30.0
URL_MAX_BYTES = 200 * 1024 * 1024
#: the largest image (width x height, in pixels) that is decoded; a bigger one is refused before its pixels are
#: decoded (a "decompression bomb": a small file that would fill memory). Set ``t2v_core.media.MAX_IMAGE_PIXELS``
#: or the environment variable ``T2V_MAX_IMAGE_PIXELS`` to raise it; ``None`` or ``0`` removes the limit.
MAX_IMAGE_PIXELS: int | None = 16384 * 16384
VIDEO_BACKENDS = ("pyav", "decord")


def _describe(item: Any) -> str:
    if isinstance(item, (str, Path)):
        return repr(str(item))
    if isinstance(item, bytes):
        return f"<{len(item)} bytes>"
    shape = getattr(item, "shape", None)
    if shape is not None:
        return f"<{type(item).__name__} of shape {tuple(shape)}>"
    if isinstance(item, PILImage.Image):
        return f"<PIL image {item.mode} {item.size[0]}x{item.size[1]}>"
    if isinstance(item, (list, tuple)):
        return f"<{type(item).__name__} of {len(item)} frames>"
    return f"<{type(item).__name__}>"


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(index: int | None, item: Any, why: str, fix: str = "") -> MediaError:
    where = f"media item {index} ({_describe(item)})" if index is not None else f"media item {_describe(item)}"
    return MediaError(f"{where}: {why}" + (f". {fix}" if fix else ""))


# --------------------------------------------------------------------------------------------- images


ALPHA_MODES = ("drop", "white")


def _high_bit_depth_to_8bit(img: PILImage.Image) -> PILImage.Image:
    """16-bit (``I;16*``), 32-bit integer (``I``) and float (``F``) grey images as 8-bit ``L``, scaled rather
    than clipped (PIL's own ``convert("RGB")`` clips them, turning a 16-bit photo almost white)."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16"):
        scaled = arr.astype(np.float64) / 257.0
    elif img.mode == "F":
        hi = float(arr.max()) if arr.size else 0.0
        scaled = arr.astype(np.float64) * (255.0 if hi <= 1.0 else 1.0)
    else:  # "I": 16-bit PNGs and TIFFs land here; values above 255 mean a 16-bit range
        hi = int(arr.max()) if arr.size else 0
        scaled = arr.astype(np.float64) / (257.0 if hi > 255 else 1.0)
    return PILImage.fromarray(np.clip(np.round(scaled), 0, 255).astype(np.uint8), mode="L")


def to_rgb(img: PILImage.Image, alpha: str = "drop") -> PILImage.Image:
    """RGB view of any PIL image, EXIF orientation applied.

    ``alpha="drop"`` keeps the colour channels of a transparent image as they are, which is what the reference
    implementations do (``Image.open(p).convert("RGB")``) and so what published scores were computed on;
    ``alpha="white"`` composites it on white, as it looks in a viewer.
    """
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {alpha!r}")
    img = ImageOps.exif_transpose(img) or img
    if img.mode.startswith("I") or img.mode == "F":
        img = _high_bit_depth_to_8bit(img)
    if alpha == "drop":
        return img if img.mode == "RGB" else img.convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def _array_to_pil(arr: np.ndarray, index: int | None, item: Any, alpha: str = "drop") -> PILImage.Image:
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise _fail(index, item, f"expected an image array of shape HxW, HxWxC or CxHxW, but got {arr.shape}")
    if arr.shape[-1] not in (1, 3, 4) and arr.shape[0] in (1, 3, 4):
        arr = np.transpose(arr, (1, 2, 0))  # CHW -> HWC
    if arr.shape[-1] not in (1, 3, 4):
        raise _fail(index, item, f"expected 1, 3 or 4 channels, but got shape {arr.shape}")
    if 0 in arr.shape:
        raise _fail(index, item, "the image is empty")
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.complexfloating) or arr.dtype == np.object_ \
            or not np.issubdtype(arr.dtype, np.number):
        raise _fail(index, item, f"has dtype {arr.dtype}, which is not an image",
                    "Pass uint8 in [0, 255], uint16 in [0, 65535] or float in [0, 1]")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise _fail(index, item, "the image contains NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise _fail(index, item, f"float images must lie in [0, 1], but values span [{lo:.3g}, {hi:.3g}]",
                        "Scale to [0, 1] or pass uint8 in [0, 255]")
        arr = np.round(arr * 255.0).astype(np.uint8)
    elif arr.dtype == np.uint16:  # a 16-bit image: its full range maps onto 8 bits
        arr = np.round(arr.astype(np.float64) / 257.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        if arr.min() < 0 or arr.max() > 255:
            raise _fail(index, item, f"integer images must lie in [0, 255], got dtype {arr.dtype}")
        arr = arr.astype(np.uint8)
    if arr.shape[-1] == 1:
        return PILImage.fromarray(arr[:, :, 0], mode="L").convert("RGB")
    if arr.shape[-1] == 4:
        return to_rgb(PILImage.fromarray(arr, mode="RGBA"), alpha)
    return PILImage.fromarray(np.ascontiguousarray(arr), mode="RGB")


def _tensor_to_numpy(t: Any) -> np.ndarray:
    t = t.detach().cpu()
    if str(t.dtype) in ("torch.bfloat16", "torch.float16"):  # numpy has no bfloat16: widen (exact)
        t = t.float()
    return t.numpy()  # type: ignore[no-any-return]


def _open_image_bytes(data: bytes, index: int | None, item: Any, alpha: str = "drop") -> PILImage.Image:
    if not data:
        raise _fail(index, item, "the file is empty")
    limit = max_image_pixels()
    try:
        img = _open_unchecked(data)
        w, h = img.size
        if limit and w * h > limit:
            raise _fail(index, item, f"is {w}x{h} = {w * h} pixels, over the limit of {limit} pixels (a decompression "
                        "bomb guard)", "If the image is genuine, raise the limit: set t2v_core.media.MAX_IMAGE_PIXELS "
                        "or the environment variable T2V_MAX_IMAGE_PIXELS (0 = no limit)")
        img.load()
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise _fail(index, item, f"cannot be decoded as an image ({e})",
                    "Check that the file is a complete PNG/JPEG/WebP image") from e
    if img.size[0] == 0 or img.size[1] == 0:
        raise _fail(index, item, "the image is empty (0 pixels)")
    return to_rgb(img, alpha)


def max_image_pixels() -> int | None:
    """The pixel limit in force: ``T2V_MAX_IMAGE_PIXELS`` when set, else :data:`MAX_IMAGE_PIXELS`."""
    env = os.environ.get("T2V_MAX_IMAGE_PIXELS", "").strip()
    if env:
        try:
            return int(float(env)) or None
        except ValueError:
            raise MediaError(f"T2V_MAX_IMAGE_PIXELS={env!r} is not a number of pixels (use e.g. 300000000, or 0 "
                             "for no limit)") from None
    return MAX_IMAGE_PIXELS or None


_PIL_LIMIT_LOCK = threading.Lock()


def _open_unchecked(data: bytes) -> PILImage.Image:
    # PIL's own bomb check (a warning, then an error at twice its limit) would mask ours and ignore a limit the
    # user raised: it is switched off only while the header is read; our limit is checked before decoding
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        old = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            return PILImage.open(io.BytesIO(data))
        finally:
            PILImage.MAX_IMAGE_PIXELS = old


def fetch_url(url: str, index: int | None = None, timeout: float = URL_TIMEOUT_S,
              max_bytes: int = URL_MAX_BYTES) -> bytes:
    """Download a URL into memory within ``timeout`` seconds in all (not per read: a server that drips
    bytes cannot stretch it), and at most ``max_bytes``."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http(s) checked by caller
            length = resp.headers.get("Content-Length")
            if length is not None and int(length) > max_bytes:
                raise _fail(index, url, f"is {int(length)} bytes, over the {max_bytes}-byte limit")
            sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
            while size <= max_bytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the download did not finish within {timeout:g} s")
                if sock is not None:
                    sock.settimeout(left)  # one silent read cannot outlast the deadline either
                chunk = resp.read1(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except MediaError:
        raise
    except Exception as e:  # urllib raises many types: name them all the same way
        raise _fail(index, url, f"could not be downloaded ({type(e).__name__}: {e})",
                    "Check the address and your network, or download the file and pass its path") from e
    if size > max_bytes:
        raise _fail(index, url, f"is over the {max_bytes}-byte limit")
    return b"".join(chunks)


# --------------------------------------------------------------------------------------------- media


@dataclass
class Image:
    """A loaded image. ``image`` is RGB; ``source`` says where it came from (for errors and stores)."""

    image: PILImage.Image
    source: str = ""
    index: int = 0
    kind: str = field(default="image", init=False)
    _hash: str | None = field(default=None, repr=False)

    @property
    def hash(self) -> str:
        """A stable content hash of the decoded pixels (same for a path and the same image in memory)."""
        if self._hash is None:
            h = hashlib.sha256()
            h.update(f"image:{self.image.size[0]}x{self.image.size[1]}:".encode())
            h.update(self.image.tobytes())
            self._hash = h.hexdigest()
        return self._hash


@dataclass
class VideoInfo:
    """What is known about a video before decoding its frames."""

    num_frames: int
    fps: float | None
    width: int
    height: int

    @property
    def duration(self) -> float | None:
        """Length in seconds, when the frame rate is known."""
        return self.num_frames / self.fps if self.fps else None


@dataclass
class Clip:
    """Frames sampled from a video, with the indices they came from and the effective sampling rate."""

    frames: list[PILImage.Image]
    indices: list[int]
    source_fps: float | None
    sample_fps: float | None
    total_frames: int


class Video:
    """A video, decoded lazily. Built by :func:`load_media` from a path, URL, bytes or a list of frames."""

    kind = "video"

    def __init__(self, source: str, index: int = 0, *, path: str | None = None, data: bytes | None = None,
                 frames: list[PILImage.Image] | None = None, fps: float | None = None,
                 backend: str = "pyav") -> None:
        if backend not in VIDEO_BACKENDS:
            raise ValueError(f"expected video backend in {VIDEO_BACKENDS}, but got {backend!r}")
        self.source = source
        self.index = index
        self._path = path
        self._data = data
        self._frames = frames
        self._fps = fps
        self.backend = backend
        self._info: VideoInfo | None = None
        self._hash: str | None = None

    @classmethod
    def from_frames(cls, frames: Sequence[Any], fps: float | None = None, source: str = "") -> Video:
        """A video made of frames already in memory (PIL images or HxWxC arrays)."""
        pil = [f if isinstance(f, PILImage.Image) else _array_to_pil(np.asarray(f), None, f) for f in frames]
        if not pil:
            raise MediaError(f"video {source or '<frames>'}: the list of frames is empty")
        return cls(source or f"<{len(pil)} frames>", frames=[to_rgb(f) for f in pil], fps=fps)

    @property
    def path(self) -> str | None:
        """The file the video was read from, if it came from a local file."""
        return self._path

    def read_bytes(self) -> bytes | None:
        """The encoded video (file or downloaded bytes), or ``None`` for a video made of frames."""
        if self._data is not None:
            return self._data
        if self._path is not None:
            with open(self._path, "rb") as fh:
                return fh.read()
        return None

    # -- metadata
    @property
    def info(self) -> VideoInfo:
        """Frame count, frame rate and size (probes the container; decodes frames only if it must)."""
        if self._info is None:
            self._info = self._probe()
        return self._info

    def _open_av(self) -> Any:
        import av

        target: Any = self._path if self._path is not None else io.BytesIO(self._data or b"")
        return av.open(target)

    def _probe(self) -> VideoInfo:
        if self._frames is not None:
            w, h = self._frames[0].size
            return VideoInfo(len(self._frames), self._fps, w, h)
        if self.backend == "decord":
            vr = self._decord_reader()
            first = vr[0].shape
            return VideoInfo(len(vr), float(vr.get_avg_fps()), int(first[1]), int(first[0]))
        try:
            with self._open_av() as container:
                if not container.streams.video:
                    raise _fail(self.index, self.source, "has no video stream")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                fps = float(rate) if rate else None
                n = int(stream.frames or 0)
                if n <= 0:  # some containers do not record a frame count: count by decoding
                    n = sum(1 for _ in container.decode(stream))
                width, height = stream.codec_context.width, stream.codec_context.height
        except MediaError:
            raise
        except Exception as e:
            raise _fail(self.index, self.source, f"cannot be decoded as a video ({type(e).__name__}: {e})",
                        "Check that the file is a complete .mp4/.avi/.mov/.mkv/.webm video") from e
        if n <= 0:
            raise _fail(self.index, self.source, "the video has no frames")
        return VideoInfo(n, fps, width, height)

    def _decord_reader(self) -> Any:
        try:
            import decord
        except ImportError as e:
            raise ModuleNotFoundError(
                "video backend 'decord' needs the decord package: pip install 't2v-core[decord]'"
            ) from e
        src: Any = self._path if self._path is not None else io.BytesIO(self._data or b"")
        try:
            return decord.VideoReader(src, ctx=decord.cpu(0), num_threads=1)
        except Exception as e:
            raise _fail(self.index, self.source, f"cannot be decoded as a video by decord ({e})") from e

    # -- frames
    def frames(self, indices: Sequence[int]) -> list[PILImage.Image]:
        """Decode the frames at ``indices`` (any order, repeats allowed) as RGB PIL images."""
        n = self.info.num_frames
        bad = [i for i in indices if not 0 <= int(i) < n]
        if bad:
            raise _fail(self.index, self.source, f"frame indices {bad[:5]} are outside 0..{n - 1}")
        if self._frames is not None:
            return [self._frames[int(i)] for i in indices]
        if self.backend == "decord":
            batch = self._decord_reader().get_batch([int(i) for i in indices]).asnumpy()
            return [PILImage.fromarray(f) for f in batch]
        wanted = sorted({int(i) for i in indices})
        got: dict[int, PILImage.Image] = {}
        try:
            with self._open_av() as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                last = wanted[-1]
                for k, frame in enumerate(container.decode(stream)):
                    if k in wanted:
                        got[k] = frame.to_image().convert("RGB")
                    if k >= last:
                        break
        except Exception as e:
            raise _fail(self.index, self.source, f"failed while decoding frames ({type(e).__name__}: {e})") from e
        missing = [i for i in wanted if i not in got]
        if missing:
            raise _fail(self.index, self.source, f"frames {missing[:5]} could not be decoded (truncated file?)")
        return [got[int(i)] for i in indices]

    def sample(self, num_frames: int | None = None, fps: float | None = None) -> Clip:
        """Sample ``num_frames`` frames uniformly, or frames at ``fps``; all frames if neither is given."""
        info = self.info
        if num_frames is not None and fps is not None:
            raise ValueError("pass num_frames or fps, not both")
        if fps is not None:
            idx = fps_indices(info.num_frames, info.fps, fps, source=self.source)
            sample_fps: float | None = fps if info.fps is None else min(fps, info.fps)
        elif num_frames is not None:
            idx = uniform_indices(info.num_frames, num_frames)
            sample_fps = (len(idx) / info.duration) if info.duration else None
        else:
            idx = list(range(info.num_frames))
            sample_fps = info.fps
        return Clip(self.frames(idx), idx, info.fps, sample_fps, info.num_frames)

    @property
    def hash(self) -> str:
        """A stable content hash: of the file's bytes, or of the frames' pixels."""
        if self._hash is None:
            h = hashlib.sha256(b"video:")
            if self._frames is not None:
                for f in self._frames:
                    h.update(f"{f.size}".encode())
                    h.update(f.tobytes())
            elif self._path is not None:
                with open(self._path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            else:
                h.update(self._data or b"")
            self._hash = h.hexdigest()
        return self._hash

    def __repr__(self) -> str:
        return f"Video({self.source!r})"


Media = Image | Video


def uniform_indices(total: int, num_frames: int) -> list[int]:
    """``num_frames`` indices spread evenly over ``total`` frames, first and last included."""
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    if total <= 0:
        raise ValueError("the video has no frames")
    return [int(np.floor(x + 0.5)) for x in np.linspace(0, total - 1, num_frames)]  # half up, not banker's


def fps_indices(total: int, source_fps: float | None, fps: float, source: str = "") -> list[int]:
    """Indices that sample a ``source_fps`` video at ``fps`` frames per second (never more than every frame)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not source_fps:
        raise MediaError(
            f"video {source or '<frames>'}: its frame rate is unknown, so it cannot be sampled at fps={fps}; "
            "pass num_frames instead, or build it with t2v_core.media.Video.from_frames(frames, fps=...)"
        )
    n = max(1, int(round(total / source_fps * min(fps, source_fps))))
    return uniform_indices(total, n)


def expand_to_square(img: PILImage.Image, fill: tuple[int, ...]) -> PILImage.Image:
    """``img`` centred on a square canvas of its longer side filled with ``fill`` (the LLaVA code's
    ``expand2square``, which CLIP-FlanT5 and LLaVA preprocess with); a square image is returned as is."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    canvas = PILImage.new(img.mode, (side, side), fill)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def concat_frames(frames: Sequence[PILImage.Image], gap: int = 0, color: tuple[int, int, int] = (0, 0, 0)
                  ) -> PILImage.Image:
    """Frames side by side (left to right) on one canvas, ``gap`` pixels apart: how image-only models see
    a video. Frames of different heights are scaled to the first frame's height."""
    if not frames:
        raise ValueError("no frames to concatenate")
    h = frames[0].size[1]
    scaled = [f if f.size[1] == h else f.resize((max(1, round(f.size[0] * h / f.size[1])), h)) for f in frames]
    width = sum(f.size[0] for f in scaled) + gap * (len(scaled) - 1)
    canvas = PILImage.new("RGB", (width, h), color)
    x = 0
    for f in scaled:
        canvas.paste(f, (x, 0))
        x += f.size[0] + gap
    return canvas


def _is_video_path(p: str) -> bool:
    return Path(p.split("?")[0]).suffix.lower() in VIDEO_SUFFIXES


def _looks_like_video_bytes(data: bytes) -> bool:
    head = data[:64]
    return (head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3" or head[:4] == b"RIFF" and head[8:12] == b"AVI "
            or head[:3] == b"\x00\x00\x01")


def load_media(item: Any, index: int = 0, *, video_backend: str = "pyav", allow_video: bool = True,
               alpha: str = "drop") -> Media:
    """Load one media item; raises :class:`MediaError` naming ``index`` and the item if it cannot be used.

    Accepted: a path (str or Path) to an image or video; an http(s) URL; raw bytes; a PIL image; a numpy
    array (HxW, HxWxC or CxHxW; uint8 or float in [0, 1]); a torch tensor (CxHxW or HxWxC); a 4-D
    array/tensor (TxHxWxC or TxCxHxW) or a list of frames (a video); an already loaded Image or Video.
    ``alpha`` says what happens to transparency (see :func:`to_rgb`).
    """
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {alpha!r}")
    if isinstance(item, (Image, Video)):
        media: Media = item
    elif isinstance(item, PILImage.Image):
        if item.size[0] == 0 or item.size[1] == 0:
            raise _fail(index, item, "the image is empty (0 pixels)")
        media = Image(to_rgb(item, alpha), source=_describe(item), index=index)
    elif isinstance(item, (str, os.PathLike)):
        text = os.fspath(item)
        if not text.strip():
            raise _fail(index, item, "is an empty path")
        if text.startswith(("http://", "https://")):
            data = fetch_url(text, index)
            if _is_video_path(text) or _looks_like_video_bytes(data):
                media = Video(text, index, data=data, backend="pyav")
            else:
                media = Image(_open_image_bytes(data, index, text, alpha), source=text, index=index)
        else:
            path = Path(text).expanduser()
            if not path.exists():
                raise _fail(index, item, "does not exist", f"Check the path (working directory: {os.getcwd()})")
            if path.is_dir():
                raise _fail(index, item, "is a folder, not a file")
            if path.stat().st_size == 0:
                raise _fail(index, item, "the file is empty")
            if path.suffix.lower() in VIDEO_SUFFIXES:
                media = Video(str(path), index, path=str(path), backend=video_backend)
            elif path.suffix.lower() in IMAGE_SUFFIXES or not path.suffix:
                media = Image(_open_image_bytes(path.read_bytes(), index, item, alpha), source=str(path), index=index)
            else:
                raise _fail(index, item, f"has an unsupported extension {path.suffix!r}",
                            f"Images: {sorted(IMAGE_SUFFIXES)}; videos: {sorted(VIDEO_SUFFIXES)}")
    elif isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        if not data:
            raise _fail(index, item, "is empty (0 bytes)")
        if _looks_like_video_bytes(data):
            media = Video(f"<{len(data)} bytes>", index, data=data)
        else:
            media = Image(_open_image_bytes(data, index, item, alpha), source=_describe(item), index=index)
    elif isinstance(item, (list, tuple)):
        if not item:
            raise _fail(index, item, "is an empty list of frames")
        frames = [load_media(f, index, allow_video=False, alpha=alpha) for f in item]
        media = Video(_describe(item), index, frames=[f.image for f in frames if isinstance(f, Image)])
    elif isinstance(item, np.ndarray) or type(item).__module__.startswith("torch"):
        arr = item if isinstance(item, np.ndarray) else _tensor_to_numpy(item)
        if arr.ndim == 4:
            if arr.shape[0] == 0:
                raise _fail(index, item, "is a video with no frames")
            frames_arr = arr if arr.shape[-1] in (1, 3, 4) else np.transpose(arr, (0, 2, 3, 1))
            media = Video(_describe(item), index, frames=[_array_to_pil(f, index, item, alpha) for f in frames_arr])
        else:
            media = Image(_array_to_pil(arr, index, item, alpha), source=_describe(item), index=index)
    else:
        raise _fail(index, item, f"has unsupported type {type(item).__name__}",
                    "Pass a path, URL, bytes, PIL image, numpy array, torch tensor or a list of frames")
    if isinstance(media, Video):
        if not allow_video:
            raise _fail(index, item, "is a video, but an image was expected here")
        media.index = index
        media.info  # noqa: B018 - probe now so that a broken file fails with its index, not mid-run
    return media


def load_all(items: Sequence[Any], *, video_backend: str = "pyav", accepted: Sequence[str] = ("image", "video"),
             model: str = "", alpha: str = "drop", first_index: int = 0) -> list[Media]:
    """Load every item (each once), checking that its kind is one the model accepts.

    ``first_index`` is the index of ``items[0]`` in the caller's list (so errors name the right item when a
    list is loaded piece by piece)."""
    if isinstance(items, (str, os.PathLike, PILImage.Image, bytes, bytearray, memoryview, Image, Video)) \
            or getattr(items, "ndim", None) in (2, 3):
        items = [items]
    elif isinstance(items, dict) or not hasattr(items, "__iter__"):
        raise MediaError(f"images/videos is a {type(items).__name__} ({_short(items)}); pass a media item (a path, "
                         "URL, PIL image, array, tensor) or a list of them")
    out = []
    for i, item in enumerate(items, first_index):
        m = load_media(item, i, video_backend=video_backend, alpha=alpha)
        if m.kind not in accepted:
            raise _fail(i, item, f"is a {m.kind}, but model {model!r} accepts only {'/'.join(accepted)}",
                        "Choose a model that accepts videos (`t2v models`) or pass frames as images")
        out.append(m)
    if not out:
        raise MediaError("no media given: pass at least one image or video")
    return out
