"""LLaVA-OneVision (``llava-hf/llava-onevision-qwen2-7b-{si,ov}-hf``, conversions of ``lmms-lab/*``) on the shared
transformers scorer, with the reference's prompt and its defaults as they really ran.

- prompt: the ``qwen_1_5`` conversation with its system message ``You are a helpful assistant.``; score:
  P(first answer token) at the assistant turn's start (t2v-hf's ``answer_likelihood="first"``).
- images, the reference's quirk (``image_mode="tiles"``, the default): LLaVA-NeXT's ``process_images`` returns
  the AnyRes tiles (the whole image resized to one tile, then the grid tiles of the image resized into the
  best ``image_grid_pinpoints`` resolution on black), and the reference's wrapper, seeing a 4-D tensor, scores
  them as the frames of a video (per-frame 2x2 bilinear pooling, one newline token). ``image_mode="image"``
  uses the model's own image path instead.
- vocabulary: the llava-hf conversions padded ``lm_head`` with 64 rows; the score's softmax runs over the
  original rows only (:data:`ORIGINAL_VOCAB`, t2v-hf's ``logits_vocab_limit`` hook).
- videos: ``num_frames`` (default 16: the reference's ``num_frames`` never reached the model, so its default
  16 is what ran) frames at ``np.linspace(0, n - 1, num_frames, dtype=int)`` (floor, as the reference).

Importing this module imports torch and transformers.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Image, Media, Video

from .anyres import tiles

SYSTEM = "You are a helpful assistant."
#: lm_head rows of a llava-hf conversion -> rows of the lmms-lab original it was converted from. The conversion
#: (transformers' ``convert_llava_onevision_weights_to_hf.py``) loads the original weights into a model with
#: the text model's ``vocab_size`` (Qwen2-7B/72B-Instruct: 152064), then resizes to ``vocab_size + 2`` rounded up
#: to a multiple of 64 (152128) and fills the 64 new rows with sampled vectors; the reference's softmax ran
#: over the original 152064 rows only.
ORIGINAL_VOCAB: dict[int, int] = {152128: 152064}


class OneVisionScorer(HFVLMScorer):
    """LLaVA-OneVision VQAScore; options as :class:`t2v_hf.scorer.HFVLMScorer` plus ``image_mode``
    (``"tiles"``: the reference's AnyRes tiles scored as video frames, default; ``"image"``: the native image
    path)."""

    model_class: ClassVar[str | None] = "LlavaOnevisionForConditionalGeneration"
    #: the reference (LLaVA-NeXT) generated from inputs_embeds only: no prompt ids reach the processors
    generation_input: ClassVar[str] = "embeds"
    call_options: ClassVar[dict[str, Any]] = {"num_frames": 16, "fps": None}
    init_options: ClassVar[dict[str, Any]] = {**HFVLMScorer.init_options, "image_mode": "tiles"}

    def load(self) -> None:
        """Load as t2v-hf does, then check ``image_mode``."""
        super().load()
        if self.options["image_mode"] not in ("tiles", "image"):
            raise ValueError(f"model {self.name!r}: image_mode must be 'tiles' or 'image', got "
                             f"{self.options['image_mode']!r}")

    def logits_vocab_limit(self) -> int | None:
        """The original checkpoint's vocabulary size when this one is a padded llava-hf conversion (the
        softmax then ignores the padding rows, as the reference's lmms-lab model never had them)."""
        rows = int(self.model.get_output_embeddings().weight.shape[0])
        return ORIGINAL_VOCAB.get(rows)

    def prepare(self, item: Media, **options: Any) -> PreparedMedia:
        """Images become the reference's AnyRes tiles as video frames (``image_mode="tiles"``)."""
        if isinstance(item, Image) and self.options["image_mode"] == "tiles":
            pinpoints = self.model.config.image_grid_pinpoints
            size = self.processor.image_processor.size
            side = int(size.get("height") or size.get("shortest_edge"))
            # the pinpoint grid is symmetric (every i x j with j x i), so (w, h) vs (h, w) order is moot
            frames, _ = tiles(item.image, pinpoints, side)
            meta = {"fps": 1.0, "total_num_frames": len(frames), "frames_indices": list(range(len(frames)))}
            return PreparedMedia("video", frames, meta, {"sample_fps": 1.0})
        return super().prepare(item, **options)

    def prepare_video(self, video: Video, num_frames: int | None = 16, fps: float | None = None,
                      **options: Any) -> PreparedMedia:
        """``num_frames`` frames at the reference's floor-rounded linspace indices (``fps`` is not supported)."""
        if fps is not None:
            raise ValueError(f"model {self.name!r} samples videos by num_frames (the reference's way), not fps")
        total = video.info.num_frames
        indices = [int(x) for x in np.linspace(0, total - 1, num_frames or 16, dtype=int)]
        frames = video.frames(indices)
        meta = {"fps": video.info.fps, "total_num_frames": total, "frames_indices": indices}
        return PreparedMedia("video", frames, meta, {"sample_fps": None})

    def build_messages(self, question: str, prepared: PreparedMedia) -> list[dict[str, Any]]:
        """The reference's ``qwen_1_5`` conversation: its system message, then the media and the question."""
        return [{"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
                {"role": "user", "content": [self.media_content(prepared), {"type": "text", "text": question}]}]
