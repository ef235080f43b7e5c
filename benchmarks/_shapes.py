"""Shared by the VQAScore benchmark scripts: time a naive loop and t2v on several M x N shapes.

Each shape is timed in ``rounds`` rounds whose order alternates (naive first, then t2v first, ...), so that
a load change on a shared machine hits both paths alike; the medians are compared. Every round's scores of
the two paths must agree within ``tol`` (relative), or the script exits with an error.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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
