"""LLaVA-1.5 / ShareGPT4V / LLaVA-1.6 checkpoints in their original layout, on native transformers parts.

The published checkpoints (``liuhaotian/llava-v1.5-*``, ``liuhaotian/llava-v1.6-vicuna-*``,
``Lin-Chen/ShareGPT4V-*``) were saved by the authors' ``LlavaLlamaForCausalLM`` (``Share4VLlamaForCausalLM``):
one flat LLaMA ``config.json`` plus ``mm_*`` fields (``model_type`` ``llava`` or ``share4v``, which
transformers 5 does not understand), and these keys::

    model.embed_tokens.*, model.layers.*, model.norm.*, lm_head.*   the LLaMA (Vicuna) language model
    model.mm_projector.{0,2}.*                                      Linear-GELU-Linear (or one Linear)
    model.vision_tower.vision_tower.vision_model.*                  the CLIP ViT (only in some checkpoints)
    model.image_newline                                             LLaVA-1.6's AnyRes row separator
    model.layers.*.self_attn.rotary_emb.inv_freq                    a rope buffer older transformers saved

:func:`load_llava` reads the config itself, builds a native ``LlamaForCausalLM``, ``CLIPVisionModel`` (its
config from the repo named by ``mm_vision_tower``) and the projector, and assigns every checkpoint key
(anything it does not know is an error). As the authors' code does, the tower's weights come from the
checkpoint only when ``unfreeze_mm_vision_tower`` is set (LLaVA-1.6); otherwise from the tower repo.

Importing this module imports torch and transformers.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

#: model types of the original checkpoints this loader reads
MODEL_TYPES = ("llava", "share4v", "llava_llama", "llava_qwen")
_LLAMA_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                 "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps", "rope_theta",
                 "rope_scaling", "attention_bias", "bos_token_id", "eos_token_id", "pad_token_id",
                 "tie_word_embeddings", "pretraining_tp", "head_dim")
_TOWER_PREFIX = "model.vision_tower.vision_tower."
_WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def build_projector(projector_type: str, in_features: int, out_features: int) -> nn.Module:
    """LLaVA's ``mm_projector`` (its ``build_vision_projector``): ``linear``, or ``mlp{N}x_gelu`` = a Linear then
    N-1 times GELU + Linear, as an ``nn.Sequential`` so the checkpoint's ``mm_projector.{0,2,..}`` keys fit.

    t2v-clipflant5 builds the same module (its checkpoints come from the LLaVA code base); this small copy is
    kept on purpose: one family does not import another, the core stays torch-free, and t2v-hf is not a
    dependency of t2v-clipflant5."""
    if projector_type == "linear":
        return nn.Linear(in_features, out_features)
    match = re.fullmatch(r"mlp(\d+)x_gelu", projector_type)
    if match is None:
        raise ValueError(f"unsupported mm_projector_type {projector_type!r}; expected 'linear' or 'mlpNx_gelu'")
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    for _ in range(int(match.group(1)) - 1):
        layers += [nn.GELU(), nn.Linear(out_features, out_features)]
    return nn.Sequential(*layers)



class CheckpointLayoutError(ValueError):
    """A checkpoint that is not in the original LLaVA layout (or lacks weights the model needs)."""


def fetch_file(repo: str, filename: str, revision: str | None = None) -> str | None:
    """Local path of ``filename`` in a folder or Hub repo (cache first), or ``None`` if the repo has no such file."""
    if os.path.isdir(os.path.expanduser(repo)):
        path = Path(repo).expanduser() / filename
        return str(path) if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return hf_hub_download(repo, filename, revision=revision, cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    except (EntryNotFoundError, LocalEntryNotFoundError):
        return None


def weights_revision(repo: str, revision: str | None = None) -> str | None:
    """Provenance: the snapshot commit of a cached Hub checkpoint, or a folder's absolute path."""
    if os.path.isdir(os.path.expanduser(repo)):
        return str(Path(repo).expanduser().resolve())
    path = fetch_file(repo, "config.json", revision)
    parts = Path(path).parts if path else ()
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else revision


