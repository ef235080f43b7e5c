"""VQAScore with Gemma 3: the t2v-hf scorer, its chat template (which writes ``<bos>`` itself, so no second one
is added), images passed one list per prompt, and videos as timestamped frames.

Whole prompts (one text per image, or ``prefix_reuse=False``) get their attention masks built here with a few
tensor ops rather than by transformers: for image tokens that attend to each other it composes the masks from
Python mask functions under ``torch.vmap``, which on CPU costs more per forward than the naive
``generate`` loop's whole overhead (measured: Gemma 3 8 x 1 at 0.86x of the reference-shaped loop before). The
masks are the same boolean ones (causal, or the same image block, and not a pad), built only while the prompt
fits in the sliding window (so the window cuts nothing); longer prompts and cached suffixes keep transformers'.

Gemma 3 takes no video input; as the reference does, a video is ``num_frames`` (default 10) frames at
``floor(linspace(0, total - 1, num_frames))``, each written as the text ``Frame at {t}s:`` (``t =
round(index / fps, 2)``; ``Frame {index}:`` for frames given without a frame rate) followed by the frame as
an image, then the question, in one user message.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
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
    #: the model type whose masks :meth:`whole_prompt_masks` reproduces, and the processor output (with its
    #: values) that marks image tokens
    mask_model_type: ClassVar[str] = "gemma3"
    image_type_key: ClassVar[str] = "token_type_ids"
    image_type_values: ClassVar[tuple[int, ...]] = (1,)
    #: whether full-attention layers also see each image block bidirectionally (Gemma 3: yes; Gemma 4: no)
    full_layers_bidirectional: ClassVar[bool] = True

    def _forward(self, **kwargs: Any) -> torch.Tensor:
        """t2v-hf's forward, with whole prompts' masks from :meth:`whole_prompt_masks` where it gives them."""
        masks = self.whole_prompt_masks(kwargs)
        if masks is not None:
            kwargs["attention_mask"] = masks
        return super()._forward(**kwargs)

    def uses_bidirectional_images(self) -> bool:
        """Whether the model lets image tokens attend to their whole image block (Gemma 3 always)."""
        return True

    def whole_prompt_masks(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor] | None:
        """The boolean attention masks ``{"full_attention", "sliding_attention"}`` (``(batch, 1, L, L)``, True:
        attend) transformers would build for a forward over whole prompts without a cache: a key is seen if
        it is not a pad and comes no later than the query or lies in the query's image block. ``None`` (let
        transformers build them) for a cached forward, another model type, or a prompt longer than the
        sliding window."""
        ids, pad, types = inputs.get("input_ids"), inputs.get("attention_mask"), inputs.get(self.image_type_key)
        if (inputs.get(self._cache_kw) is not None or ids is None or types is None or not isinstance(pad, torch.Tensor)
                or pad.dim() != 2 or self.model.config.model_type != self.mask_model_type
                or not self.uses_bidirectional_images()):
            return None
        length = ids.shape[1]
        window = getattr(self.model.config.get_text_config(), "sliding_window", None)
        if window is not None and length > window:
            return None  # the window would cut in; within it, the sliding layers' mask is the full one
        is_image = torch.isin(types, torch.tensor(self.image_type_values, device=types.device))
        starts = is_image & ~torch.nn.functional.pad(is_image, (1, 0))[:, :-1]
        block = torch.where(is_image, torch.cumsum(starts.int(), dim=1) - 1, -1)  # image block number, -1: text
        pos = torch.arange(length, device=ids.device)
        causal = (pos[None, :] <= pos[:, None])[None, None]  # [query, key]
        keep = pad.bool()[:, None, None, :]
        same_image = ((block[:, :, None] == block[:, None, :]) & (block[:, :, None] >= 0))[:, None]
        bidirectional = (causal | same_image) & keep
        full = bidirectional if self.full_layers_bidirectional else causal & keep
        return {"full_attention": full, "sliding_attention": bidirectional}

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
    mask_model_type: ClassVar[str] = "gemma4"
    image_type_key: ClassVar[str] = "mm_token_type_ids"
    image_type_values: ClassVar[tuple[int, ...]] = (1, 2)
    full_layers_bidirectional: ClassVar[bool] = False

    def uses_bidirectional_images(self) -> bool:
        """Gemma 4 checkpoints with ``use_bidirectional_attention="vision"`` (others mask causally only, which
        transformers builds without ``vmap``)."""
        return getattr(self.model.config.get_text_config(), "use_bidirectional_attention", None) == "vision"

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
