"""Loading InternVL checkpoints in their three layouts, behind one small interface.

- ``hf``: the native transformers layout (``OpenGVLab/InternVL3-*-hf``, ``InternVL3_5-*-HF``, fine-tunes saved
  with ``save_pretrained``): ``InternVLForConditionalGeneration`` plus ``InternVLProcessor``.
- ``original``: OpenGVLab's own layout (``InternVLChatModel`` remote code) whose language model transformers
  knows natively (Qwen2, Llama): the weights are renamed into the native layout while loading, no remote code
  runs. InternVL2.5-1B/4B/38B/78B load this way.
- ``remote``: the original remote code itself, run only when the user passes ``trust_remote_code=True``; the
  only way to run checkpoints whose language model transformers does not ship (InternLM2, Phi-3 in the
  InternVL2 family and InternVL2.5-2B/8B/26B).

Every loaded model comes with what scoring needs to know about it (:class:`InternVLModel`): tile size,
tokens per tile, normalization, chat rendering; for remote code also how to encode tiles and embed tokens.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .preprocess import IMAGENET_MEAN, IMAGENET_STD, IMG_CONTEXT
from .refusal import RemoteCodeRequiredError, remote_reason  # noqa: F401  (re-exported)

# The system message of InternVL2.5 / 3 / 3.5 (their "internvl2_5" conversation template), which the
# reference's chat path puts before every question.
INTERNVL25_SYSTEM = ("你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
                     "多模态大语言模型。")

# The chat template of the native checkpoints: ChatML, the same turns as the "internvl2_5" conversation template.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n'}}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{'<|im_end|>\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\n' }}{% endif %}"
)

# Language models that transformers ships, so an original-layout checkpoint built on them can be mapped.
_NATIVE_LM = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama"}


# What loading needs from a repo (the original repos also hold example media and training logs).
_FILES = ["*.json", "*.safetensors", "*.py", "*.txt", "*.model", "*.jinja", "*.tiktoken"]


def _resolve_folder(checkpoint: str, revision: str | None) -> Path:
    """A local folder holding ``checkpoint``: the folder itself, or its snapshot in the Hugging Face cache."""
    p = Path(checkpoint).expanduser()
    if p.is_dir():
        return p
    if checkpoint.startswith((".", "/", "~")) or checkpoint.count("/") != 1:
        raise FileNotFoundError(f"checkpoint {checkpoint!r} is neither an existing folder nor a Hugging Face repo id "
                                "('org/name'); pass the folder written by save_pretrained, or the repo id")
    from huggingface_hub import snapshot_download
    from t2v_hf.loading import CheckpointNotFoundError, hub_offline

    try:
        return Path(snapshot_download(checkpoint, revision=revision, local_files_only=True,
                                      allow_patterns=_FILES))
    except Exception as cached_error:  # noqa: BLE001 - any miss falls through to the hub or a clear error
        if hub_offline():
            raise CheckpointNotFoundError(
                f"the files of {checkpoint!r} are not in the Hugging Face cache and the hub is offline "
                f"(HF_HUB_OFFLINE=1). Download them once with `hf download {checkpoint}`, or pass "
                f"checkpoint=<a local folder>. ({cached_error})") from cached_error
    return Path(snapshot_download(checkpoint, revision=revision, allow_patterns=_FILES))


def checkpoint_layout(folder: Path) -> str:
    """``"hf"`` for a native checkpoint, ``"original"`` for OpenGVLab's ``internvl_chat`` layout."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") == "internvl":
        return "hf"
    if config.get("model_type") == "internvl_chat" or "llm_config" in config:
        return "original"
    raise ValueError(f"{folder} holds a {config.get('model_type')!r} checkpoint, not an InternVL one")


def original_lm_architecture(folder: Path) -> str:
    """The language model class named by an original-layout config (e.g. ``"InternLM2ForCausalLM"``)."""
    config = json.loads((folder / "config.json").read_text())
    llm = config.get("llm_config", {})
    arch = (llm.get("architectures") or ["?"])[0]
    return str(arch)


