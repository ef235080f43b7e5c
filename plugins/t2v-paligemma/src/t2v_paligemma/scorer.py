"""VQAScore with PaliGemma: the t2v-hf scorer without a chat template and without prefix reuse.

PaliGemma has no chat template: its processor writes ``<image>`` x N + ``<bos>`` + the question + ``"\\n"``,
and the model attends bidirectionally over that whole prefix (image and prompt, prefix-LM), so the image's
keys and values depend on the question and no media prefix can be cached: every pair is a whole forward
pass, batched with left padding. The score is P(first answer token) at the position after the ``"\\n"``,
where the answer token is the first token of ``tokenizer(answer, add_special_tokens=False)`` (never BOS).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from t2v_hf.scorer import HFVLMScorer, PreparedMedia


class PaliGemmaScorer(HFVLMScorer):
    """PaliGemma VQAScore (images; videos as frames side by side in one image). Options as t2v-hf's; ``prefix_reuse`` and ``answer_likelihood="full"``
    are refused (prefix-LM attention; the processor appends ``"\\n"`` after whatever text it gets)."""

    model_class: ClassVar[str | None] = "PaliGemmaForConditionalGeneration"
    prefix_reuse: ClassVar[bool] = False
    # the image's features (SigLIP + projector) see only the pixels: encoded once per item for all its texts
    media_feature_reuse: ClassVar[bool] = True
    #: image-only: a video is ``num_frames`` (default 8) frames side by side, 10 px apart, as the reference
    video_side_by_side: ClassVar[bool] = True

    def check_options(self) -> str:
        """t2v-hf's checks, then the two options PaliGemma cannot honour."""
        checkpoint = super().check_options()
        if self.options["prefix_reuse"]:
            raise ValueError(f"model {self.name!r}: prefix_reuse=True is not possible: PaliGemma attends "
                             "bidirectionally over the image and the question, so the image's cache depends on the "
                             "text; leave prefix_reuse unset (whole prompts are batched)")
        if self.answer_likelihood != "first":
            raise ValueError(f"model {self.name!r}: answer_likelihood={self.answer_likelihood!r} is not supported: "
                             "the PaliGemma processor ends every prompt with a newline, so answer tokens cannot follow "
                             "it; use answer_likelihood='first'")
        return checkpoint

    def render(self, question: str, prepared: PreparedMedia) -> str:
        """``<image>`` + the question: the processor expands the image token and adds ``<bos>`` after it and
        the closing newline (the same string it builds from the question alone, without its warning)."""
        return self.processor.image_token + question

    def processor_inputs(self, texts: Sequence[str], prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """The processor's inputs without the training ``labels`` it also returns."""
        inputs = super().processor_inputs(texts, prepared)
        inputs.pop("labels", None)
        return inputs
