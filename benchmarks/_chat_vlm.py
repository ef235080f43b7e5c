"""What the chat-VLM family benchmarks share: an offline hub in a temporary folder, the reference's per-pair
``generate(max_new_tokens=1)`` loop as the baseline, and the 8 x 8 timing with its agreement check.

Import this module before anything that imports huggingface_hub: it points ``HF_HUB_CACHE`` at its folder.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def chat_inputs(scorer: Any, image: Any, question: str) -> Any:
    """The reference's inputs for one pair: the image inside the messages, ``apply_chat_template(tokenize=True)``."""
    msgs = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]
    return scorer.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                                return_tensors="pt")


def baseline(score: t2v_core.VQAScore, images: list, texts: list[str],
             inputs_of: Callable[[Any, Any, str], Any] = chat_inputs) -> torch.Tensor:
    """The reference's loop: per pair, the family's inputs and ``generate(max_new_tokens=1)``; P(first answer
    token) from ``generate``'s (processed) scores."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(images), len(texts))
    for i, image in enumerate(images):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            with torch.inference_mode():
                gen = scorer.model.generate(**inputs_of(scorer, image, question), max_new_tokens=1, do_sample=False,
                                            output_scores=True, return_dict_in_generate=True, pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """Result, wall seconds and CPU seconds of this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(plugin: str, model: str, repo: str, build: Callable[[Path], Path], description: str,
        inputs_of: Callable[[Any, Any, str], Any] = chat_inputs) -> None:
    """Build the checkpoint with ``build(folder)``, cache it under ``repo``, and time ``model`` 8 x 8 against
    :func:`baseline`; exits with an error if the two differ by 1e-4 relative or more."""
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("T2V_BENCH_THREADS", "1")))
    make_fake_hf_cache(ROOT / "hub", repo, build(ROOT / "ckpt"))
    score = t2v_core.VQAScore(model=model, device="cpu", batch_size=8)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (448, 448, 3), dtype=np.uint8)) for _ in range(8)]
    print(f"{description}; CPU, {torch.get_num_threads()} threads")
    score(images=images[:1], texts=TEXTS[:2])  # warm-up, both paths
    baseline(score, images[:1], TEXTS[:1], inputs_of)
    naive, t_naive, c_naive = timed(baseline, score, images, TEXTS, inputs_of)
    ours, t_ours, c_ours = timed(score, images=images, texts=TEXTS)
    dev = float(((ours - naive).abs() / naive.abs()).max())
    print(f"images 8 x 8: per-pair generate loop {t_naive:.2f} s (cpu {c_naive:.1f} s), {plugin} {t_ours:.2f} s "
          f"(cpu {c_ours:.1f} s): ratio {t_naive / t_ours:.1f}x wall, {c_naive / c_ours:.1f}x cpu "
          f"(max relative difference {dev:.1e})")
    if dev >= 1e-4:
        raise SystemExit(f"scores differ from the baseline by {dev}")
    print(f"summary: images 8 x 8 {t_naive / t_ours:.1f}x wall / {c_naive / c_ours:.1f}x cpu")
