"""Benchmark: t2v-paligemma's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

8 images x 8 texts on a random-weight PaliGemma checkpoint of benchmark size (a 4-layer Gemma of width 256, a
2-layer SigLIP of width 128, 224 px images: 256 image tokens, as ``paligemma-3b-mix-224``), cached under
``google/paligemma-3b-mix-224`` and loaded by name. PaliGemma's prefix-LM attention rules out prefix reuse, so
the gain is batching whole prompts. The baseline calls the processor on the question and ``generate`` per pair. Both must give
the same scores.

    python benchmarks/bench_paligemma.py
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_paligemma.testing import build_tiny_paligemma  # noqa: E402


def processor_inputs(scorer, image, question):
    """PaliGemma has no chat template: the reference called the processor on the question itself."""
    inputs = scorer.processor(text=question, images=image, return_tensors="pt")
    inputs.pop("labels")
    return inputs


def main() -> None:
    _chat_vlm.run("t2v-paligemma", "paligemma-3b-mix-224", "google/paligemma-3b-mix-224",
                  lambda folder: build_tiny_paligemma(folder, image_size=224, patch=14, hidden=256, layers=4, vision_hidden=128,
                                            std=0.05),
                  "PaliGemma benchmark checkpoint: Gemma LM 4 x 256, SigLIP 2 x 128, 224 px images (256 image tokens)", inputs_of=processor_inputs)


if __name__ == "__main__":
    main()
