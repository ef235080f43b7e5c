"""Benchmark: t2v-internvl's scorer vs a reference-shaped per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, and 4 x 4 on
videos (4 frames, one tile each), each timed in 3 alternating rounds (medians compared). A random-weight
native InternVL checkpoint of benchmark size (448 px tiles and 256 image tokens per tile as the real models;
a 4-layer language model of width 256 and a 4-layer vision tower of width 128, narrow so that the benchmark
stays short on a small CPU) is written to a temporary offline Hugging Face cache under
OpenGVLab/InternVL3-1B-hf and loaded by name, so the production path runs.

The baseline has the reference's loop shape (t2v_metrics 880a5b8): ``Score.forward`` calls the model once
per image row with ``[image] * N``; the reference's InternVL wrapper then preprocesses every copy (dynamic
tiling, or frame sampling for a video) and, for every pair, builds one prompt with the image tokens expanded
and calls ``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's scores at the
answer's first token. How it differs from the real reference: it runs t2v's own loaded native model and
preprocessing (the same numbers as t2v, checked within 1e-4) in float32 with the installed transformers and
its default CPU attention, while the reference runs the remote-code model in bfloat16 with flash attention.

    python benchmarks/bench_internvl.py [--images 8] [--texts 8] [--rounds 3] [--threads 1] [--no-video]

CPU, a few minutes with the defaults.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
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
from _shapes import compare, shapes, summary, write_video  # noqa: E402
from PIL import Image  # noqa: E402
from t2v_internvl.testing import build_internvl_hf  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a photo of a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def baseline(score: t2v_core.VQAScore, media: list, texts: list[str], **call) -> torch.Tensor:
    """The reference's loop: per pair, preprocess the media, build one prompt, ``generate(max_new_tokens=1)``."""
    scorer = score.model
    ivl, tok, model = scorer.ivl, scorer.tokenizer, scorer.model
    templates = scorer.templates()
    out = torch.empty(len(media), len(texts))
    for i, item in enumerate(media):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            prepared = scorer.prepare(item, **call)
            inputs = scorer.processor_inputs([scorer.render(question, prepared)], [prepared])
            with torch.inference_mode():
                gen = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                                     pixel_values=inputs["pixel_values"].to(ivl.dtype), max_new_tokens=1,
                                     do_sample=False, output_scores=True, return_dict_in_generate=True,
                                     pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, tok.encode(answer, add_special_tokens=False)[0]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    parser.add_argument("--texts", type=int, default=8, help="N of the shapes (at most 8)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: stable on a shared CPU)")
    parser.add_argument("--no-video", action="store_true", help="skip the video case")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    folder = build_internvl_hf(ROOT / "ckpt", tile=448, patch=14, vision_hidden=128, vision_layers=4, text_hidden=256,
                               text_layers=4, heads=4, kv_heads=2, std=0.05)
    make_fake_hf_cache(ROOT / "hub", "OpenGVLab/InternVL3-1B-hf", folder)
    score = t2v_core.VQAScore(model="internvl3-1b", device="cpu", dtype="fp32", batch_size=8)
    import transformers

    print(f"built and loaded a benchmark-size checkpoint in {time.perf_counter() - t0:.1f}s "
          f"(tile {score.model.ivl.tile}px, {score.model.ivl.tokens_per_tile} image tokens per tile); CPU, "
          f"{torch.get_num_threads()} threads, transformers {transformers.__version__}", flush=True)
    rng = np.random.default_rng(0)
    images = [load_media(Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)))
              for _ in range(args.images)]

    cases = [(f"images {m} x {n}", images[:m], TEXTS[:n], {}) for m, n in shapes(args.images, args.texts)]
    if not args.no_video:
        nv, nt = min(4, args.images), min(4, args.texts)
        videos = [load_media(write_video(ROOT / f"v{k}.mp4", k)) for k in range(nv)]
        cases.append((f"videos {nv} x {nt} (4 frames)", videos, TEXTS[:nt], {"num_frames": 4}))
    ratios = []
    for label, media, texts, call in cases:
        opts = score.model.resolve_options(**call)
        score(images=media[:1], texts=texts[:2], **call)  # warm-up
        baseline(score, media[:1], texts[:1], **opts)
        ratios.append((label, compare(label, lambda m=media, t=texts, o=opts: baseline(score, m, t, **o),
                                      lambda m=media, t=texts, c=call: score(images=m, texts=t, **c),
                                      rounds=args.rounds)))
    summary(ratios)


if __name__ == "__main__":
    main()
