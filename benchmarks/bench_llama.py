"""Benchmark: t2v-llama's scorer vs a reference-shaped per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, each timed in 3
alternating rounds (medians compared), on a random-weight Mllama checkpoint (a 4-layer language model of width
256 with one cross-attention layer, a narrow 2-layer vision tower, 224 px tiles of 14 px patches, up to 2
tiles), cached under ``meta-llama/Llama-3.2-11B-Vision-Instruct`` in a temporary offline Hugging Face cache and
loaded by name. Mllama's cross-attention masks rule out prefix reuse, so t2v batches whole prompts (on CPU one
by one: ``cpu_whole_prompt_batch``); the family is image-only (a video is frames side by side in one image), so
there is no video case.

The baseline has the reference's loop shape (t2v_metrics 880a5b8's Llama-3.2-Vision wrapper): per pair, the
image inside the messages, ``apply_chat_template(tokenize=True)`` on that one prompt,
``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's scores at the answer's first
token. It runs a second copy of the checkpoint as plain transformers loads it (t2v-llama does not change its
loaded model, so the two copies are alike). How it differs from the real reference: float32 on CPU with the
installed transformers and its default CPU attention (SDPA), while the reference runs bfloat16 on a GPU; both
paths must give the same scores (1e-4 relative).

    python benchmarks/bench_llama.py [--images 8] [--texts 8] [--rounds 3] [--threads 1]

CPU, a few minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1, the rounds to
``T2V_BENCH_ROUNDS`` or 3.
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_llama.testing import build_tiny_mllama  # noqa: E402


def main() -> None:
    args = _chat_vlm.parse_args(__doc__)
    _chat_vlm.run(args, "llama-3.2-11b-vision-instruct", "meta-llama/Llama-3.2-11B-Vision-Instruct",
                  lambda folder: build_tiny_mllama(folder, image_size=224, patch=14, max_tiles=2, hidden=256, layers=4,
                                                   std=0.05),
                  "Mllama benchmark checkpoint: LM 4 x 256 (one cross-attention layer), vision 2 x 32, 224 px tiles "
                  "(256 patches each)")


if __name__ == "__main__":
    main()
