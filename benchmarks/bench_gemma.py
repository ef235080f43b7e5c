"""Benchmark: t2v-gemma's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop (the reference's way).

8 images x 8 texts on a random-weight Gemma 3 checkpoint, then a Gemma 4 one (the same widths, 280 image tokens), of benchmark size: a 4-layer language model of width 256
(three sliding-window layers, one full, as Gemma 3's pattern), a 4-layer SigLIP tower of width 128, and the real
image geometry (224 px, 14 px patches: 256 image tokens per image, as the real models see them). The checkpoint
is written to a temporary offline Hugging Face cache under ``google/gemma-3-4b-it`` and loaded by name, so the
production path runs. The baseline builds the same prompt for every pair (images inside the messages,
``apply_chat_template(tokenize=True)``, as the reference does) and calls ``generate`` once per pair; both must
give the same scores.

    python benchmarks/bench_gemma.py           # CPU, about 1.5 minutes (T2V_BENCH_THREADS=2 for two threads)
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
    _chat_vlm.run("t2v-gemma", "gemma-3-4b-it", "google/gemma-3-4b-it",
                  lambda folder: build_tiny_gemma3(folder, image_size=224, patch=14, tokens_per_image=256, hidden=256, layers=4,
                                         sliding_window=512, vision_hidden=128, vision_layers=4, vocab_size=2000,
                                         corpus=_chat_vlm.TEXTS, std=0.05),
                  "Gemma 3 benchmark checkpoint: LM 4 x 256 (3 sliding + 1 full), vision 4 x 128, 224 px images (256 image tokens)")
    # Gemma 4 (the 31B's layout), 448 px images at the published budget of 280 soft tokens (16 px patches, 3 x 3
    # pooling); the baseline generates 1 token per pair after the template's empty thinking channel (the reference
    # generates 5, so its loop costs more than this one)
    _chat_vlm.run("t2v-gemma", "gemma-4-31b-it", "google/gemma-4-31B-it",
                  lambda folder: build_tiny_gemma4(folder.parent / "ckpt-gemma4", patch=16, pooling=3, soft_tokens=280, hidden=256, layers=4,
                                                   sliding_window=512, vision_hidden=128, vision_layers=4,
                                                   vocab_size=2000, per_layer_hidden=0, corpus=_chat_vlm.TEXTS,
                                                   std=0.05),
                  "Gemma 4 benchmark checkpoint: LM 4 x 256 (3 sliding + 1 full), vision 4 x 128, 448 px images "
                  "(280 image tokens)", inputs_of=gemma4_inputs)


if __name__ == "__main__":
    main()
