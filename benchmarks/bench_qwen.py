"""Benchmark: t2v-qwen's scorer vs a reference-shaped per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, and 4 x 4 on
videos, each timed in 3 alternating rounds (medians compared), on a random-weight Qwen2.5-VL checkpoint of
benchmark size: a 4-layer language model of width 256, a 4-layer vision tower of width 128 (narrow so that
the run stays short on a small CPU; its last layer attends globally, the others in the published 112 px
windows), and the real processor geometry (14 px patches, merge 2, pixel bounds 3136..12845056), fed
448 x 448 images, i.e. 1024 patches and 256 image tokens each, as the real models see
them. The checkpoint is written to a temporary offline Hugging Face cache under
``Qwen/Qwen2.5-VL-7B-Instruct`` and loaded by name, so the production path runs.

The baseline has the reference's loop shape (t2v_metrics 880a5b8): ``Score.forward`` calls the model once
per image row with ``[image] * N``, and its Qwen wrapper then, for every pair, re-runs the media preparation
(qwen-vl-utils' ``fetch_image`` / ``fetch_video``), renders the chat prompt, runs the processor on one
prompt and calls ``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's scores at
the answer's first token. How it differs from the real reference: it runs t2v's own loaded model,
preprocessing and prompt rendering (the same numbers as t2v, checked within 1e-4), and the checkpoint as
plain transformers loads it (without t2v-qwen's CPU changes to the vision tower), in float32 with the
installed transformers and its default CPU attention, while the reference runs bfloat16 with
``flash_attention_2`` on transformers 4.49 (where a batch of several whole prompts costs the square of the
batch in the vision tower; this loop always has batch 1, so it is not affected).

    python benchmarks/bench_qwen.py [--images 8] [--texts 8] [--rounds 3] [--threads 1] [--no-video]

CPU, about 5 minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-qwen-"))
# the random checkpoint is hundreds of MB: never leave it behind
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _shapes import compare, shapes, summary, write_video  # noqa: E402
from PIL import Image  # noqa: E402
from t2v_hf.testing import build_tiny_qwen_vl  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def baseline(score: t2v_core.VQAScore, plain, media: list, texts: list[str], **call) -> torch.Tensor:
    """The reference's loop: per pair, preprocess the media, run the processor, ``generate(max_new_tokens=1)``
    of ``plain`` (the checkpoint as plain transformers loads it, as the reference did)."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(media), len(texts))
    for i, item in enumerate(media):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            prepared = scorer.prepare(item, **call)  # fetch_image / fetch_video again for every pair
            inputs = scorer.processor_inputs([scorer.render(question, prepared)], [prepared])
            with torch.inference_mode():
                gen = plain.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                            return_dict_in_generate=True, pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    parser.add_argument("--texts", type=int, default=8, help="N of the shapes (at most 8)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    # One intra-op thread by default: on a busy shared CPU, two OpenMP threads spend most of their time waiting
    # for each other at barriers (5x slower small matmuls here), which buries both timings in noise.
    parser.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")))
    parser.add_argument("--no-video", action="store_true", help="skip the video case")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    folder = build_tiny_qwen_vl(ROOT / "ckpt", family="qwen2_5_vl", hidden=256, layers=4, heads=4, kv_heads=2,
                                vision_depth=4, vision_hidden=128, vocab_size=2000, min_pixels=3136,
                                max_pixels=12845056, std=0.05, corpus=TEXTS, window_size=112)
    make_fake_hf_cache(ROOT / "hub", "Qwen/Qwen2.5-VL-7B-Instruct", folder)
    import transformers

    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=8)
    # the reference ran the model as transformers loads it, without t2v-qwen's CPU changes to the vision
    # tower (items encoded one by one, the patch embedding as a matmul): a copy of it for the naive loop
    plain = transformers.AutoModelForImageTextToText.from_pretrained(str(folder)).eval()
    rng = np.random.default_rng(0)
    images = [load_media(Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)))
              for _ in range(args.images)]
    print(f"Qwen2.5-VL benchmark checkpoint: LM 4 x 256, vision 4 x 128, 448 px images (256 image tokens); "
          f"CPU, {torch.get_num_threads()} threads, transformers {transformers.__version__}", flush=True)

    cases = [(f"images {m} x {n}", images[:m], TEXTS[:n], {}) for m, n in shapes(args.images, args.texts)]
    if not args.no_video:
        nv, nt = min(4, args.images), min(4, args.texts)
        videos = [load_media(write_video(ROOT / f"v{k}.mp4", k)) for k in range(nv)]
        cases.append((f"videos {nv} x {nt} (fps 8, 4 frames)", videos, TEXTS[:nt], {"fps": 8.0}))
    ratios = []
    for label, media, texts, call in cases:
        opts = score.model.resolve_options(**call)
        # warm both paths up (first calls pay one-off allocation and kernel-selection costs)
        score(images=media[:1], texts=texts[:2], **call)
        baseline(score, plain, media[:1], texts[:1], **opts)
        ratios.append((label, compare(label, lambda m=media, t=texts, o=opts: baseline(score, plain, m, t, **o),
                                      lambda m=media, t=texts, c=call: score(images=m, texts=t, **c),
                                      rounds=args.rounds)))
    summary(ratios)


if __name__ == "__main__":
    main()
