"""Benchmark: t2v-molmo's scorer vs a per-pair ``generate(max_new_tokens=1)`` loop.

Shapes M x N = 8 x 8, 8 x 1 (one text per image: GenAI-Bench's shape) and 1 x 8 on images, and 4 x 4 on native
videos, each timed in 3 alternating rounds (medians compared), on a random-weight Molmo2 checkpoint of
benchmark size: a 2-layer Qwen3-style language model of width 256, a narrow 3-layer ViT, and the published
geometry (378 px crops of 14 px patches pooled 2 x 2, at most 8 overlapping crops with 4-patch margins: a
448 px image is a low-res view plus 2 x 2 crops, 766 image tokens, 794 prompt tokens; video frames one 378 px
view pooled 3 x 3, 81 tokens each). The videos are 2 s random clips at 8 fps; the checkpoint's own frame
sampling (at most 2 per second) takes 4 frames. The checkpoint is cached under ``allenai/Molmo2-4B`` in a
temporary offline Hugging Face cache and loaded by name.

The baseline: the reference's Molmo2 file (HEAD ``molmo2_model.py``) is disabled there and never produced a
score; its loop shape, as its other chat VLMs (t2v_metrics 880a5b8): per pair, the image inside the messages,
``apply_chat_template(tokenize=True)`` on that one prompt (a video: sampled and decoded again, the prompt and
frames through the processor), ``generate(max_new_tokens=1, output_scores=True)``, softmax of the first step's
scores at the answer's first token. It runs a second copy of the checkpoint as plain transformers loads it
(t2v-molmo does not change its loaded model, so the two copies are alike), in float32 on CPU with the installed
transformers and its default CPU attention (SDPA), where the reference would run bfloat16 on a GPU; both paths
must give the same scores (1e-4 relative).

    python benchmarks/bench_molmo.py [--images 8] [--texts 8] [--rounds 3] [--threads 1] [--no-video]

CPU, several minutes with the defaults; the threads default to ``T2V_BENCH_THREADS`` or 1, the rounds to
``T2V_BENCH_ROUNDS`` or 3.
"""

from __future__ import annotations

import _chat_vlm  # first: it points the Hugging Face cache at a temporary folder
from t2v_molmo.testing import build_tiny_molmo2  # noqa: E402


def main() -> None:
    args = _chat_vlm.parse_args(__doc__)
    _chat_vlm.run(args, "molmo2-4b", "allenai/Molmo2-4B",
                  lambda folder: build_tiny_molmo2(folder, crop=378, patch=14, max_crops=8, overlap=4, hidden=256,
                                                   vision_hidden=64, vision_layers=3, video_pooling=3,
                                                   vocab_size=2000, corpus=_chat_vlm.TEXTS, std=0.05),
                  "Molmo2 benchmark checkpoint: LM 2 x 256, ViT 3 x 64, 378 px crops (low-res view + 2 x 2 crops), "
                  "video frames pooled 3 x 3", video=True)


if __name__ == "__main__":
    main()
