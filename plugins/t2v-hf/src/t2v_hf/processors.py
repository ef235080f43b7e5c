"""The logits processors of the reference's ``generate``, applied to the logits a one-forward scorer reads.

The reference read its first-token scores from ``generate(..., max_new_tokens=1, do_sample=False,
output_scores=True)``. Those ``scores`` are the *processed* logits: before the softmax, ``generate`` runs the
logits processors it builds from the checkpoint's generation config (``generation_config.json``), e.g.
``repetition_penalty`` (1.05 in the published Qwen2-VL / Qwen2.5-VL Instruct repos) over every token id of
the prompt, suppressed tokens, minimum new tokens, bad words. This module builds that list with transformers'
own ``GenerationMixin`` steps (the same calls, in the same order, as ``generate``) and applies it to a read
position, given the token ids ``generate`` would have seen there.

Which ids those are is a property of the family (:data:`GENERATION_INPUTS`): ``"input_ids"`` when the
reference called ``generate(input_ids=...)`` (the whole prompt), ``"embeds"`` when it generated from
``inputs_embeds`` only (then ``generate`` sees no prompt ids: the repetition penalty is a no-op at the first
step, while id-independent processors such as suppressed tokens still apply).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import torch

#: values of the scorers' ``generation_config`` option
GENERATION_CONFIGS = ("reference", "none")
#: what the reference's ``generate`` was given: the prompt's token ids, or only its input embeddings
GENERATION_INPUTS = ("input_ids", "embeds")

# what the reference passed to generate (besides the model inputs), in every family that used first-token scores
_REFERENCE_GENERATE = {"max_new_tokens": 1, "do_sample": False, "output_scores": True, "return_dict_in_generate": True}


class ReadProcessors:
    """Applies the first-step logits processors of ``model.generate`` to read positions.

    Args:
        model: the transformers model whose ``generate`` the reference called (its ``generation_config`` is the
            checkpoint's); ``None`` turns processing off.
        generation_input: ``"input_ids"`` or ``"embeds"`` (see the module docstring).
        generate_kwargs: further generation arguments the reference passed (e.g. ``eos_token_id``).
    """

    def __init__(self, model: Any | None, generation_input: str = "input_ids",
                 generate_kwargs: dict[str, Any] | None = None) -> None:
        if generation_input not in GENERATION_INPUTS:
            raise ValueError(f"generation_input must be one of {GENERATION_INPUTS}, got {generation_input!r}")
        if model is not None and not hasattr(model, "_get_logits_processor"):
            raise TypeError(f"generation_config='reference' needs the transformers generation model whose generate "
                            f"the reference called, got a {type(model).__name__}; override generation_model() to "
                            "return it, or pass generation_config='none' for the plain softmax")
        self.model = model
        self.generation_input = generation_input
        self.generate_kwargs = {**_REFERENCE_GENERATE, **(generate_kwargs or {})}
        self._lists: dict[int, Any] = {}
        self.active = model is not None and len(self.processors(8)) > 0

    def processors(self, prompt_length: int) -> Any:
        """The ``LogitsProcessorList`` that ``generate`` builds for a prompt of ``prompt_length`` tokens
        (some processors depend on it: minimum new tokens, forced EOS at ``max_length``, begin suppression)."""
        if prompt_length not in self._lists:
            self._lists[prompt_length] = self._build(prompt_length)
        return self._lists[prompt_length]

    def _build(self, prompt_length: int) -> Any:
        from transformers.generation.logits_process import LogitsProcessorList

        model = self.model
        device = model.device
        embeds = self.generation_input == "embeds"
        # generate's own steps: merge the checkpoint's config with the call's kwargs, resolve special tokens,
        # set max/min length from the prompt, build the processors
        quiet = logging.getLogger("transformers")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                # greedy decoding with sampling fields in the checkpoint's config, or a penalty without prompt
                # ids, only warns in generate too
                warnings.simplefilter("ignore")
                config, _ = model._prepare_generation_config(None, **self.generate_kwargs)
                model._prepare_special_tokens(config, True, device=device)
                if config.guidance_scale is not None and config.guidance_scale != 1:
                    raise NotImplementedError(
                        f"the checkpoint's generation config sets guidance_scale={config.guidance_scale}: "
                        "classifier-free guidance runs extra forward passes that a one-forward score cannot "
                        "reproduce; pass generation_config='none'")
                ids_length = 0 if embeds else prompt_length
                inputs_tensor = torch.zeros((1, prompt_length, 1) if embeds else (1, prompt_length),
                                            dtype=torch.float32 if embeds else torch.long, device=device)
                config = model._prepare_generated_length(
                    generation_config=config, has_default_max_length=config.max_length is None,
                    has_default_min_length=config.min_length is None,
                    model_input_name="inputs_embeds" if embeds else "input_ids", input_ids_length=ids_length,
                    inputs_tensor=inputs_tensor)
                return model._get_logits_processor(
                    generation_config=config, input_ids_seq_length=ids_length,
                    encoder_input_ids=inputs_tensor, prefix_allowed_tokens_fn=None,
                    logits_processor=LogitsProcessorList(), device=device, model_kwargs={})
        finally:
            quiet.setLevel(level)

    def apply(self, scores: torch.Tensor, seen: Sequence[int], prompt_length: int) -> torch.Tensor:
        """Processed copy of one row of next-token logits ``scores`` (vocabulary,), read after the tokens
        ``seen`` (the prompt's ids, then any answer tokens before the read one); ``prompt_length`` of them are
        the prompt, the rest count as generated tokens."""
        if self.generation_input == "embeds":
            seen = seen[prompt_length:]  # generate from embeddings sees only the tokens it generated
        from t2v_core.device import to_device

        ids = to_device(torch.tensor([list(seen)], dtype=torch.long).reshape(1, -1), scores.device)
        with torch.inference_mode():
            out = self.processors(prompt_length)(ids, scores.unsqueeze(0).clone())
        return out[0].to(scores.dtype)

    # ------------------------------------------------------------------ the two ways t2v-hf reads logits
    def whole(self, logits: torch.Tensor, inputs: dict[str, Any], answer_lengths: Sequence[int]) -> torch.Tensor:
        """Process the last ``logits.shape[1]`` positions of left-padded whole prompts.

        ``inputs`` holds the batch's ``input_ids`` (and ``attention_mask``); row ``r``'s last
        ``answer_lengths[r]`` tokens are answer tokens (0 for first-token scores). Each row sees its own ids
        without padding, so a pair batched with others gets the numbers it gets alone."""
        if not self.active:
            return logits
        ids = inputs["input_ids"].cpu()
        mask = inputs.get("attention_mask")
        mask = mask.cpu().bool() if isinstance(mask, torch.Tensor) and mask.shape == ids.shape else None
        keep, width = logits.shape[1], ids.shape[1]
        out = logits.clone()
        for r in range(ids.shape[0]):
            row = ids[r][mask[r]] if mask is not None else ids[r]
            pads = width - row.shape[0]
            prompt_length = row.shape[0] - answer_lengths[r]
            for w in range(keep):
                upto = width - keep + w + 1 - pads  # tokens of this row up to and including position w
                if upto >= prompt_length:
                    out[r, w] = self.apply(logits[r, w], row[:upto].tolist(), prompt_length)
        return out

    def suffix(self, logits: torch.Tensor, prefix_ids: Sequence[int], suffixes: Sequence[Sequence[int]],
               where: dict[int, int], answer_lengths: Sequence[int]) -> torch.Tensor:
        """Process read positions of question suffixes run after a shared, cached prefix.

        ``logits[r, where[p]]`` are the logits after suffix token ``p`` of row ``r``; the ids seen there are
        ``prefix_ids`` (the whole cached prefix, media tokens included) plus ``suffixes[r][:p + 1]``."""
        if not self.active:
            return logits
        out = logits.clone()
        prefix = list(prefix_ids)
        for r, ids in enumerate(suffixes):
            prompt_length = len(prefix) + len(ids) - answer_lengths[r]
            for pos, k in where.items():
                if pos < len(ids) and len(prefix) + pos + 1 >= prompt_length:
                    out[r, k] = self.apply(logits[r, k], prefix + list(ids[:pos + 1]), prompt_length)
        return out


def describe(processors: ReadProcessors) -> list[str]:
    """Class names of the processors applied at the first step (for diagnostics and tests)."""
    if not processors.active:
        return []
    return [type(p).__name__ for p in processors.processors(8)]