def read_config(repo: str, revision: str | None = None) -> dict[str, Any]:
    """The raw ``config.json`` of an original LLaVA checkpoint (transformers' ``AutoConfig`` misreads it)."""
    path = fetch_file(repo, "config.json", revision)
    if path is None:
        raise FileNotFoundError(f"{repo!r} has no config.json (not in the Hugging Face cache, or not a checkpoint); "
                                f"download it with `hf download {repo}` or pass a local folder")
    cfg = json.loads(Path(path).read_text())
    if cfg.get("model_type") not in MODEL_TYPES or "text_config" in cfg:
        raise CheckpointLayoutError(
            f"{repo!r} is not an original LLaVA checkpoint (model_type {cfg.get('model_type')!r}"
            f"{', with a nested text_config: a llava-hf conversion' if 'text_config' in cfg else ''}); this "
            f"loader reads flat configs with model_type in {MODEL_TYPES}")
    if not cfg.get("mm_vision_tower"):
        raise CheckpointLayoutError(f"{repo!r}: config.json has no mm_vision_tower naming the CLIP vision tower")
    return cfg


def is_qwen(cfg: dict[str, Any]) -> bool:
    """Whether a flat LLaVA(-NeXT) config describes a Qwen2 language model (LLaVA-Video, ``llava_qwen``)."""
    return cfg.get("model_type") == "llava_qwen" or "LlavaQwenForCausalLM" in (cfg.get("architectures") or ())


def llama_config(cfg: dict[str, Any]) -> Any:
    """The language model's ``LlamaConfig`` (or ``Qwen2Config`` for ``llava_qwen``) from the flat config."""
    fields = {k: cfg[k] for k in _LLAMA_FIELDS if k in cfg and cfg[k] is not None}
    fields.pop("pretraining_tp", None)  # a training-time sharding detail; the forward is the same
    if is_qwen(cfg):
        from transformers import Qwen2Config

        fields.pop("attention_bias", None)
        return Qwen2Config(**fields)
    return LlamaConfig(**fields)


def vision_config_of(tower_repo: str) -> Any:
    """The tower's config: CLIP, or SigLIP with LLaVA-NeXT's changes (last layer deleted, no pooling head)."""
    from transformers import SiglipVisionConfig

    path = fetch_file(tower_repo, "config.json")
    raw = json.loads(Path(path).read_text()) if path else {}
    if raw.get("model_type") in ("siglip", "siglip_vision_model"):
        vc = SiglipVisionConfig.from_pretrained(tower_repo, cache_dir=os.environ.get("HF_HUB_CACHE") or None)
        # LLaVA-NeXT's SigLIP tower deletes the last encoder layer and the head, and reads the last hidden state
        vc.num_hidden_layers -= 1
        vc.vision_use_head = False
        return vc
    return CLIPVisionConfig.from_pretrained(tower_repo, cache_dir=os.environ.get("HF_HUB_CACHE") or None)


