"""VQAScore with Llama-3.2-Vision (Mllama) on the t2v-hf scorer, and the text-only names' error.

Mllama reads the image through cross-attention layers whose per-token mask (``cross_attention_mask``) the
processor builds for the whole prompt; a cached media prefix would need that mask extended for every suffix,
so prefix reuse is off and every pair is a whole forward pass, batched with left padding. The chat template
writes ``<|begin_of_text|>`` itself, and the processor keeps a BOS already present, so the prompt is tokenized
without adding a second one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.errors import T2VError
from t2v_core.scorer import Scorer


class TextOnlyModelError(T2VError, ValueError):
    """The model name is a text-only checkpoint: it cannot see images."""


class MllamaScorer(HFVLMScorer):
    """Llama-3.2-Vision VQAScore and Llama-Guard-3-Vision's safety score (images; videos as frames side by
    side in one image). Options as t2v-hf's;
    ``prefix_reuse=True`` is refused (cross-attention masks)."""

    model_class: ClassVar[str | None] = "MllamaForConditionalGeneration"
    prefix_reuse: ClassVar[bool] = False
    nested_images: ClassVar[bool] = True
    #: image-only: a video is ``num_frames`` (default 8) frames side by side, 10 px apart, as the reference
    video_side_by_side: ClassVar[bool] = True

    def check_options(self) -> str:
        """t2v-hf's checks, and no prefix reuse."""
        checkpoint = super().check_options()
        if self.options["prefix_reuse"]:
            raise ValueError(f"model {self.name!r}: prefix_reuse=True is not supported: Mllama's cross-attention "
                             "mask covers the whole prompt, so a cached image prefix cannot be extended; leave "
                             "prefix_reuse unset (whole prompts are batched)")
        return checkpoint

    def render(self, question: str, prepared: PreparedMedia) -> str:
        """The chat template's prompt; for a checkpoint without one (the base models may ship none), the
        model card's raw form ``<|image|><|begin_of_text|>{question}``."""
        if getattr(self.processor, "chat_template", None):
            return super().render(question, prepared)
        return f"{self.processor.image_token}{self.tokenizer.bos_token}{question}"

    def add_special_tokens(self, text: str) -> bool:
        """No added BOS when the prompt holds one anywhere (it may follow ``<|image|>``)."""
        bos = self.tokenizer.bos_token
        return not (bos and bos in text)


class TextOnlyScorer(Scorer):
    """Stands for a text-only Llama checkpoint the reference listed: building it raises, naming the vision
    models."""

    def load(self) -> None:
        """Refuse: the checkpoint has no vision tower."""
        from .plugin import GUARD, VISION

        repo = self.spec.weights[0] if self.spec.weights else self.name
        raise TextOnlyModelError(
            f"model {self.name!r} ({repo}) is a text-only checkpoint (LlamaForCausalLM): it cannot see images or "
            f"videos, so it cannot give an image-text score. Use a vision model: {', '.join(VISION)} (VQAScore), "
            f"or {', '.join(GUARD)} (a safety score)")

    def score(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - load always raises
        raise TextOnlyModelError(f"model {self.name!r} is text-only")
