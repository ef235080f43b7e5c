"""VQAScore with Molmo2 (native ``Molmo2ForConditionalGeneration``) on the t2v-hf scorer.

The published chat template puts the media tokens first (``<|image|>`` or ``<|video|>``), then
``<|im_start|>user\\n{question}<|im_end|>\\n<|im_start|>assistant\\n``; the processor writes the tokenizer's BOS
(``<|im_end|>`` in the published tokenizer) in front and expands the media token into the image's low-res and
high-res crop tokens, or each video frame's timestamp and tokens. Image tokens attend to each other
bidirectionally (``mm_token_type_ids``); they all lie before the question, so a media prefix's KV cache is
reusable: the question tokens are causal and see the whole prefix, as in one forward pass.

Videos go in natively. By default the frames are the checkpoint's own choice (its video processor's
``sample_frames``: ``num_frames`` of its config, 64 published, at most ``max_fps`` (2) per second of video);
``num_frames=N`` or ``fps=F`` sample with the core's samplers instead (uniform with first and last frame, or
at ``F`` frames per second). The prompt carries each frame's time in the source, ``index / fps``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video


class Molmo2Scorer(HFVLMScorer):
    """Molmo2 VQAScore. Call options ``num_frames`` / ``fps`` (default ``None``: the checkpoint's own frame
    sampling, 64 frames at most 2 per second published)."""

    call_options: ClassVar[dict[str, Any]] = {"num_frames": None, "fps": None}
    model_class: ClassVar[str | None] = "Molmo2ForConditionalGeneration"

    def native_frame_indices(self, total: int, fps: float | None) -> list[int]:
        """The frames the checkpoint's video processor would take from a ``total``-frame video at ``fps``."""
        from transformers.video_utils import VideoMetadata

        meta = VideoMetadata(total_num_frames=total, fps=fps)
        return [int(i) for i in self.processor.video_processor.sample_frames(meta)]

    def prepare_video(self, video: Video, num_frames: int | None = None, fps: float | None = None,
                      **options: Any) -> PreparedMedia:
        """The checkpoint's own frame choice, or ``num_frames`` uniformly / ``fps`` frames per second."""
        # the core has already refused non-positive values; "dynamic" is another family's fps mode
        if fps == "dynamic":
            raise ValueError("fps='dynamic' is not a Molmo2 option: pass a number of frames per second, or "
                             "leave fps and num_frames unset for the checkpoint's own frame sampling")
        if num_frames is not None and fps is not None:
            raise ValueError(f"pass num_frames or fps, not both (got num_frames={num_frames}, fps={fps})")
        if num_frames is not None or fps is not None:
            return super().prepare_video(video, num_frames=num_frames, fps=fps, **options)
        info = video.info
        indices = self.native_frame_indices(info.num_frames, info.fps)
        meta = {"fps": info.fps, "total_num_frames": info.num_frames, "frames_indices": indices}
        return PreparedMedia("video", video.frames(indices), meta, {"sample_fps": None})
