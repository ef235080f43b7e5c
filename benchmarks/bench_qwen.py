"""Benchmark: t2v-qwen's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop (the reference's way).

8 images x 8 texts and 4 videos x 4 texts on a random-weight Qwen2.5-VL checkpoint of benchmark size: a 4-layer
language model of width 256, a 4-layer vision tower of width 128 (narrow so that the run stays short on a small
CPU), and the real processor geometry (14 px patches, merge 2, pixel bounds 3136..12845056), fed 448 x 448
images, i.e. 1024 patches and 256 image tokens each, as the real models see them. The checkpoint is written
to a temporary offline Hugging Face cache under ``Qwen/Qwen2.5-VL-7B-Instruct`` and loaded by name, so the
production path runs. The baseline builds the same prompt and pixels for every pair and calls ``generate``
once per pair, as the reference implementation does; both must give the same scores.

    python benchmarks/bench_qwen.py            # CPU, about 1-2 minutes (T2V_BENCH_THREADS=2 for two threads)
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-qwen-"))
# the random checkpoint is hundreds of MB: never leave it behind
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import av  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from t2v_hf.testing import build_tiny_qwen_vl  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def write_video(path: Path, seed: int, frames: int = 4, fps: int = 8, size: int = 224) -> str:
    """A short random-noise mp4 (0.5 s at 8 fps, 224 x 224; qwen-vl-utils' rules upscale frames to ~316 px)."""
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


def baseline(score: t2v_core.VQAScore, media: list, texts: list[str], **call) -> torch.Tensor:
    """The reference's loop: per pair, preprocess the media, run the processor, ``generate(max_new_tokens=1)``."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(media), len(texts))
    for i, item in enumerate(media):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            prepared = scorer.prepare(item, **call)  # fetch_image / fetch_video again for every pair
            inputs = scorer.processor_inputs([scorer.render(question, prepared)], [prepared])
            with torch.inference_mode():
                gen = scorer.model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                            return_dict_in_generate=True, pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def timed(fn, *args, **kwargs):
    """Result, wall seconds and CPU seconds of this process (the latter is less sensitive to a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    torch.manual_seed(0)
    # One intra-op thread by default: on a busy shared CPU, two OpenMP threads spend most of their time waiting
    # for each other at barriers (5x slower small matmuls here), which buries both timings in noise.
    torch.set_num_threads(int(os.environ.get("T2V_BENCH_THREADS", "1")))
    folder = build_tiny_qwen_vl(ROOT / "ckpt", family="qwen2_5_vl", hidden=256, layers=4, heads=4, kv_heads=2,
                                vision_depth=4, vision_hidden=128, vocab_size=2000, min_pixels=3136,
                                max_pixels=12845056, std=0.05, corpus=TEXTS)
    make_fake_hf_cache(ROOT / "hub", "Qwen/Qwen2.5-VL-7B-Instruct", folder)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=8)
    rng = np.random.default_rng(0)
    images = [load_media(Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8))) for _ in range(8)]
    videos = [load_media(write_video(ROOT / f"v{k}.mp4", k)) for k in range(4)]
    threads = torch.get_num_threads()
    print(f"Qwen2.5-VL benchmark checkpoint: LM 4 x 256, vision 4 x 128, 448 px images (256 image tokens); "
          f"CPU, {threads} threads")

    results = []
    for label, media, texts, call in [("images 8 x 8", images, TEXTS, {}),
                                      ("videos 4 x 4 (fps 8, 4 frames)", videos, TEXTS[:4], {"fps": 8.0})]:
        opts = score.model.resolve_options(**call)
        # warm both paths up (first calls pay one-off allocation and kernel-selection costs)
        score(images=media[:1], texts=texts[:2], **call)
        baseline(score, media[:1], texts[:1], **opts)
        naive, t_naive, c_naive = timed(baseline, score, media, texts, **opts)
        ours, t_ours, c_ours = timed(score, images=media, texts=texts, **call)
        dev = float(((ours - naive).abs() / naive.abs()).max())
        results.append((label, t_naive / t_ours, c_naive / c_ours))
        print(f"{label}: per-pair generate loop {t_naive:.2f} s (cpu {c_naive:.1f} s), t2v-qwen {t_ours:.2f} s "
              f"(cpu {c_ours:.1f} s): ratio {t_naive / t_ours:.1f}x wall, {c_naive / c_ours:.1f}x cpu "
              f"(max relative difference {dev:.1e})")
        assert dev < 1e-4, f"scores differ from the baseline by {dev}"
    print("summary: " + ", ".join(f"{label} {rw:.1f}x wall / {rc:.1f}x cpu" for label, rw, rc in results))


if __name__ == "__main__":
    main()
