"""Benchmark: t2v-llama's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

8 images x 8 texts on a random-weight Mllama checkpoint (a 4-layer language model of width 256 with one
cross-attention layer, a narrow 2-layer vision tower, 224 px tiles of 14 px patches), cached under
``meta-llama/Llama-3.2-11B-Vision-Instruct`` and loaded by name. Mllama's cross-attention masks rule out prefix
reuse, so the gain is batching whole prompts. The baseline is the reference's per-pair
``apply_chat_template(tokenize=True)`` + ``generate``. Both must give the same scores (benchmarks/_chat_vlm.py).

    python benchmarks/bench_llama.py
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_llama.testing import build_tiny_mllama  # noqa: E402


def main() -> None:
    _chat_vlm.run("t2v-llama", "llama-3.2-11b-vision-instruct", "meta-llama/Llama-3.2-11B-Vision-Instruct",
                  lambda folder: build_tiny_mllama(folder, image_size=224, patch=14, max_tiles=2, hidden=256, layers=4, std=0.05),
                  "Mllama benchmark checkpoint: LM 4 x 256 (one cross-attention layer), vision 2 x 32, 224 px tiles (256 patches each)")


if __name__ == "__main__":
    main()
