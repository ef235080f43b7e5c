"""Benchmark: t2v-molmo's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

8 images x 8 texts on a random-weight Molmo2 checkpoint of benchmark size: a 2-layer Qwen3-style language model of
width 256, a narrow 3-layer ViT, and the published image geometry (378 px crops of 14 px patches pooled 2 x 2, at
most 8 overlapping crops with 4-patch margins: a 448 px image is a low-res view plus 2 x 2 crops, 766 image
tokens, 794 prompt tokens), cached under ``allenai/Molmo2-4B`` and loaded by name. The baseline is the reference's way (HEAD
``molmo2_model.py``, disabled there): per pair, the image inside the messages, ``apply_chat_template(tokenize=True)``
and ``generate``. Both must give the same scores.

    python benchmarks/bench_molmo.py           # CPU, one thread (T2V_BENCH_THREADS=2 for two)
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_molmo.testing import build_tiny_molmo2  # noqa: E402


def main() -> None:
    _chat_vlm.run("t2v-molmo", "molmo2-4b", "allenai/Molmo2-4B",
                  lambda folder: build_tiny_molmo2(folder, crop=378, patch=14, max_crops=8, overlap=4, hidden=256,
                                                   vision_hidden=64, vision_layers=3, vocab_size=2000,
                                                   corpus=_chat_vlm.TEXTS, std=0.05),
                  "Molmo2 benchmark checkpoint: LM 2 x 256, ViT 3 x 64, 378 px crops (low-res view + 2 x 2 crops)")


if __name__ == "__main__":
    main()
