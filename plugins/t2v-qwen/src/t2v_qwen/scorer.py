"""VQAScore with Qwen2-VL, Qwen2.5-VL and Qwen3-VL: the t2v-hf scorer plus Qwen's image and video handling.

Images are resized as qwen-vl-utils' ``fetch_image`` does before the processor; videos are decoded by the core
(PyAV or decord), sampled and resized as ``fetch_video`` does, and handed to the model natively as frames.
The score itself (one forward pass, P(first answer token), prefix KV reuse) is :class:`t2v_hf.scorer.HFVLMScorer`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from t2v_hf.qwen_vision import tune_vision_tower
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video

from . import vision

TEMPORAL_SPACINGS = ("reference", "true")


class QwenVLScorer(HFVLMScorer):
    """Qwen-VL VQAScore. Call options: ``fps`` (default 8.0, or ``"dynamic"``) or ``num_frames`` for videos.

    Constructor options (besides t2v-hf's ``checkpoint``, ``answer_likelihood``, ``prefix_reuse``, ...):
        temporal_spacing: ``"reference"`` (default) places Qwen2.5-VL's video frames 1.0 s apart per temporal
            grid step, whatever the sampling rate, as the reference did (its processor never saw the fps);
            ``"true"`` uses the real spacing, ``temporal_patch_size / sampled fps``.
        video_max_pixels: the per-frame pixel budget of videos before the processor (reference: 360*420).
        alpha: handled by the core's media loading: ``"drop"`` (default, as the reference's
            ``PIL.Image.convert("RGB")``: transparent pixels keep their stored colour) or ``"white"``.
        close_thinking: for templates that open a thinking block (Qwen3-VL Thinking; Qwen3.5 when thinking
            is on), close it empty (``<think>\n\n</think>\n\n``) so the answer is read where the model
            answers (default ``True``); ``False`` reads it at the start of the thinking block, as the
            reference's v3.1 did for the Thinking models.

    The chat template is rendered with ``enable_thinking=False`` (Qwen3.5's switch; other templates ignore
    it). Qwen3.5's hybrid cache (linear-attention layers) cannot be copied per text, so its prefix reuse is
    off and its pairs are batched whole; one by one (CPU), each item's vision features are computed once per
    call (t2v-hf's ``media_feature_reuse``).
    """

    call_options: ClassVar[dict[str, Any]] = {"fps": 8.0, "num_frames": None}
    default_batch_size: ClassVar[int] = 8
    # the reference called generate(**processor(...)): its logits processors (repetition_penalty 1.05 in the
    # published Qwen2/2.5-VL Instruct repos) saw the whole prompt's input_ids
    generation_input: ClassVar[str] = "input_ids"
    # one text per image: the chat header before the media runs once per call, the rest batched after it
    header_reuse: ClassVar[bool] = True
    init_options: ClassVar[dict[str, Any]] = {**HFVLMScorer.init_options, "temporal_spacing": "reference",
                                               "video_max_pixels": vision.REFERENCE_VIDEO_MAX_PIXELS,
                                               "close_thinking": True}

    def load(self) -> None:
        """Load as t2v-hf does, then read the Qwen geometry (patch, merge, temporal patch) from the processor."""
        spacing = self.options.get("temporal_spacing", "reference")
        if spacing not in TEMPORAL_SPACINGS:
            raise ValueError(f"temporal_spacing must be one of {TEMPORAL_SPACINGS}, got {spacing!r}")
        import transformers
        from t2v_hf.loading import transformers_version

        if self.name.startswith("qwen3.5") and not hasattr(transformers, "Qwen3_5ForConditionalGeneration"):
            raise ModuleNotFoundError(
                f"model {self.name!r} (Qwen3.5) needs a transformers release with Qwen3_5ForConditionalGeneration "
                f"but {transformers.__version__} is installed: pip install -U transformers")
        if self.name.startswith("qwen3") and transformers_version() < (4, 57):
            raise ModuleNotFoundError(
                f"model {self.name!r} (Qwen3-VL) needs transformers >= 4.57, but {transformers.__version__} is "
                "installed: pip install -U 'transformers>=4.57'")
        super().load()
        self.temporal_spacing = spacing
        self.video_max_pixels = float(self.options["video_max_pixels"])
        image_processor = self.processor.image_processor
        self.factor = int(image_processor.patch_size) * int(image_processor.merge_size)
        self.temporal_patch = int(getattr(image_processor, "temporal_patch_size", 2))
        self.model_type = str(getattr(self.model.config, "model_type", ""))
        self.close_thinking = bool(self.options["close_thinking"])
        visual = getattr(self.model, "visual", None) or getattr(getattr(self.model, "model", None), "visual", None)
        # same numbers, less work: attention chunks batched by length, items one by one where 4.x's dense mask
        # stays, the patch embedding as a matmul on CPU (t2v_hf.qwen_vision)
        self.vision_tuning = tune_vision_tower(visual, self.device.type)
        if self.model_type.startswith("qwen3_5"):
            # linear-attention cache layers have no batch_repeat_interleave: the prefix cannot be shared
            if self.options["prefix_reuse"]:
                raise ValueError(f"model {self.name!r}: prefix_reuse=True is not supported: Qwen3.5's hybrid cache "
                                 "(linear-attention state) cannot be repeated per text; leave prefix_reuse unset")
            self.use_prefix_reuse = False
            # whole prompts only, but the vision tower reads only the pixels: each item encoded once per call
            self.reuse_media_features()

    def chat_template_kwargs(self) -> dict[str, Any]:
        """Thinking off (Qwen3.5's template writes an empty thinking block; the others ignore the switch)."""
        return {"enable_thinking": False}

    def finish_prompt(self, text: str) -> str:
        """Close a thinking block the template opened (Qwen3-VL Thinking), unless ``close_thinking=False``."""
        if self.close_thinking and text.endswith("<think>\n"):
            return text + "\n</think>\n\n"
        return text

    # ------------------------------------------------------------------ media
    def prepare_image(self, image: Any, **options: Any) -> Any:
        """Resize to multiples of patch*merge within qwen-vl-utils' pixel bounds (its ``fetch_image``)."""
        width, height = image.size
        h, w = vision.image_size(height, width, self.factor)
        return image.resize((w, h))

    def prepare_video(self, video: Video, fps: float | str | None = 8.0, num_frames: int | None = None,
                      **options: Any) -> PreparedMedia:
        """Sample frames as qwen-vl-utils does (``num_frames``, else ``fps``; ``"dynamic"`` = its 2 fps default),
        decode them with the core, resize them (bicubic, antialiased) to its frame size."""
        import torchvision.transforms.functional as TF
        from torchvision.transforms import InterpolationMode

        info = video.info
        if num_frames is None:
            if fps == "dynamic":
                fps = vision.DYNAMIC_FPS
            elif not isinstance(fps, (int, float)) or isinstance(fps, bool) or fps <= 0:
                raise ValueError(f"fps must be a positive number or 'dynamic', got {fps!r}")
        n = vision.video_frame_count(info.num_frames, info.fps, fps=None if num_frames else float(fps),  # type: ignore[arg-type]
                                     num_frames=num_frames, source=video.source)
        # float32 linspace, rounded: the reference's exact frame choice
        indices = torch.linspace(0, info.num_frames - 1, n).round().long().tolist()
        frames = video.frames(indices)
        pixels = torch.from_numpy(np.stack([np.asarray(f) for f in frames])).permute(0, 3, 1, 2)
        h, w = vision.video_frame_size(pixels.shape[2], pixels.shape[3], n, self.factor, self.video_max_pixels)
        pixels = TF.resize(pixels, [h, w], interpolation=InterpolationMode.BICUBIC, antialias=True).float()
        source_fps = info.fps or 24.0
        sample_fps = n / info.num_frames * source_fps
        metadata = {"fps": source_fps, "total_num_frames": info.num_frames, "frames_indices": indices}
        return PreparedMedia("video", pixels, metadata, {"sample_fps": sample_fps})

    def video_processor_kwargs(self, prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """t2v-hf's (metadata, no resampling); frames already carry qwen-vl-utils' per-frame pixel cap, so the
        transformers video processor's optional second cap is switched off where it exists."""
        kwargs = super().video_processor_kwargs(prepared)
        video_processor = getattr(self.processor, "video_processor", None)
        valid = getattr(getattr(video_processor, "valid_kwargs", None), "__annotations__", {})
        if "cap_pixels_per_frame" in valid:
            kwargs["cap_pixels_per_frame"] = False
        return kwargs

    def processor_inputs(self, texts: Sequence[str], prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """The processor's inputs, with Qwen2.5-VL's temporal spacing set by ``temporal_spacing``."""
        inputs = super().processor_inputs(texts, prepared)
        if prepared[0].kind == "video" and "second_per_grid_ts" in inputs:
            if self.temporal_spacing == "reference":
                # the reference's processor assumed 2 fps: temporal_patch / 2.0 seconds per grid step
                seconds = [self.temporal_patch / vision.DYNAMIC_FPS for _ in prepared]
            else:
                seconds = [self.temporal_patch / p.extra["sample_fps"] for p in prepared]
            inputs["second_per_grid_ts"] = torch.tensor(seconds, dtype=torch.float32)
        return inputs

