"""Benchmark: t2v-internvl's scorer vs a per-pair generate loop (the reference's way), 8 images x 8 texts.

A random-weight native InternVL checkpoint of benchmark size (448 px tiles and 256 image tokens per tile as
the real models; a 4-layer language model of width 256 and a 4-layer vision tower of width 128, narrow so
that the benchmark stays short on a small CPU) is written to a temporary offline
Hugging Face cache under OpenGVLab/InternVL3-1B-hf and loaded by name, so the production path runs. The
baseline builds the same prompt and pixels for every pair and calls ``model.generate(max_new_tokens=1,
output_scores=True)`` once per pair, as the reference implementation does. Both must give the same scores.

    python benchmarks/bench_internvl.py            # CPU, about 1-2 minutes
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-internvl-"))
# the random checkpoint is hundreds of MB: never leave it behind
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from t2v_internvl.testing import build_internvl_hf  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

N_IMAGES, N_TEXTS = 8, 8
TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a photo of a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def baseline(score: t2v_core.VQAScore, images: list[Image.Image], texts: list[str]) -> torch.Tensor:
    """One prompt, one image encoding and one ``generate`` call per pair."""
    scorer = score.model
    ivl, tok, model = scorer.ivl, scorer.tokenizer, scorer.model
    templates = scorer.templates()
    out = torch.empty(len(images), len(texts))
    for i, img in enumerate(images):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            visual = scorer.prepare_image(img)
            inputs = scorer.processor_inputs([scorer.render(question, _Prepared(visual))], [_Prepared(visual)])
            with torch.inference_mode():
                gen = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                                     pixel_values=inputs["pixel_values"].to(ivl.dtype), max_new_tokens=1,
                                     do_sample=False, output_scores=True, return_dict_in_generate=True,
                                     pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, tok.encode(answer, add_special_tokens=False)[0]]
    return out


class _Prepared:
    kind = "image"

    def __init__(self, data):
        self.data = data


def main() -> None:
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    t0 = time.perf_counter()
    folder = build_internvl_hf(ROOT / "ckpt", tile=448, patch=14, vision_hidden=128, vision_layers=4, text_hidden=256,
                               text_layers=4, heads=4, kv_heads=2, std=0.05)
    make_fake_hf_cache(ROOT / "hub", "OpenGVLab/InternVL3-1B-hf", folder)
    score = t2v_core.VQAScore(model="internvl3-1b", device="cpu", dtype="fp32", batch_size=8)
    print(f"built and loaded a benchmark-size checkpoint in {time.perf_counter() - t0:.1f}s "
          f"(tile {score.model.ivl.tile}px, {score.model.ivl.tokens_per_tile} image tokens per tile)")
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)) for _ in range(N_IMAGES)]
    texts = TEXTS[:N_TEXTS]

    score(images=images[:1], texts=texts[:2])  # warm-up
    baseline(score, images[:1], texts[:1])

    t = time.perf_counter()
    ours = score(images=images, texts=texts)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = baseline(score, images, texts)
    t_ref = time.perf_counter() - t

    dev = float(((ours - ref).abs() / ref.abs().clamp_min(1e-12)).max())
    print(f"{N_IMAGES} images x {N_TEXTS} texts on {'cpu'}: t2v-internvl scorer {t_ours:.2f}s, "
          f"per-pair generate loop {t_ref:.2f}s")
    print(f"max relative difference between the two: {dev:.2e}")
    print(f"speed-up (generate loop / scorer): {t_ref / t_ours:.2f}x")
    if dev > 1e-3:
        sys.exit("the scorer and the generate loop disagree")


if __name__ == "__main__":
    main()