def load_state_dict(repo: str, revision: str | None = None) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint: sharded or not, safetensors or pickled ``.bin`` (``weights_only=True``)."""
    files: list[str] = []
    for index in _WEIGHT_INDEXES:
        path = fetch_file(repo, index, revision)
        if path is not None:
            shards = sorted(set(json.loads(Path(path).read_text())["weight_map"].values()))
            for shard in shards:
                got = fetch_file(repo, shard, revision)
                if got is None:
                    raise FileNotFoundError(f"{repo!r}: shard {shard!r} named by {index} is missing")
                files.append(got)
            break
    else:
        for name in _WEIGHT_FILES:
            path = fetch_file(repo, name, revision)
            if path is not None:
                files.append(path)
                break
    if not files:
        raise FileNotFoundError(f"{repo!r} holds no weights (looked for {_WEIGHT_INDEXES + _WEIGHT_FILES})")
    state: dict[str, torch.Tensor] = {}
    for f in files:
        if f.endswith(".safetensors"):
            from safetensors.torch import load_file

            state.update(load_file(f))
        else:
            state.update(torch.load(f, map_location="cpu", weights_only=True))
    return state


class LlavaLlama(nn.Module):
    """A CLIP vision tower, the ``mm_projector`` and a native ``LlamaForCausalLM``, as original LLaVA runs them."""

    def __init__(self, cfg: dict[str, Any], vision_config: Any) -> None:
        super().__init__()
        self.cfg = cfg
        if is_qwen(cfg):
            from transformers import Qwen2ForCausalLM

            self.language_model: Any = Qwen2ForCausalLM(llama_config(cfg))
        else:
            self.language_model = LlamaForCausalLM(llama_config(cfg))
        self.siglip = vision_config.model_type == "siglip_vision_model"
        if self.siglip:
            from transformers import SiglipVisionModel

            self.vision_tower: Any = SiglipVisionModel(vision_config)
        else:
            self.vision_tower = CLIPVisionModel(vision_config)
        hidden = int(cfg.get("mm_hidden_size") or vision_config.hidden_size)
        if hidden != vision_config.hidden_size:
            raise CheckpointLayoutError(f"mm_hidden_size {hidden} differs from the vision tower's width "
                                        f"{vision_config.hidden_size}")
        self.mm_projector = build_projector(cfg.get("mm_projector_type", "linear"), hidden, cfg["hidden_size"])
        self.select_layer = int(cfg.get("mm_vision_select_layer", -2))
        self.select_feature = cfg.get("mm_vision_select_feature", "patch")
        if self.select_feature not in ("patch", "cls_patch"):
            raise CheckpointLayoutError(f"unsupported mm_vision_select_feature {self.select_feature!r}")
        # LLaVA-1.6's AnyRes row separator; used only with image_aspect_ratio="anyres"
        self.image_newline: nn.Parameter | None = None

    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Projected features ``(B, tokens, hidden)``: the selected CLIP layer (CLS dropped for ``patch``)."""
        tower = self.vision_tower
        pixels = pixel_values.to(device=tower.device, dtype=tower.dtype)
        if self.select_layer == -1 and not self.siglip:
            # the last encoder layer's output, before the post-layernorm (which only the pooled CLS gets)
            feats = tower(pixels).last_hidden_state
        else:
            out = tower(pixels, output_hidden_states=True)
            # SigLIP (LLaVA-NeXT): the truncated tower's last hidden state, no CLS to drop
            feats = out.hidden_states[-1] if self.siglip else out.hidden_states[self.select_layer]
        if self.select_feature == "patch" and not self.siglip:
            feats = feats[:, 1:]
        first = next(self.mm_projector.parameters())
        return self.mm_projector(feats.to(first.dtype))

    def trim_vision_tower(self) -> int:
        """Drop the CLIP layers after the one :meth:`encode_images` reads (the second-to-last for every LLaVA
        checkpoint: the last layer is ~1/L of the tower's FLOPs and changes no score); returns how many were
        dropped. SigLIP towers (LLaVA-NeXT) already lose their last layer at build time: nothing to drop."""
        if self.siglip:
            return 0
        layers = getattr(self.vision_tower, "vision_model", self.vision_tower).encoder.layers
        n = len(layers)
        # hidden_states[k] is the output of the first k layers (0: the embeddings)
        keep = self.select_layer + n + 1 if self.select_layer < 0 else self.select_layer
        if not 1 <= keep < n:
            return 0
        del layers[keep:]
        self.vision_tower.config.num_hidden_layers = keep
        self.select_layer = -1
        return n - keep

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings of the language model."""
        return self.language_model.get_input_embeddings()(input_ids)


def _assign(model: LlavaLlama, state: dict[str, torch.Tensor], tower_from_checkpoint: bool,
            repo: str) -> list[str]:
    """Put every checkpoint tensor in its place; returns the keys deliberately not used (with why)."""
    lm: dict[str, torch.Tensor] = {}
    proj: dict[str, torch.Tensor] = {}
    tower: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    unknown: list[str] = []
    for key, value in state.items():
        if key.endswith(".rotary_emb.inv_freq"):
            unused.append(key)  # recomputed from rope_theta by the native rotary embedding
        elif key.startswith("model.mm_projector."):
            proj[key[len("model.mm_projector."):]] = value
        elif key.startswith(_TOWER_PREFIX):
            rest = key[len(_TOWER_PREFIX):]
            tower[rest[len("vision_model."):] if rest.startswith("vision_model.") else rest] = value
        elif key == "model.image_newline":
            model.image_newline = nn.Parameter(value.clone(), requires_grad=False)
        elif key == "lm_head.weight" or re.match(r"model\.(embed_tokens|layers|norm)\.", key):
            lm[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointLayoutError(f"{repo!r}: checkpoint keys this loader does not know: {sorted(unknown)[:8]}"
                                    f"{' ...' if len(unknown) > 8 else ''}")
    _load_strict(model.language_model, lm, repo, "language model")
    _load_strict(model.mm_projector, proj, repo, "mm_projector")
    if tower_from_checkpoint:
        if not tower:
            raise CheckpointLayoutError(f"{repo!r} sets unfreeze_mm_vision_tower but holds no vision tower weights")
        tower = {k: v for k, v in tower.items() if not k.endswith("position_ids")}
        _load_strict(model.vision_tower, tower, repo, "vision tower", ignore=("text_projection",))
    elif tower:
        # the authors' code builds the tower lazily from mm_vision_tower and never reads these
        unused += [_TOWER_PREFIX + k for k in tower]
    return unused


def _load_strict(module: nn.Module, state: dict[str, torch.Tensor], repo: str, what: str,
                 ignore: tuple[str, ...] = ()) -> None:
    own = module.state_dict()
    missing = sorted(k for k in own if k not in state)
    extra = sorted(k for k in state if k not in own and not k.startswith(ignore))
    if missing or extra:
        raise CheckpointLayoutError(f"{repo!r}: the {what} weights do not fit: missing {missing[:6]}, "
                                    f"unexpected {extra[:6]}")
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise CheckpointLayoutError(f"{repo!r}: {what} weight {k!r} has shape {tuple(v.shape)}, the config "
                                        f"says {tuple(own[k].shape)}")
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=True, assign=True)


def load_llava(repo: str, *, dtype: torch.dtype, device: Any, revision: str | None = None, trim: bool = True
               ) -> tuple[LlavaLlama, dict[str, Any], list[str]]:
    """Load an original-layout LLaVA checkpoint (repo id or folder): ``(model, raw config, unused keys)``.
    ``trim`` drops the CLIP tower's layers after the one read (:meth:`LlavaLlama.trim_vision_tower`);
    ``trim=False`` keeps the whole tower, as the reference runs it."""
    cfg = read_config(repo, revision)
    tower_repo = cfg["mm_vision_tower"]
    vision_config = vision_config_of(tower_repo)
    # built without memory, then every tensor is the checkpoint's own (assign=True): a 13B model never exists
    # twice, nor in float32 before the cast
    with torch.device("meta"):
        model = LlavaLlama(cfg, vision_config)
    # as LLaVA(-NeXT)'s tower builder: the checkpoint's tower weights are read only when it was trained
    tower_from_checkpoint = bool(cfg.get("unfreeze_mm_vision_tower")) or "mm_vision_tower" in str(
        cfg.get("mm_tunable_parts") or "")
    state = load_state_dict(repo, revision)
    unused = _assign(model, state, tower_from_checkpoint, repo)
    del state
    if not tower_from_checkpoint:
        from transformers.utils import logging as hf_logging

        previous = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the full CLIP repo's text_model.* keys are expected extras
        try:
            cls = type(model.vision_tower)
            model.vision_tower = cls.from_pretrained(tower_repo, config=vision_config, dtype=torch.float32,
                                                     cache_dir=os.environ.get("HF_HUB_CACHE") or None)
        finally:
            hf_logging.set_verbosity(previous)
    # buffers that were created on the meta device (rotary inv_freq, CLIP position ids) are rebuilt
    _rebuild_buffers(model)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise CheckpointLayoutError(f"{repo!r}: no weights for {left[:6]}")
    if trim:
        model.trim_vision_tower()
    model.to(device=device, dtype=dtype)
    model.eval()
    model.requires_grad_(False)
    return model, cfg, unused


def _rebuild_buffers(model: LlavaLlama) -> None:
    """Non-persistent buffers (never in a checkpoint, still on the meta device): recompute them as their modules do."""
    lm = model.language_model.model
    lm.rotary_emb = type(lm.rotary_emb)(lm.config)
    emb = model.vision_tower.embeddings
    emb.position_ids = torch.arange(emb.num_positions).expand((1, -1))
