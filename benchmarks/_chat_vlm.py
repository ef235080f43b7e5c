"""What the chat-VLM family benchmarks share: an offline hub in a temporary folder, the reference's per-pair
``generate(max_new_tokens=1)`` loop as the baseline (run on a second copy of the checkpoint, as plain
transformers loads it), and the timing of the shapes M x N, M x 1 and 1 x N (plus a video case for families
that take video) in alternating rounds, with the agreement check (benchmarks/_shapes.py).

Options every script built on :func:`run` takes: ``--images M`` and ``--texts N`` (default 8 x 8), ``--rounds``
(default ``T2V_BENCH_ROUNDS`` or 3), ``--threads`` (default ``T2V_BENCH_THREADS`` or 1), ``--batch-size`` (default: the scorer's), ``--no-video``.

Import this module before anything that imports huggingface_hub: it points ``HF_HUB_CACHE`` at its folder.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-"))
# the random checkpoints are tens of MB: never leave them behind
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _shapes, next to this file

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _shapes import compare, shapes, summary, write_video  # noqa: E402
from PIL import Image  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def parse_args(doc: str) -> argparse.Namespace:
    """The options of a chat-VLM benchmark script (``doc``: its docstring, whose first line describes it)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--images", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    parser.add_argument("--texts", type=int, default=8, help="N of the shapes (at most 8)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("T2V_BENCH_ROUNDS", "3")),
                        help="alternating timing rounds per shape (default T2V_BENCH_ROUNDS or 3)")
    # One intra-op thread by default: on a busy shared CPU, two OpenMP threads spend much of their time waiting
    # for each other at barriers, which buries both timings in noise.
    parser.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")),
                        help="torch CPU threads (default T2V_BENCH_THREADS or 1)")
    # default: the scorer's own (what a user gets): on CPU it scores whole prompts one by one, since batching
    # them there costs more than it saves (t2v-hf's cpu_whole_prompt_batch); prefix reuse batches 8 suffixes
    parser.add_argument("--batch-size", type=int, default=None, help="scorer batch_size (default: the scorer's)")
    parser.add_argument("--no-video", action="store_true", help="skip the video case (families that take video)")
    args = parser.parse_args()
    if not 1 <= args.texts <= len(TEXTS):
        parser.error(f"--texts must be 1..{len(TEXTS)}")
    return args


def chat_inputs(scorer: Any, image: Any, question: str) -> Any:
    """The reference's inputs for one pair: the image inside the messages, ``apply_chat_template(tokenize=True)``."""
    msgs = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]
    return scorer.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                                return_tensors="pt")


def video_inputs(scorer: Any, video: Any, question: str, **options: Any) -> Any:
    """The reference's inputs for one (video, question) pair: the video sampled and decoded again (the scorer's
    ``prepare``, i.e. the checkpoint's own frame choice by default), one prompt through the processor."""
    prepared = scorer.prepare(video, **options)
    return scorer.processor_inputs([scorer.render(question, prepared)], [prepared])


def baseline(score: t2v_core.VQAScore, plain: Any, media: list, texts: list[str],
             inputs_of: Callable[..., Any] = chat_inputs, **options: Any) -> torch.Tensor:
    """The reference's loop: per pair, the family's inputs (``inputs_of``: media preprocessing and one prompt
    through the processor) and ``generate(max_new_tokens=1, output_scores=True)`` of ``plain`` (the checkpoint
    as plain transformers loads it); P(first answer token) from ``generate``'s (processed) scores."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(media), len(texts))
    for i, item in enumerate(media):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            with torch.inference_mode():
                gen = plain.generate(**inputs_of(scorer, item, question, **options), max_new_tokens=1,
                                     do_sample=False, output_scores=True, return_dict_in_generate=True,
                                     pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def run(args: argparse.Namespace, model: str, repo: str, build: Callable[[Path], Path], description: str,
        inputs_of: Callable[..., Any] = chat_inputs, family: str = "", video: bool = False) -> list[tuple[str, float]]:
    """Build the checkpoint with ``build(folder)``, cache it under ``repo``, and time ``model`` against
    :func:`baseline` on the shapes of ``args`` (448 px images) and, with ``video``, on min(M, 4) x min(N, 4)
    videos (2 s at 8 fps, 224 px; the scorer's default frame sampling). Prints one line per shape and a
    ``summary:`` line (labels prefixed with ``family``); exits with an error if the two paths differ by 1e-4
    relative or more. Returns the (label, ratio) pairs."""
    import transformers

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    folder = build(ROOT / ("ckpt-" + repo.replace("/", "--")))
    make_fake_hf_cache(ROOT / "hub", repo, folder)
    score = t2v_core.VQAScore(model=model, device="cpu", batch_size=args.batch_size)
    # the reference ran the checkpoint as plain transformers loads it: a second copy, so that nothing t2v does
    # to its own loaded model (now or later) reaches the naive loop
    plain = type(score.model.model).from_pretrained(str(folder)).eval()
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)) for _ in range(args.images)]
    print(f"{description}; CPU, {torch.get_num_threads()} threads, transformers {transformers.__version__}, "
          f"{plain.dtype}, attention {plain.config._attn_implementation} (naive) / {score.model.attn_implementation}"
          f" (t2v), t2v batch size {score.model.batch_size} (whole prompts: {score.model.whole_prompt_batch()})",
          flush=True)
    # (label, media, texts, the baseline's inputs, the options it passes them)
    cases: list[tuple[str, list, list[str], Callable[..., Any], dict[str, Any]]] = [
        (f"images {m} x {n}", images[:m], TEXTS[:n], inputs_of, {}) for m, n in shapes(args.images, args.texts)]
    if video and not args.no_video:
        nv, nt = min(4, args.images), min(4, args.texts)
        clips = [load_media(write_video(ROOT / f"v{k}.mp4", k, frames=16, fps=8)) for k in range(nv)]
        cases.append((f"videos {nv} x {nt} (2 s at 8 fps)", clips, TEXTS[:nt], video_inputs,
                      score.model.resolve_options()))
    prefix = f"{family} " if family else ""
    ratios = []
    for label, media, texts, inputs, opts in cases:
        # warm both paths up (first calls pay one-off allocation and kernel-selection costs)
        score(images=media[:1], texts=texts[:2])
        baseline(score, plain, media[:1], texts[:1], inputs, **opts)
        ratio = compare(prefix + label, lambda m=media, t=texts, f=inputs, o=opts: baseline(score, plain, m, t, f, **o),
                        lambda m=media, t=texts: score(images=m, texts=t), rounds=args.rounds)
        ratios.append((prefix + label, ratio))
    summary(ratios)
    return ratios
