"""CLIP-FlanT5 with current transformers: a Flan-T5 encoder-decoder whose encoder reads CLIP patch features.

The published checkpoints (``zhiqiulin/clip-flant5-xxl``, ``-xl``) were saved by the authors' own class,
``CLIPT5ForConditionalGeneration`` (``model_type: clip_t5``), with these keys::

    shared.*, encoder.*, decoder.*, lm_head.*        the Flan-T5 model (lm_head NOT tied to shared)
    embed_tokens.weight                              a second reference to shared (ignored)
    vision_tower.vision_tower.vision_model.*         the CLIP ViT (may be absent: then it comes from
                                                     the repo named by ``mm_vision_tower``)
    mm_projector.0.*, mm_projector.2.*               Linear-GELU-Linear from CLIP width to T5 width

The class below reproduces that layout, so ``from_pretrained`` reads the checkpoints as they are on the
Hub (``.bin`` shards with ``weights_only=True``, or safetensors, sharded or not).

Importing this module imports torch and transformers.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, CLIPVisionConfig, CLIPVisionModel, T5Config, T5ForConditionalGeneration

SYSTEM_MSG = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
              "helpful, detailed, and polite answers to the user's questions.")
IMAGE_TOKEN = "<image>"
#: the prompt wrapping of each conversation style of the reference (``{}`` is the question)
CONVERSATIONS = {
    "t5_chat": SYSTEM_MSG + " USER: " + IMAGE_TOKEN + "\n{} ASSISTANT: ",
    "t5_chat_no_system": "USER: " + IMAGE_TOKEN + "\n{} ASSISTANT: ",
    "t5_chat_no_system_no_user": IMAGE_TOKEN + "\n{} : ",
}
#: the reference truncates token sequences to this length (its CONTEXT_LEN)
CONTEXT_LEN = 2048


def format_prompt(question: str, conversation: str) -> tuple[str, str]:
    """The encoder prompt for ``question``, split at the image: ``(before, after)``.

    Each part is tokenized on its own (each ends with its own ``</s>``) and the image features go between.
    """
    if conversation not in CONVERSATIONS:
        raise ValueError(f"unknown conversation style {conversation!r}; expected one of {sorted(CONVERSATIONS)}")
    if IMAGE_TOKEN in question:
        raise ValueError(f"the question {question!r} contains {IMAGE_TOKEN!r}, which CLIP-FlanT5 reserves for the "
                         "image; remove it from the text or the question template")
    # the question is inserted after splitting, so that braces in it are never read as a format field
    before, after = CONVERSATIONS[conversation].split(IMAGE_TOKEN)
    return before, after.replace("{}", question)


class CLIPT5Config(T5Config):
    """T5 config plus the ``mm_*`` fields of the CLIP-FlanT5 checkpoints (kept as extra attributes)."""

    model_type = "clip_t5"


class CLIPVisionTower(nn.Module):
    """Holds the CLIP vision model under the attribute name the checkpoints use (``vision_tower``)."""

    def __init__(self, config: CLIPVisionConfig) -> None:
        super().__init__()
        self.vision_tower = CLIPVisionModel(config)


def build_projector(projector_type: str, in_features: int, out_features: int) -> nn.Module:
    """The ``mm_projector``: ``linear`` or ``mlp{N}x_gelu`` (Linear, then N-1 times GELU-Linear)."""
    if projector_type == "linear":
        return nn.Linear(in_features, out_features)
    match = re.fullmatch(r"mlp(\d+)x_gelu", projector_type)
    if not match:
        raise ValueError(f"unsupported mm_projector_type {projector_type!r}; expected 'linear' or 'mlpNx_gelu'")
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    for _ in range(1, int(match.group(1))):
        layers += [nn.GELU(), nn.Linear(out_features, out_features)]
    return nn.Sequential(*layers)


class CLIPT5ForConditionalGeneration(T5ForConditionalGeneration):
    """Flan-T5 with a CLIP vision tower and projector, laid out as the published ``clip_t5`` checkpoints.

    ``vision_config`` (a :class:`CLIPVisionConfig`) describes the tower; it is read from the repo named by
    ``config.mm_vision_tower`` by :func:`load_clip_t5`.
    """

    config_class = CLIPT5Config
    _keys_to_ignore_on_load_unexpected = [
        r"^embed_tokens\.weight$",  # the authors' alias of shared.weight
        r"position_ids$",  # buffers that older transformers saved
        r"decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight",
    ]

    def __init__(self, config: CLIPT5Config, vision_config: CLIPVisionConfig | None = None) -> None:
        # transformers 5 forces tie_word_embeddings=True on T5 configs and keeps the saved flag as
        # scale_decoder_outputs; Flan-T5 (saved with False) has its own lm_head, which must not be tied.
        if not getattr(config, "scale_decoder_outputs", True):
            self._tied_weights_keys = {k: v for k, v in T5ForConditionalGeneration._tied_weights_keys.items()
                                       if not k.startswith("lm_head")}
        super().__init__(config)
        if vision_config is None:
            raise ValueError("CLIPT5ForConditionalGeneration needs vision_config (the CLIP vision tower's config)")
        self.vision_tower = CLIPVisionTower(vision_config)
        self.mm_projector = build_projector(getattr(config, "mm_projector_type", "mlp2x_gelu"),
                                            vision_config.hidden_size, config.d_model)
        self.select_layer = int(getattr(config, "mm_vision_select_layer", -2))
        self.select_feature = getattr(config, "mm_vision_select_feature", "patch")
        if self.select_feature not in ("patch", "cls_patch"):
            raise ValueError(f"unsupported mm_vision_select_feature {self.select_feature!r}")
        self.post_init()

    @property
    def clip(self) -> CLIPVisionModel:
        """The CLIP vision model."""
        return self.vision_tower.vision_tower

    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Projected image features ``(B, patches, d_model)``: the selected CLIP hidden layer (the
        second-to-last by default, CLS dropped) through the projector."""
        clip = self.clip
        pixels = pixel_values.to(device=clip.device, dtype=clip.dtype)
        if self.select_layer == -1:
            # the last encoder layer's output, before the post-layernorm (which only the pooled CLS gets)
            feats = clip(pixels).last_hidden_state
        else:
            feats = clip(pixels, output_hidden_states=True).hidden_states[self.select_layer]
        if self.select_feature == "patch":
            feats = feats[:, 1:]
        first = next(self.mm_projector.parameters())
        return self.mm_projector(feats.to(first.dtype))

    @property
    def clip_layers(self) -> nn.ModuleList:
        """The CLIP tower's encoder layers (transformers 5 dropped the ``vision_model`` level)."""
        return getattr(self.clip, "vision_model", self.clip).encoder.layers

    def trim_vision_tower(self) -> int:
        """Drop the CLIP layers after the one :meth:`encode_images` reads (by default the second-to-last: the
        last layer costs ~1/L of the tower's FLOPs and changes no score); returns how many were dropped."""
        layers = self.clip_layers
        n = len(layers)
        # hidden_states[k] is the output of the first k layers (0: the embeddings)
        keep = self.select_layer + n + 1 if self.select_layer < 0 else self.select_layer
        if not 1 <= keep < n:
            return 0
        del layers[keep:]
        self.select_layer = -1
        return n - keep

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings, as the encoder looks them up."""
        return self.shared(input_ids)


class TanhGELU(nn.Module):
    """T5's ``gelu_new`` (``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``) by torch's fused kernel.

    transformers computes it as six separate tensor operations, which on a CPU cost about a quarter of the
    encoder's time at benchmark size; the fused kernel computes the same formula in one pass over memory
    (the results agree to float rounding).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")


