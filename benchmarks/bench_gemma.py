"""Benchmark: t2v-gemma's scorer vs a reference-shaped per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, each timed in 3
alternating rounds (medians compared), on a random-weight Gemma 3 checkpoint, then a Gemma 4 one, of benchmark
size: a 4-layer language model of width 256 (three sliding-window layers, one full, as Gemma's pattern) and a
4-layer vision tower of width 128, at the real image geometry. Gemma 3: 224 px, 14 px patches, 256 image tokens
per image; Gemma 4 (the 31B's layout): 448 px images at the published budget of 280 soft tokens (16 px patches,
3 x 3 pooling). Each checkpoint is written to a temporary offline Hugging Face cache under
``google/gemma-3-4b-it`` / ``google/gemma-4-31B-it`` and loaded by name, so the production path runs. Gemma 3
takes videos as labelled frames (images), so there is no native video case.

The baseline has the reference's loop shape (t2v_metrics 880a5b8's Gemma wrapper): per pair, the image inside
the messages, ``apply_chat_template(tokenize=True)`` on that one prompt (Gemma 4: with
``enable_thinking=False``), ``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's
scores at the answer's first token. It runs a second copy of the checkpoint as plain transformers loads it
(t2v-gemma does not change its loaded model, so the two copies are alike). How it differs from the real
reference: float32 on CPU with the installed transformers and its default CPU attention (SDPA), while the
reference runs bfloat16 on a GPU; for Gemma 4 the reference generates 5 tokens per pair (its loop costs more
than this one, which stops after the first); both paths must give the same scores (1e-4 relative).

    python benchmarks/bench_gemma.py [--images 8] [--texts 8] [--rounds 3] [--threads 1]

CPU, several minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1, the rounds to
``T2V_BENCH_ROUNDS`` or 3.
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_gemma.testing import build_tiny_gemma3, build_tiny_gemma4  # noqa: E402


def gemma4_inputs(scorer, image, question):
    """The reference's Gemma 4 inputs: ``apply_chat_template(tokenize=True, enable_thinking=False)``."""
    msgs = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": question}]}]
    return scorer.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                                return_tensors="pt", enable_thinking=False)


def main() -> None:
    args = _chat_vlm.parse_args(__doc__)
    _chat_vlm.run(args, "gemma-3-4b-it", "google/gemma-3-4b-it",
                  lambda folder: build_tiny_gemma3(folder, image_size=224, patch=14, tokens_per_image=256, hidden=256,
                                                   layers=4, sliding_window=512, vision_hidden=128, vision_layers=4,
                                                   vocab_size=2000, corpus=_chat_vlm.TEXTS, std=0.05),
                  "Gemma 3 benchmark checkpoint: LM 4 x 256 (3 sliding + 1 full), vision 4 x 128, 224 px images "
                  "(256 image tokens)", family="Gemma 3")
    _chat_vlm.run(args, "gemma-4-31b-it", "google/gemma-4-31B-it",
                  lambda folder: build_tiny_gemma4(folder, patch=16, pooling=3, soft_tokens=280, hidden=256, layers=4,
                                                   sliding_window=512, vision_hidden=128, vision_layers=4,
                                                   vocab_size=2000, per_layer_hidden=0, corpus=_chat_vlm.TEXTS,
                                                   std=0.05),
                  "Gemma 4 benchmark checkpoint: LM 4 x 256 (3 sliding + 1 full), vision 4 x 128, 448 px images "
                  "(280 image tokens)", inputs_of=gemma4_inputs, family="Gemma 4")


if __name__ == "__main__":
    main()
