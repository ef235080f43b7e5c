"""VQAScore with InternVL: the shared transformers scorer (t2v-hf) plus InternVL's own preprocessing.

Score of a (media, text) pair, ``question, answer = templates.fill(text)``: the probability of the answer's
first token right after the chat-templated prompt

    <|im_start|>system\\n{system message}<|im_end|>\\n<|im_start|>user\\n{media}{question}<|im_end|>\\n
    <|im_start|>assistant\\n

where ``{media}`` is ``<img>{<IMG_CONTEXT> x 256 x tiles}</img>\\n`` for an image (dynamic 448 px tiles, up to
12, plus a thumbnail) and ``Frame1: <img>...</img>\\nFrame2: ...\\n`` for a video (``num_frames`` frames, one
tile each), from one forward pass (the media prefix's KV cache is computed once and reused for every text).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from t2v_hf.loading import transformers_version
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video

from . import loading
from .preprocess import (
    IMAGE_PLACEHOLDER,
    IMG_CONTEXT,
    Visual,
    expand_placeholders,
    image_visual,
    video_indices,
    video_visual,
)

# What the chat template writes where a media item goes (the native template's own markers).
_MARKERS = {"image": IMG_CONTEXT + "\n", "video": "<video>\n"}


class _ConversationTemplate:
    """``apply_chat_template`` for remote-code checkpoints, through their own conversation template."""

    def __init__(self, model: loading.InternVLModel) -> None:
        self.model = model

    def apply_chat_template(self, messages: list[dict[str, Any]], tokenize: bool = False,
                            add_generation_prompt: bool = True) -> str:
        user = next(m for m in messages if m["role"] == "user")
        content = user["content"]
        if not isinstance(content, str):
            content = "".join(_MARKERS[c["type"]] if c["type"] in _MARKERS else c.get("text", "") for c in content)
        system = next((m["content"] for m in messages if m["role"] == "system"), None)
        if system is not None:
            self.model.system_message = system
        return self.model.render(content)


class _RemoteModel(torch.nn.Module):
    """A remote-code ``InternVLChatModel`` behind the native model's call signature.

    The remote ``forward`` encodes pixels on every call; scoring with a reused prefix needs a forward that
    takes text tokens alone, so this builds the input embeddings itself and runs the language model.
    """

    def __init__(self, ivl: loading.InternVLModel) -> None:
        super().__init__()
        self.inner = ivl.model
        self.ivl = ivl
        self._legacy_cache = False

    def _embeds(self, input_ids: torch.Tensor, pixel_values: torch.Tensor | None) -> torch.Tensor:
        embeds = self.ivl.embed(input_ids)
        if pixel_values is not None:
            feats = self.ivl.image_features(pixel_values)
            feats = feats.reshape(-1, feats.shape[-1]).to(embeds.dtype)
            mask = input_ids == self.ivl.image_token_id
            if int(mask.sum()) != feats.shape[0]:
                raise ValueError(f"{int(mask.sum())} image tokens in the prompt but {feats.shape[0]} image features")
            embeds = embeds.clone()
            embeds[mask] = feats
        return embeds

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                pixel_values: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                past_key_values: Any = None, use_cache: bool | None = None, logits_to_keep: int = 0,
                **kwargs: Any) -> Any:
        """Logits (and cache) of the language model over text tokens with image features put in place."""
        if attention_mask is not None and position_ids is None:
            # remote language models take positions as given; count real tokens so left padding is harmless
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -input_ids.shape[1]:]
        lm = self.inner.language_model
        if past_key_values is not None and self._legacy_cache:
            past_key_values = past_key_values.to_legacy_cache()
        cache = {loading._cache_kwarg(lm): past_key_values} if past_key_values is not None else {}
        # the vocabulary projection only where read, when the language model can (transformers' own LMs that
        # the remote code builds, e.g. Qwen2: an int, or from 4.50 a tensor of positions); remote LMs without
        # the argument project every position and the logits are cut here
        indices = isinstance(logits_to_keep, torch.Tensor)
        keep_kw = _keep_kwarg(lm) if indices or logits_to_keep else None
        keep = {keep_kw: logits_to_keep} if keep_kw else {}
        out = lm(inputs_embeds=self._embeds(input_ids, pixel_values), attention_mask=attention_mask,
                 position_ids=position_ids, use_cache=use_cache, **cache, **keep)
        if isinstance(getattr(out, "past_key_values", None), tuple):
            # the remote code's era (transformers 4.4x, its worker environment) returns the legacy tuple cache:
            # t2v-hf's prefix reuse copies and repeats a Cache object, and the tuples go back to the model as given
            from transformers import DynamicCache

            self._legacy_cache = True
            out.past_key_values = DynamicCache.from_legacy_cache(out.past_key_values)
        if not keep_kw and indices:
            out.logits = out.logits[:, logits_to_keep]
        elif not keep_kw and logits_to_keep:
            out.logits = out.logits[:, -logits_to_keep:]
        return out

    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                 pixel_values: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """Greedy continuation; returns prompt + new tokens, as the native ``generate`` does."""
        kwargs.setdefault("eos_token_id", self.ivl.eos_token_ids or None)
        new = self.inner.language_model.generate(inputs_embeds=self._embeds(input_ids, pixel_values),
                                                 attention_mask=attention_mask, **kwargs)
        return torch.cat([input_ids, new.to(input_ids.device)], dim=1)


class InternVLScorer(HFVLMScorer):
    """VQAScore with InternVL2 / 2.5 / 3 / 3.5 checkpoints, images and videos.

    Constructor options (besides the t2v-hf ones: ``checkpoint``, ``revision``, ``answer_likelihood``,
    ``prefix_reuse``, ``attn_implementation``):
        trust_remote_code: run the checkpoint's own Python code (needed by InternVL2 and by InternVL2.5 on
            InternLM2); off by default.
        system_prompt: the system message before the question (default: the family's; ``""`` drops it;
            ``None`` for remote-code models uses the model's own).
        max_tiles: the most 448 px tiles an image is cut into before the thumbnail (default 12).
        remote_only: set by the catalogue for checkpoints that only their remote code can run.
    Call options: ``num_frames`` (frames sampled from a video, default 16), or ``fps``.
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 16, "fps": None}
    default_batch_size: ClassVar[int] = 8
    # The reference's InternVL path (the remote ``InternVLChatModel.generate``) built the input embeddings itself
    # and called ``language_model.generate(inputs_embeds=...)``: its logits processors saw no prompt ids.
    generation_input: ClassVar[str] = "embeds"
    # one text per image: the system prompt and user header before the image run once per call
    header_reuse: ClassVar[bool] = True
    init_options: ClassVar[dict[str, Any]] = {**HFVLMScorer.init_options, "trust_remote_code": False,
                                               "system_prompt": None, "max_tiles": 12, "remote_only": False}

    # ------------------------------------------------------------------ loading
    def check_options(self) -> str:
        """t2v-hf's checks, plus ``max_tiles``."""
        checkpoint = super().check_options()
        if not isinstance(self.options["max_tiles"], int) or self.options["max_tiles"] < 1:
            raise ValueError(f"max_tiles must be a positive integer, got {self.options['max_tiles']!r}")
        return checkpoint

    def load_model_and_processor(self, checkpoint: str, revision: str | None) -> None:
        """Load the checkpoint in its layout (native, mapped original, or remote code)."""
        opts = self.options
        system = opts["system_prompt"]
        self.ivl, self.weights_revision = loading.load(
            self.name, checkpoint, device=self.device, dtype=self.dtype, revision=revision,
            system_message=system if system else None, trust_remote_code=bool(opts["trust_remote_code"]),
            remote_only=bool(opts["remote_only"]),
            # flash attention 2 on CUDA where installed; otherwise transformers' own default (SDPA)
            attn_implementation=opts["attn_implementation"] or _flash_if_available(self.device))
        if system == "" and self.ivl.layout == "remote":
            self.ivl.system_message = ""
        self.tokenizer = self.ivl.tokenizer
        if self.ivl.layout == "remote":
            self.model = _RemoteModel(self.ivl).eval()
            self.processor = _ConversationTemplate(self.ivl)
        else:
            self.model = self.ivl.model
            self.processor = self.tokenizer  # its chat template is the checkpoint's

    def generation_model(self) -> Any:
        """Whose ``generate`` the reference ran: the remote code's language model (its generation config is
        the one derived from the language model's config); for native layouts the loaded native model."""
        return self.ivl.model.language_model if self.ivl.layout == "remote" else self.model

    def init_scoring_state(self) -> None:
        """As t2v-hf, except that the remote wrapper keeps only the last logits and pads with an EOS id."""
        super().init_scoring_state()
        if self.ivl.layout == "remote":
            # positions as a tensor reach the remote LM only when it takes logits_to_keep itself
            self._keep_accepts_indices = _keep_kwarg(self.ivl.model.language_model) == "logits_to_keep" \
                and transformers_version() >= (4, 50)
        if self.tokenizer.pad_token_id is None:
            self.pad_id = (self.ivl.eos_token_ids or [0])[0]

    def media_token_ids(self) -> set[int]:
        """The image context token (every layout; the remote wrapper has no native config)."""
        return {int(self.ivl.image_token_id)}

    # ------------------------------------------------------------------ media
    def prepare_image(self, image: Any, **options: Any) -> Visual:
        """Dynamic tiling: up to ``max_tiles`` tiles plus a thumbnail (the prepared item's data is a Visual)."""
        return image_visual(image, self.ivl.tile, self.options["max_tiles"], self.ivl.mean, self.ivl.std)

    def prepare_video(self, video: Video, num_frames: int | None = 16, fps: float | None = None,
                      **options: Any) -> PreparedMedia:
        """``num_frames`` frames at the middles of equal segments (or frames at ``fps``), one tile each."""
        if fps is not None:
            clip = video.sample(fps=fps)
            frames, indices = clip.frames, clip.indices
        else:
            indices = video_indices(video.info.num_frames, int(num_frames or 16))
            frames = video.frames(indices)
        return PreparedMedia("video", video_visual(frames, self.ivl.tile, self.ivl.mean, self.ivl.std),
                             extra={"indices": indices})

    def build_messages(self, question: str, prepared: PreparedMedia) -> list[dict[str, Any]]:
        """System message (when set), then the user turn: the media marker, then the question."""
        messages: list[dict[str, Any]] = []
        if self.ivl.system_message:
            messages.append({"role": "system", "content": self.ivl.system_message})
        messages.append({"role": "user", "content": _MARKERS[prepared.kind] + question})
        return messages

    def processor_inputs(self, texts: Sequence[str], prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """Expand each prompt's media marker into InternVL's image tokens and tokenize (left padded)."""
        expanded = []
        for text, p in zip(texts, prepared):
            visual: Visual = p.data
            marker = _MARKERS[p.kind]
            if marker not in text:
                raise ValueError(f"the rendered prompt has no {marker!r} where the {p.kind} goes: {text[:200]!r}")
            layout = text.replace(marker, visual.prefix, 1)
            expanded.append(expand_placeholders(layout, visual.tiles_per_placeholder, self.ivl.tokens_per_tile))
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(expanded, padding=True, return_tensors="pt", add_special_tokens=True)
        pixels = torch.cat([p.data.pixels for p in prepared])
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "pixel_values": pixels}

    def generate_media(self, media: Sequence[Any], prompts: Sequence[str], max_new_tokens: int = 256,
                       **options: Any) -> list[str]:
        """Greedy answers to ``prompts[k]`` about ``media[k]``, stopping at the end of the assistant turn."""
        if self.ivl.eos_token_ids and self.ivl.layout != "remote":
            # stop at the end of the assistant turn (<|im_end|>), whatever the checkpoint's generation config says
            self.model.generation_config.eos_token_id = self.ivl.eos_token_ids
        return super().generate_media(media, prompts, max_new_tokens=max_new_tokens, **options)


__all__ = ["InternVLScorer", "IMAGE_PLACEHOLDER"]


def _flash_if_available(device: Any) -> str | None:
    """``"flash_attention_2"`` where :func:`t2v_core.device.preferred_attn_implementation` picks it, else None
    (the native classes then take transformers' default, SDPA)."""
    from t2v_core.device import preferred_attn_implementation

    attn = preferred_attn_implementation(device)
    return attn if attn == "flash_attention_2" else None


def _keep_kwarg(lm: Any) -> str | None:
    """The name under which a language model's forward takes how many (or which) logits to compute."""
    params = inspect.signature(lm.forward).parameters
    return next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