def fuse_activations(model: nn.Module) -> int:
    """Replace every ``NewGELUActivation`` in ``model`` by :class:`TanhGELU`; returns how many were replaced."""
    from transformers.activations import NewGELUActivation

    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is NewGELUActivation:
                setattr(module, name, TanhGELU())
                replaced += 1
    return replaced


def shrink_vocab(model: T5ForConditionalGeneration, n: int) -> None:
    """Keep the first ``n`` rows of the embeddings and of the LM head.

    The reference calls ``resize_token_embeddings(len(tokenizer))`` after loading: Flan-T5's tokenizer has
    32100 tokens while its matrices have 32128 rows, so the reference's softmax runs over 32100 classes.
    """
    old = model.shared
    if n >= old.num_embeddings:
        return
    emb = nn.Embedding(n, old.embedding_dim, device=old.weight.device, dtype=old.weight.dtype)
    emb.weight.data.copy_(old.weight.data[:n])
    model.set_input_embeddings(emb)
    head = model.lm_head
    new_head = nn.Linear(head.in_features, n, bias=False, device=head.weight.device, dtype=head.weight.dtype)
    new_head.weight.data.copy_(head.weight.data[:n])
    model.lm_head = new_head
    model.config.vocab_size = n


def load_clip_t5(path: str, *, dtype: torch.dtype, device: Any, revision: str | None = None, fused: bool = True,
                 trim: bool = True, **hub_kwargs: Any) -> tuple[CLIPT5ForConditionalGeneration, CLIPT5Config]:
    """Load a ``clip_t5`` checkpoint (repo id or folder), its vision tower from the checkpoint or, when the
    checkpoint lacks it, from the repo named by ``mm_vision_tower``. ``fused`` swaps T5's GELU for torch's
    fused kernel (:func:`fuse_activations`); ``fused=False`` gives the stock transformers modules. ``trim``
    drops the CLIP layers after the one read (:meth:`CLIPT5ForConditionalGeneration.trim_vision_tower`);
    ``trim=False`` keeps the whole tower, as the reference runs it."""
    from transformers.utils import logging as hf_logging

    revision = revision or "main"
    config = CLIPT5Config.from_pretrained(path, revision=revision, **hub_kwargs)
    if config.model_type != "clip_t5":
        raise ValueError(f"{path!r} is a {config.model_type!r} checkpoint, not a CLIP-FlanT5 ('clip_t5') one")
    tower_name = getattr(config, "mm_vision_tower", None) or getattr(config, "vision_tower", None)
    if not tower_name:
        raise ValueError(f"{path!r}: config.json has no mm_vision_tower naming the CLIP vision tower")
    vision_config = CLIPVisionConfig.from_pretrained(tower_name, **hub_kwargs)
    # the expected warning about untied lm_head/shared and ignored keys is noise for users: silence it
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        loaded: Any = CLIPT5ForConditionalGeneration.from_pretrained(
            path, config=config, vision_config=vision_config, dtype=dtype, revision=revision,
            output_loading_info=True, **hub_kwargs)
    finally:
        hf_logging.set_verbosity(previous)
    model: CLIPT5ForConditionalGeneration = loaded[0]
    missing = set(loaded[1].get("missing_keys", ()))
    tower_missing = {k for k in missing if k.startswith("vision_tower.")}
    other = sorted(missing - tower_missing)
    if other:
        raise ValueError(f"{path!r} lacks weights the model needs: {other[:8]}{' ...' if len(other) > 8 else ''}")
    if tower_missing:
        # the reference builds the tower from mm_vision_tower and lets the checkpoint override it
        model.vision_tower.vision_tower = CLIPVisionModel.from_pretrained(tower_name, dtype=dtype, **hub_kwargs)
    if fused:
        fuse_activations(model)
    if trim:
        model.trim_vision_tower()
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model, config


try:  # let AutoConfig read clip_t5 configs (harmless if already registered)
    AutoConfig.register("clip_t5", CLIPT5Config, exist_ok=True)
except TypeError:  # older signature without exist_ok
    try:
        AutoConfig.register("clip_t5", CLIPT5Config)
    except ValueError:
        pass