@dataclass
class InternVLModel:
    """A loaded InternVL model with what scoring needs to know about it."""

    model: Any
    tokenizer: Any
    tile: int
    tokens_per_tile: int
    system_message: str | None
    layout: str
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    eos_token_ids: list[int] = field(default_factory=list)
    _conv_factory: Any = None

    @property
    def image_token_id(self) -> int:
        """The id of ``<IMG_CONTEXT>``, the token whose embeddings the image features replace."""
        return int(self.tokenizer.convert_tokens_to_ids(IMG_CONTEXT))

    @property
    def device(self) -> torch.device:
        """Where the model's first parameter lives (inputs go there)."""
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The model's floating dtype."""
        return next(self.model.parameters()).dtype

    # ------------------------------------------------------------------ operations
    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Vision tower + projector: ``(tiles, 3, t, t)`` -> ``(tiles, tokens_per_tile, hidden)``."""
        pixels = pixels.to(self.device, self.dtype)
        if self.layout == "remote":
            return self.model.extract_feature(pixels)
        out = self.model.model.get_image_features(pixel_values=pixels, return_dict=True)
        return out.pooler_output

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings of ``ids``."""
        return self.language_model.get_input_embeddings()(ids.to(self.device))

    @property
    def language_model(self) -> Any:
        """The module whose input embeddings are the token embeddings."""
        return self.model.language_model if self.layout == "remote" else self.model.model.language_model

    def render(self, user_text: str) -> str:
        """The full prompt: the model's chat template around ``user_text``, with the generation prompt."""
        if self.layout == "remote":
            conv = self._conv_factory(self.model.template)
            conv.system_message = self.system_message if self.system_message is not None else self.model.system_message
            conv.append_message(conv.roles[0], user_text)
            conv.append_message(conv.roles[1], None)
            return str(conv.get_prompt())
        messages = []
        if self.system_message:
            messages.append({"role": "system", "content": self.system_message})
        messages.append({"role": "user", "content": user_text})
        return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def _cache_kwarg(module: Any) -> str:
    """transformers renamed ``past_key_values`` to ``cache``; use whichever this model's forward takes."""
    import inspect

    params = inspect.signature(module.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _eos_ids(tokenizer: Any, *extra: int | None) -> list[int]:
    ids = {int(i) for i in extra if i is not None}
    for tok in ("<|im_end|>", "<|end|>", "<|eot_id|>"):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != getattr(tokenizer, "unk_token_id", None) and tid >= 0:
            ids.add(tid)
    return sorted(ids)


# ---------------------------------------------------------------------------------------------- hf layout


def image_settings(folder: Path) -> dict[str, Any]:
    """The image processor's tile size and normalization, read from the checkpoint's processor files.

    Read as JSON rather than through ``AutoProcessor``: transformers' InternVL processors import torchvision,
    which scoring does not otherwise need (the tiling here is the family's own PIL code).
    """
    settings: dict[str, Any] = {}
    pre = folder / "preprocessor_config.json"
    proc = folder / "processor_config.json"
    if pre.exists():
        settings = json.loads(pre.read_text())
    elif proc.exists():
        settings = json.loads(proc.read_text()).get("image_processor", {})
    if proc.exists() and "image_seq_length" in (top := json.loads(proc.read_text())):
        settings["image_seq_length"] = top["image_seq_length"]
    return settings


def load_hf(folder: Path, *, device: Any, dtype: Any, system_message: str | None, **model_kwargs: Any
            ) -> InternVLModel:
    """A native checkpoint: ``InternVLForConditionalGeneration``, its tokenizer and chat template."""
    from transformers import AutoTokenizer, InternVLForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = InternVLForConditionalGeneration.from_pretrained(str(folder), dtype=dtype, **model_kwargs)
    model.to(device).eval()
    cfg = model.config
    settings = image_settings(folder)
    size = settings.get("size") or {}
    tile = int(size.get("height") or cfg.vision_config.image_size[0])
    patch = int(cfg.vision_config.patch_size[0])
    # tokens per tile follow from the architecture: (tile / patch)^2 patches, pixel-shuffled by the ratio
    tokens = int(round((tile // patch) ** 2 * cfg.downsample_ratio ** 2))
    if settings.get("image_seq_length") not in (None, tokens):
        raise ValueError(f"{folder}: the processor says {settings['image_seq_length']} tokens per tile, the model "
                         f"config implies {tokens}; the checkpoint is inconsistent")
    if getattr(tokenizer, "chat_template", None) is None:
        tokenizer.chat_template = CHATML_TEMPLATE
    eos = model.generation_config.eos_token_id
    return InternVLModel(model=model, tokenizer=tokenizer, tile=tile, tokens_per_tile=tokens,
                         system_message=system_message, layout="hf",
                         mean=tuple(settings.get("image_mean") or IMAGENET_MEAN),
                         std=tuple(settings.get("image_std") or IMAGENET_STD),
                         eos_token_ids=_eos_ids(tokenizer, eos if isinstance(eos, int) else None))


# ---------------------------------------------------------------------------------------- original layout

_VISION_RENAMES = [
    (r"^vision_model\.", "model.vision_tower."),
    (r"\.layers\.", ".layer."),
    (r"embeddings\.class_embedding", "embeddings.cls_token"),
    (r"embeddings\.position_embedding", "embeddings.position_embeddings"),
    (r"embeddings\.patch_embedding", "embeddings.patch_embeddings.projection"),
    (r"\.ls(\d)", r".lambda_\1"),
    (r"\.attn\.proj\.", ".attention.projection_layer."),
    (r"\.attn\.", ".attention."),
    (r"\.norm1\.", ".layernorm_before."),
    (r"\.norm2\.", ".layernorm_after."),
]
_PROJECTOR_RENAMES = {"mlp1.0.": "model.multi_modal_projector.layer_norm.",
                      "mlp1.1.": "model.multi_modal_projector.linear_1.",
                      "mlp1.3.": "model.multi_modal_projector.linear_2."}


def original_to_native_key(key: str) -> str:
    """The native name of an original-layout weight (Qwen2/Llama language models keep their own names)."""
    if key.startswith("vision_model."):
        for pattern, repl in _VISION_RENAMES:
            key = re.sub(pattern, repl, key)
        return key
    if key.startswith("language_model.model."):
        return "model.language_model." + key[len("language_model.model."):]
    if key.startswith("language_model.lm_head."):
        return "lm_head." + key[len("language_model.lm_head."):]
    for old, new in _PROJECTOR_RENAMES.items():
        if key.startswith(old):
            return new + key[len(old):]
    return key


def native_config_from_original(config: dict[str, Any], image_token_id: int) -> Any:
    """The ``InternVLConfig`` equivalent to an original ``internvl_chat`` config."""
    from transformers import InternVLConfig

    llm = dict(config["llm_config"])
    arch = (llm.get("architectures") or ["?"])[0]
    text = {k: v for k, v in llm.items() if not k.startswith("_") and k not in (
        "architectures", "auto_map", "attn_implementation", "use_bfloat16", "torch_dtype", "dtype", "transformers_version")}
    text["model_type"] = _NATIVE_LM[arch]
    v = dict(config["vision_config"])
    tile = int(config.get("force_image_size") or v.get("image_size", 448))
    patch = int(v.get("patch_size", 14))
    vision = dict(hidden_size=v["hidden_size"], num_hidden_layers=v["num_hidden_layers"],
                  num_attention_heads=v["num_attention_heads"], intermediate_size=v["intermediate_size"],
                  hidden_act=v.get("hidden_act", "gelu"), layer_norm_eps=v.get("layer_norm_eps", 1e-6),
                  norm_type=v.get("norm_type", "layer_norm"), use_qk_norm=bool(v.get("qk_normalization", False)),
                  attention_bias=bool(v.get("qkv_bias", True)), image_size=[tile, tile], patch_size=[patch, patch],
                  # InternViT applies no final norm; the native tower skips it when use_mean_pooling is set
                  use_absolute_position_embeddings=True, use_mean_pooling=True)
    ratio = float(config.get("downsample_ratio", 0.5))
    select = int(config.get("select_layer", -1))
    return InternVLConfig(text_config=text, vision_config=vision, downsample_ratio=ratio,
                          vision_feature_layer=select, image_token_id=image_token_id,
                          image_seq_length=int((tile // patch) ** 2 * ratio ** 2),
                          tie_word_embeddings=bool(llm.get("tie_word_embeddings", False)))


def _read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() else ["model.safetensors"]
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(str(folder / f)))
    return state


def convert_original_state_dict(state: dict[str, torch.Tensor], vision_hidden: int) -> dict[str, torch.Tensor]:
    """Rename original weights to the native layout, splitting the vision tower's fused ``qkv``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = original_to_native_key(key)
        if ".attention.qkv." in new:
            q, k, v = value.split(vision_hidden, dim=0)
            for name, part in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
                out[new.replace(".qkv.", f".{name}.")] = part
        else:
            out[new] = value
    return out


def _check_mapped(model: Any, state: dict[str, torch.Tensor], name: str, folder: Path) -> None:
    # every native weight must come from the checkpoint (a tied lm_head excepted), and every mapped one be used
    names = set(model.state_dict())
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    missing = sorted(names - set(state) - tied)
    unexpected = sorted(set(state) - names)
    if missing or unexpected:
        raise ValueError(f"{name}: the original weights in {folder} do not map onto InternVLForConditionalGeneration "
                         f"(missing {missing[:5]}, unexpected {unexpected[:5]}); is this an InternVL checkpoint?")


def load_original(folder: Path, *, device: Any, dtype: Any, system_message: str | None, name: str,
                  **model_kwargs: Any) -> InternVLModel:
    """An original-layout checkpoint whose language model transformers ships, mapped to the native classes."""
    from transformers import AutoTokenizer, InternVLForConditionalGeneration

    config = json.loads((folder / "config.json").read_text())
    arch = original_lm_architecture(folder)
    if arch not in _NATIVE_LM:
        raise RemoteCodeRequiredError(remote_reason(name, f"its language model ({arch}) is not part of transformers"))
    if arch == "Qwen2ForCausalLM":
        # name the class: the repo's config.json points at remote code, which AutoTokenizer would consult
        from transformers import Qwen2Tokenizer

        tokenizer = Qwen2Tokenizer.from_pretrained(str(folder))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    # The original checkpoints talk through the "internvl2_5" conversation (ChatML), whatever their tokenizer says.
    tokenizer.chat_template = CHATML_TEMPLATE
    native = native_config_from_original(config, int(tokenizer.convert_tokens_to_ids(IMG_CONTEXT)))
    state = convert_original_state_dict(_read_state_dict(folder), native.vision_config.hidden_size)
    # from_pretrained with a state dict builds the model on the meta device and fills it from the mapped weights
    model = InternVLForConditionalGeneration.from_pretrained(None, config=native, state_dict=state, dtype=dtype,
                                                             **model_kwargs)
    _check_mapped(model, state, name, folder)
    model.to(device=device, dtype=dtype).eval()
    tile = native.vision_config.image_size[0]
    return InternVLModel(model=model, tokenizer=tokenizer, tile=tile, tokens_per_tile=native.image_seq_length,
                         system_message=system_message, layout="hf", eos_token_ids=_eos_ids(tokenizer))


# ------------------------------------------------------------------------------------------ remote layout


def load_remote(folder_or_repo: str, *, device: Any, dtype: Any, revision: str | None, system_message: str | None
                ) -> InternVLModel:
    """An original-layout checkpoint through its own remote code (the user allowed it)."""
    from t2v_hf.loading import from_pretrained, transformers_version
    from transformers import AutoModel, AutoTokenizer

    # the remote code's era (its worker environment) names the argument torch_dtype; an unknown keyword would
    # land in the config as a torch.dtype that its JSON dump then fails on
    dtype_key = "dtype" if transformers_version() >= (4, 56) else "torch_dtype"
    model = from_pretrained(AutoModel, folder_or_repo, revision=revision, what="model", trust_remote_code=True,
                            **{dtype_key: dtype})
    model.to(device).eval()
    tokenizer = from_pretrained(AutoTokenizer, folder_or_repo, revision=revision, what="tokenizer",
                                trust_remote_code=True, use_fast=False)
    model.img_context_token_id = tokenizer.convert_tokens_to_ids(IMG_CONTEXT)
    module = sys.modules[type(model).__module__]
    conv_factory = getattr(module, "get_conv_template", None)
    if conv_factory is None:
        raise ValueError(f"{folder_or_repo}: its remote code has no get_conv_template; is it an InternVL checkpoint?")
    cfg = model.config
    tile = int(getattr(cfg, "force_image_size", None) or cfg.vision_config.image_size)
    conv = conv_factory(model.template)
    sep_id = tokenizer.convert_tokens_to_ids(conv.sep.strip())
    return InternVLModel(model=model, tokenizer=tokenizer, tile=tile, tokens_per_tile=int(model.num_image_token),
                         system_message=system_message, layout="remote", _conv_factory=conv_factory,
                         eos_token_ids=_eos_ids(tokenizer, sep_id if isinstance(sep_id, int) else None))


# ---------------------------------------------------------------------------------------------- dispatcher


def load(name: str, checkpoint: str, *, device: Any, dtype: Any, revision: str | None = None,
         system_message: str | None = None, trust_remote_code: bool = False, remote_only: bool = False,
         attn_implementation: str | None = None) -> tuple[InternVLModel, str]:
    """Load ``checkpoint`` for model ``name`` in whatever layout it is; returns the model and its revision.

    A native checkpoint loads natively. An original-layout one is mapped onto the native classes when its
    language model and conversation template allow it (and ``remote_only`` is not set); otherwise it needs
    ``trust_remote_code=True``, and without it the error says so and why.
    """
    from t2v_hf.loading import weights_revision

    if remote_only and not trust_remote_code:
        # refuse before downloading many gigabytes of a checkpoint that cannot run without its code
        raise RemoteCodeRequiredError(remote_reason(
            name, "its language model and conversation template are defined only in that code"))
    folder = _resolve_folder(checkpoint, revision)
    layout = checkpoint_layout(folder)
    rev = weights_revision(checkpoint, revision) or str(folder)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if layout == "hf":
        return load_hf(folder, device=device, dtype=dtype, system_message=system_message, **extra), rev
    arch = original_lm_architecture(folder)
    template = json.loads((folder / "config.json").read_text()).get("template")
    mappable = arch in _NATIVE_LM and template == "internvl2_5" and not remote_only
    if mappable:
        return load_original(folder, device=device, dtype=dtype, system_message=system_message, name=name,
                             **extra), rev
    if not trust_remote_code:
        why = (f"its language model ({arch}) is not part of transformers" if arch not in _NATIVE_LM
               else f"its conversation template ({template!r}) is defined only in that code")
        raise RemoteCodeRequiredError(remote_reason(name, why))
    return load_remote(str(folder), device=device, dtype=dtype, revision=None, system_message=system_message), rev
