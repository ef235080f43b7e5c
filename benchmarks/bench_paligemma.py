"""Benchmark: t2v-paligemma's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

8 images x 8 texts on a random-weight PaliGemma checkpoint of benchmark size (a 4-layer Gemma of width 256, a
2-layer SigLIP of width 128, 224 px images: 256 image tokens, as ``paligemma-3b-mix-224``), cached under
``google/paligemma-3b-mix-224`` and loaded by name. PaliGemma's prefix-LM attention rules out prefix reuse, so
the gain is batching whole prompts. The baseline calls the processor on the question and ``generate`` per pair. Both must give
the same scores.

    python benchmarks/bench_paligemma.py
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-paligemma-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from t2v_paligemma.testing import build_tiny_paligemma  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def baseline(score: t2v_core.VQAScore, images: list, texts: list[str]) -> torch.Tensor:
    """The reference's loop: per pair, the processor on the question and ``generate(max_new_tokens=1)``."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(images), len(texts))
    for i, image in enumerate(images):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            inputs = scorer.processor(text=question, images=image, return_tensors="pt")
            inputs.pop("labels")
            with torch.inference_mode():
                gen = scorer.model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                            return_dict_in_generate=True, pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def timed(fn, *args, **kwargs):
    """Result, wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("T2V_BENCH_THREADS", "1")))
    folder = build_tiny_paligemma(ROOT / "ckpt", image_size=224, patch=14, hidden=256, layers=4, vision_hidden=128, std=0.05)
    make_fake_hf_cache(ROOT / "hub", "google/paligemma-3b-mix-224", folder)
    score = t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu", batch_size=8)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)) for _ in range(8)]
    print(f"PaliGemma benchmark checkpoint: Gemma LM 4 x 256, SigLIP 2 x 128, 224 px images (256 image tokens); CPU, {torch.get_num_threads()} threads")
    score(images=images[:1], texts=TEXTS[:2])
    baseline(score, images[:1], TEXTS[:1])
    naive, t_naive, c_naive = timed(baseline, score, images, TEXTS)
    ours, t_ours, c_ours = timed(score, images=images, texts=TEXTS)
    dev = float(((ours - naive).abs() / naive.abs()).max())
    print(f"images 8 x 8: per-pair generate loop {t_naive:.2f} s (cpu {c_naive:.1f} s), t2v-paligemma {t_ours:.2f} s "
          f"(cpu {c_ours:.1f} s): ratio {t_naive / t_ours:.1f}x wall, {c_naive / c_ours:.1f}x cpu "
          f"(max relative difference {dev:.1e})")
    assert dev < 1e-4, f"scores differ from the baseline by {dev}"
    print(f"summary: images 8 x 8 {t_naive / t_ours:.1f}x wall / {c_naive / c_ours:.1f}x cpu")


if __name__ == "__main__":
    main()
