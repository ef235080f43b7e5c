"""Benchmark: t2v-perception-lm's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, each timed in 3
alternating rounds (medians compared), on a random-weight Perception-LM checkpoint (a 2-layer Llama of width
256, a narrow 2-layer Perception Encoder, 448 px tiles of 16 px patches pooled 2 x 2: 196 tokens per tile, a
thumbnail and one tile per image), cached under ``facebook/Perception-LM-1B`` in a temporary offline Hugging
Face cache and loaded by name.

The baseline: the reference has no Perception-LM model, so it is the reference's loop shape as its other chat
VLMs have it (t2v_metrics 880a5b8): per pair, the image inside the messages, ``apply_chat_template(tokenize=True)``
on that one prompt, ``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's scores at the
answer's first token. It runs a second copy of the checkpoint as plain transformers loads it (t2v-perception-lm
does not change its loaded model, so the two copies are alike), in float32 on CPU with the installed
transformers and its default CPU attention (SDPA), where the reference's other chat VLMs run bfloat16 on a GPU;
both paths must give the same scores (1e-4 relative).

    python benchmarks/bench_perception_lm.py [--images 8] [--texts 8] [--rounds 3] [--threads 1]

CPU, a few minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1, the rounds to
``T2V_BENCH_ROUNDS`` or 3.
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_perception_lm.testing import build_tiny_perception_lm  # noqa: E402


def main() -> None:
    args = _chat_vlm.parse_args(__doc__)
    _chat_vlm.run(args, "perception-lm-1b", "facebook/Perception-LM-1B",
                  lambda folder: build_tiny_perception_lm(folder, tile=448, patch=16, max_tiles=2, hidden=256, std=0.05),
                  "Perception-LM benchmark checkpoint: Llama LM 2 x 256, PE vision 2 x 32, 448 px tiles (196 tokens each)")


if __name__ == "__main__":
    main()
