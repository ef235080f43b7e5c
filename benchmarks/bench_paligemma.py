"""Benchmark: t2v-paligemma's scorer vs a reference-shaped per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, each timed in 3
alternating rounds (medians compared), on a random-weight PaliGemma checkpoint of benchmark size (a 4-layer
Gemma of width 256, a 2-layer SigLIP of width 128, 224 px images: 256 image tokens, as
``paligemma-3b-mix-224``), cached under ``google/paligemma-3b-mix-224`` in a temporary offline Hugging Face
cache and loaded by name. PaliGemma's prefix-LM attention rules out prefix reuse, so t2v batches whole prompts
(on CPU one by one: ``cpu_whole_prompt_batch``); the family is image-only (a video is frames side by side in
one image), so there is no video case.

The baseline has the reference's loop shape (t2v_metrics 880a5b8's PaliGemma wrapper, which has no chat
template): per pair, the processor on the image and the question (``processor(text=question, images=image)``),
``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's scores at the answer's first
token. It runs a second copy of the checkpoint as plain transformers loads it (t2v-paligemma does not change
its loaded model, so the two copies are alike). How it differs from the real reference: float32 on CPU with the
installed transformers and its default CPU attention (SDPA), while the reference runs bfloat16 on a GPU; both
paths must give the same scores (1e-4 relative).

    python benchmarks/bench_paligemma.py [--images 8] [--texts 8] [--rounds 3] [--threads 1]

CPU, a few minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1, the rounds to
``T2V_BENCH_ROUNDS`` or 3.
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
    args = _chat_vlm.parse_args(__doc__)
    _chat_vlm.run(args, "paligemma-3b-mix-224", "google/paligemma-3b-mix-224",
                  lambda folder: build_tiny_paligemma(folder, image_size=224, patch=14, hidden=256, layers=4,
                                                      vision_hidden=128, std=0.05),
                  "PaliGemma benchmark checkpoint: Gemma LM 4 x 256, SigLIP 2 x 128, 224 px images (256 image tokens)",
                  inputs_of=processor_inputs)


if __name__ == "__main__":
    main()
