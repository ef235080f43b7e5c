"""Benchmark: t2v-perception-lm's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

8 images x 8 texts on a random-weight Perception-LM checkpoint (a 2-layer Llama of width 256, a narrow
2-layer Perception Encoder, 448 px tiles of 16 px patches pooled 2 x 2: 196 tokens per tile, a thumbnail and one
tile per image), cached under ``facebook/Perception-LM-1B`` and loaded by name. The baseline is a per-pair
``apply_chat_template(tokenize=True)`` + ``generate`` loop (the reference never produced a score). Both must give
the same scores.

    python benchmarks/bench_perception_lm.py
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_perception_lm.testing import build_tiny_perception_lm  # noqa: E402


def main() -> None:
    _chat_vlm.run("t2v-perception-lm", "perception-lm-1b", "facebook/Perception-LM-1B",
                  lambda folder: build_tiny_perception_lm(folder, tile=448, patch=16, max_tiles=2, hidden=256, std=0.05),
                  "Perception-LM benchmark checkpoint: Llama LM 2 x 256, PE vision 2 x 32, 448 px tiles (196 tokens each)")


if __name__ == "__main__":
    main()
