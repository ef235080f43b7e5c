"""Shared by the VQAScore benchmark scripts: time a naive loop and t2v on several M x N shapes.

Each shape is timed in ``rounds`` rounds whose order alternates (naive first, then t2v first, ...), so that
a load change on a shared machine hits both paths alike; the medians are compared. Every round's scores of
the two paths must agree within ``tol`` (relative), or the script exits with an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: the texts the image VQAScore scripts (LLaVA, CLIP-FlanT5) time; more than eight get a counter appended
TEXTS = ["a red cube on top of a blue sphere", "someone talks on the phone angrily while another person "
         "sits happily", "three apples and a banana", "The brown dog chases the black dog around the tree.",
         "a cat", "a snowy mountain at sunset with a lake in front", "two people shaking hands",
         "an astronaut riding a horse on the moon"]
#: image sizes used in turn: landscape, portrait, square, wide
SIZES = [(400, 300), (300, 420), (336, 336), (512, 256)]


def vqa_parser(doc: str, batch_default: str) -> argparse.ArgumentParser:
    """The options every image VQAScore script takes: shape (--images, --texts), model size (--hidden,
    --layers), --batch-size (``batch_default`` says the scorer's default) and --threads."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=None, help=f"default: the scorer's ({batch_default})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return parser


@contextmanager
def offline_hub(prefix: str, threads: int | None) -> Iterator[Path]:
    """A temporary offline Hugging Face cache folder (``HF_HUB_CACHE`` points at it), removed afterwards;
    ``threads`` sets torch's CPU threads when given."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update(HF_HUB_CACHE=str(tmp / "hub"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", T2V_PROGRESS="0")
    try:
        import torch

        if threads:
            torch.set_num_threads(threads)
        yield tmp / "hub"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_clip_tower(cache: Path, repo: str, vision: Any, state: dict[str, Any]) -> None:
    """Cache a CLIP tower repo ``repo``: ``vision`` (a ``CLIPVisionConfig``), the 336 px CLIP image processor
    of ``openai/clip-vit-large-patch14-336``, and ``state`` (``vision_model.*`` tensors) as safetensors."""
    import json

    from safetensors.torch import save_file

    from t2v_core.testing import make_fake_hf_cache

    preprocessor = {"crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_convert_rgb": True,
                    "do_normalize": True, "do_rescale": True, "do_resize": True,
                    "image_mean": [0.48145466, 0.4578275, 0.40821073],
                    "image_processor_type": "CLIPImageProcessor",
                    "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
                    "rescale_factor": 1 / 255, "size": {"shortest_edge": 336}}
    snap = make_fake_hf_cache(cache, repo, {"config.json": vision.to_json_string(),
                                            "preprocessor_config.json": json.dumps(preprocessor)})
    save_file(state, str(snap / "model.safetensors"), metadata={"format": "pt"})


def vqa_inputs(images: int, texts: int) -> tuple[list[Any], list[str]]:
    """``images`` random images (the four :data:`SIZES` in turn, image k seeded k) and ``texts`` texts."""
    from t2v_core.testing import random_images

    ims = [im for k in range(images) for im in random_images(1, size=SIZES[k % len(SIZES)], seed=k)]
    return ims, [TEXTS[k % len(TEXTS)] + ("" if k < len(TEXTS) else f" ({k})") for k in range(texts)]


def shapes(images: int, texts: int) -> list[tuple[int, int]]:
    """The shapes M x N, M x 1 and 1 x N (``--images M --texts N``), duplicates dropped."""
    out: list[tuple[int, int]] = []
    for shape in ((images, texts), (images, 1), (1, texts)):
        if shape not in out:
            out.append(shape)
    return out


def _relative(a: Any, b: Any) -> float:
    return float(((a - b).abs() / b.abs().clamp_min(1e-12)).max())


def compare(label: str, naive: Callable[[], Any], ours: Callable[[], Any], rounds: int = 3,
            tol: float = 1e-4) -> float:
    """Time ``naive()`` and ``ours()`` in alternating rounds, print one line, return naive / ours (medians)."""
    t_naive: list[float] = []
    t_ours: list[float] = []
    c_naive: list[float] = []
    c_ours: list[float] = []
    dev = 0.0
    for r in range(rounds):
        results = {}
        for name in (("naive", "ours") if r % 2 == 0 else ("ours", "naive")):
            fn = naive if name == "naive" else ours
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = fn()
            (t_naive if name == "naive" else t_ours).append(time.perf_counter() - t0)
            (c_naive if name == "naive" else c_ours).append(time.process_time() - c0)
        dev = max(dev, _relative(results["ours"], results["naive"]))
    tn, to = statistics.median(t_naive), statistics.median(t_ours)
    ratio = tn / to
    flag = "  SLOWER THAN THE NAIVE LOOP" if ratio < 1 else ""
    cpu = statistics.median(c_naive) / statistics.median(c_ours)
    # CPU time of this process as well: on a machine shared with other jobs, wall time also counts the
    # time the scheduler gave to others
    print(f"{label}: naive {tn:.2f} s, t2v {to:.2f} s, ratio {ratio:.2f}x (CPU time {statistics.median(c_naive):.2f} s"
          f" / {statistics.median(c_ours):.2f} s = {cpu:.2f}x; median of {rounds} alternating rounds; max relative "
          f"difference {dev:.1e}){flag}", flush=True)
    if not dev < tol:
        raise SystemExit(f"{label}: the two paths disagree (max relative difference {dev:.2e} >= {tol})")
    return ratio


def summary(ratios: Sequence[tuple[str, float]]) -> None:
    """The one line a README quotes."""
    print("summary: " + ", ".join(f"{label} {ratio:.2f}x" for label, ratio in ratios), flush=True)


def write_video(path: Path, seed: int, frames: int = 4, fps: int = 8, size: int = 224) -> str:
    """A short random-noise mp4 (``frames`` frames at ``fps``, ``size`` x ``size``)."""
    import av
    import numpy as np

    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return str(path)
