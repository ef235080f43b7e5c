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
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video


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
