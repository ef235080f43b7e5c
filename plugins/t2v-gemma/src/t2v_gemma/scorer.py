"""VQAScore with Gemma 3: the t2v-hf scorer, its chat template (which writes ``<bos>`` itself, so no second one
is added), images passed one list per prompt, and videos as timestamped frames.

Gemma 3 takes no video input; as the reference does, a video is ``num_frames`` (default 10) frames at
``floor(linspace(0, total - 1, num_frames))``, each written as the text ``Frame at {t}s:`` (``t =
round(index / fps, 2)``; ``Frame {index}:`` for frames given without a frame rate) followed by the frame as
an image, then the question, in one user message.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from t2v_hf.loading import transformers_version
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video

# What Gemma 4's generation prompt ends with when thinking is off: the thinking channel, opened and closed empty.
EMPTY_THOUGHT = "<|channel>thought\n<channel|>"
# First transformers release with each Gemma 4 architecture (5.10.0 shipped gemma4_unified but was yanked).
GEMMA4_TRANSFORMERS = (5, 5, 0)
GEMMA4_UNIFIED_TRANSFORMERS = (5, 10, 1)


class GemmaScorer(HFVLMScorer):
    """Gemma 3 VQAScore. Call option ``num_frames`` (default 10): frames taken from a video."""

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 10}
    video_frame_label: ClassVar[str | None] = "Frame at {t}s:"
    nested_images: ClassVar[bool] = True

    def prepare_video(self, video: Video, num_frames: int | None = 10, **options: Any) -> PreparedMedia:
        """``num_frames`` frames at the reference's indices (``np.linspace(..., dtype=int)``: floored), each
        labelled with its time in the source video."""
        if not isinstance(num_frames, int) or isinstance(num_frames, bool) or num_frames < 1:
            raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
        info = video.info
        indices = [int(i) for i in np.linspace(0, info.num_frames - 1, num_frames, dtype=int)]
        frames = [self.prepare_image(f, **options) for f in video.frames(indices)]
        meta = {"fps": info.fps, "total_num_frames": info.num_frames, "frames_indices": indices}
        labels = [self.frame_label(i, info.fps) for i in indices]
        return PreparedMedia("video", frames, meta, {}, frame_labels=labels)


class Gemma4Scorer(GemmaScorer):
    """Gemma 4 VQAScore: Gemma 3's prompt and video handling, the chat template rendered with thinking off
    (``enable_thinking=False``), and the score read after the empty thinking channel, where the answer starts.

    Whether the checkpoint's template writes the empty channel ``<|channel>thought\\n<channel|>`` after
    ``<|turn>model\\n`` itself or leaves it to the model (earlier template revisions), the prompt ends with it,
    so P(first answer token) is read at the answer's first position either way."""

    #: names on the encoder-free Gemma4UnifiedForConditionalGeneration (a later transformers release)
    unified: ClassVar[frozenset[str]] = frozenset({"gemma-4-12b-it"})

    def load_model_and_processor(self, checkpoint: str, revision: str | None) -> None:
        """As t2v-hf, after checking that the installed transformers ships the architecture."""
        need = GEMMA4_UNIFIED_TRANSFORMERS if self.name in self.unified else GEMMA4_TRANSFORMERS
        if transformers_version() < need:
            import transformers

            want = ".".join(map(str, need))
            raise RuntimeError(f"model {self.name!r} needs transformers>={want} (its architecture is not in "
                               f"transformers {transformers.__version__}); pip install 'transformers>={want}'")
        super().load_model_and_processor(checkpoint, revision)

    def chat_template_kwargs(self) -> dict[str, Any]:
        """Thinking off, as the reference rendered it."""
        return {"enable_thinking": False}

    def finish_prompt(self, text: str) -> str:
        """Close the (empty) thinking channel when the template leaves it to the model."""
        return text if text.endswith(EMPTY_THOUGHT) else text + EMPTY_THOUGHT
