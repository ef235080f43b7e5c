"""Loading a Tarsier2 checkpoint into transformers' native ``Qwen2VLForConditionalGeneration``.

A Tarsier2 repo is Tarsier's own wrapper (``TarsierForConditionalGeneration``, a LLaVA-style ``config.json``
with ``model_type: llava``) around Qwen2-VL parts: ``text_config`` is a Qwen2-VL LM config (mrope),
``vision_config`` a Qwen2-VL vision tower config, and ``projection_head`` is null, so the tower's own merger
is the projector. Its weights are ``vision_tower.*`` (tower and merger), ``language_model.model.*`` and
``language_model.lm_head.*``: the native class's modules under other names. We rebuild a native
``Qwen2VLConfig`` from the two sub-configs, map each checkpoint prefix onto the native module that has the same
parameters, and refuse a checkpoint with any key, shape or config field this mapping does not account for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from t2v_hf.loading import CheckpointNotFoundError, from_pretrained, hub_offline, is_local

TARSIER_ARCHITECTURE = "TarsierForConditionalGeneration"
# Tarsier's custom-code keys that have no meaning for the native class (its remote-code pointers, and
# flash-attn, which the native class replaces by sdpa/eager, the same attention)
_DROP = ("auto_map", "architectures", "model_type", "attn_implementation", "torch_dtype", "_name_or_path",
         "transformers_version")


class TarsierLayoutError(ValueError):
    """The checkpoint is not laid out as a Tarsier2 (Qwen2-VL) checkpoint, so it cannot be mapped exactly."""


def repo_file(checkpoint: str, filename: str, revision: str | None = None, required: bool = True) -> Path | None:
    """Path of ``filename`` in a local folder or a hub repo (the cache first, the hub unless offline)."""
    if is_local(checkpoint):
        path = Path(checkpoint).expanduser() / filename
        if path.is_file():
            return path
        if required:
            raise CheckpointNotFoundError(f"{checkpoint!r} has no {filename}: it is not a Tarsier2 checkpoint folder")
        return None
    from huggingface_hub import hf_hub_download
    from t2v_hf.loading import cache_dir

    try:
        return Path(hf_hub_download(checkpoint, filename, revision=revision, cache_dir=cache_dir(),
                                    local_files_only=True))
    except Exception as cached_error:  # not cached (or not in the repo)
        if hub_offline():
            if required:
                raise CheckpointNotFoundError(
                    f"{filename} of {checkpoint!r} is not in the Hugging Face cache and the hub is offline "
                    f"(HF_HUB_OFFLINE=1): run `t2v download MODEL` (or `hf download {checkpoint}`) first, or pass "
                    f"checkpoint=<a local folder> ({cached_error})") from cached_error
            return None
    try:
        return Path(hf_hub_download(checkpoint, filename, revision=revision, cache_dir=cache_dir()))
    except Exception as e:
        if required:
            raise CheckpointNotFoundError(f"could not get {filename} of {checkpoint!r}: {e}") from e
        return None


def _int_if_integral(value: Any) -> Any:
    # Tarsier's configs may write integral sizes as floats (mlp_ratio); the native configs type them as int
    return int(value) if isinstance(value, float) and value.is_integer() else value


def native_config(raw: dict[str, Any], source: str) -> Any:
    """The native ``Qwen2VLConfig`` equivalent to a Tarsier2 ``config.json`` (checked field by field)."""
    from transformers import Qwen2VLConfig

    if TARSIER_ARCHITECTURE not in (raw.get("architectures") or []):
        raise TarsierLayoutError(f"{source}: config.json names architectures {raw.get('architectures')!r}, not "
                                 f"{TARSIER_ARCHITECTURE!r}: not a Tarsier checkpoint")
    text, vision = raw.get("text_config"), raw.get("vision_config")
    if not isinstance(text, dict) or not isinstance(vision, dict):
        raise TarsierLayoutError(f"{source}: config.json has no text_config / vision_config")
    if text.get("model_type") != "qwen2_vl":
        raise TarsierLayoutError(
            f"{source}: text_config.model_type is {text.get('model_type')!r}; only Tarsier2 (a Qwen2-VL LM, "
            "model_type 'qwen2_vl') maps onto the native Qwen2-VL class. Tarsier v1 (LLaMA / Yi LM with a CLIP "
            "tower and a LLaVA projector) does not")
    if raw.get("projection_head", "MLP") is not None:
        raise TarsierLayoutError(
            f"{source}: projection_head is {raw.get('projection_head', 'MLP (the default)')!r}; Tarsier2 has none "
            "(the Qwen2-VL merger is its projector), and a checkpoint with another head does not map exactly")
    image_token = text.get("image_token_id")
    if raw.get("image_token_index") != image_token:
        raise TarsierLayoutError(
            f"{source}: image_token_index {raw.get('image_token_index')} (where Tarsier writes vision features) "
            f"differs from text_config.image_token_id {image_token} (what its positions count); the native class "
            "uses one id for both")
    if vision.get("hidden_size") != text.get("hidden_size"):
        raise TarsierLayoutError(f"{source}: vision_config.hidden_size {vision.get('hidden_size')} is not the LM's "
                                 f"hidden_size {text.get('hidden_size')}: the merger output cannot feed the LM")
    # a vision_config inside text_config (a Qwen2VLConfig dump) is not what Tarsier builds its tower from:
    # the top-level one is
    text_kwargs = {k: _int_if_integral(v) for k, v in text.items() if k not in _DROP and k != "vision_config"}
    vision_kwargs = {k: _int_if_integral(v) for k, v in vision.items() if k not in _DROP}
    return Qwen2VLConfig(**text_kwargs, vision_config=vision_kwargs, architectures=["Qwen2VLForConditionalGeneration"])


def checkpoint_keys(checkpoint: str, revision: str | None = None) -> list[str]:
    """Every tensor name in the checkpoint (the shard index, or the single file's header)."""
    index = repo_file(checkpoint, "model.safetensors.index.json", revision, required=False)
    if index is not None:
        return sorted(json.loads(index.read_text())["weight_map"])
    single = repo_file(checkpoint, "model.safetensors", revision, required=False)
    if single is None:
        raise CheckpointNotFoundError(f"{checkpoint!r} has neither model.safetensors nor model.safetensors.index.json "
                                      "(Tarsier2 ships safetensors)")
    from safetensors import safe_open

    with safe_open(str(single), "pt") as f:
        return sorted(f.keys())


def key_mapping(config: Any) -> dict[str, str]:
    """Checkpoint prefix (regex) -> the native class's prefix for the same module, read off the native class
    itself (its layout changed across transformers releases: ``visual.`` / ``model.visual.``)."""
    import torch
    from transformers import Qwen2VLForConditionalGeneration

    with torch.device("meta"):
        keys = list(Qwen2VLForConditionalGeneration(config).state_dict())

    def prefix(suffix: str) -> str:
        hits = [k[: -len(suffix)] for k in keys if k.endswith(suffix)]
        if len(hits) != 1:
            raise RuntimeError(f"the installed transformers' Qwen2-VL class has {len(hits)} '{suffix}' weights")
        return hits[0]

    return {r"^vision_tower\.": prefix("patch_embed.proj.weight"),
            r"^language_model\.model\.": prefix("embed_tokens.weight"),
            r"^language_model\.lm_head\.": prefix("lm_head.weight") + "lm_head.",
            "_native_keys": keys}  # type: ignore[dict-item]


def check_keys(ckpt_keys: list[str], mapping: dict[str, Any], config: Any, source: str) -> None:
    """Every checkpoint key maps onto a native key, and every native key is given (tied lm_head excepted)."""
    native = set(mapping["_native_keys"])
    rules = [(re.compile(p), r) for p, r in mapping.items() if not p.startswith("_")]
    mapped, unknown = set(), []
    for key in ckpt_keys:
        for pattern, repl in rules:
            if pattern.match(key):
                mapped.add(pattern.sub(repl, key, count=1))
                break
        else:
            unknown.append(key)
    if unknown:
        raise TarsierLayoutError(f"{source}: {len(unknown)} checkpoint key(s) match no Qwen2-VL module, e.g. "
                                 f"{unknown[:3]}: the checkpoint does not map exactly onto Qwen2VLForConditionalGeneration")
    not_native = sorted(mapped - native)
    if not_native:
        raise TarsierLayoutError(f"{source}: mapped key(s) {not_native[:3]} do not exist in the native class")
    missing = native - mapped
    if getattr(config.get_text_config(), "tie_word_embeddings", False) or getattr(config, "tie_word_embeddings", False):
        missing = {k for k in missing if not k.endswith("lm_head.weight")}
    if missing:
        raise TarsierLayoutError(f"{source}: the checkpoint lacks {len(missing)} weight(s) of the native class, e.g. "
                                 f"{sorted(missing)[:3]}")


def load_model(checkpoint: str, revision: str | None, **kwargs: Any) -> Any:
    """The native ``Qwen2VLForConditionalGeneration`` holding a Tarsier2 checkpoint's weights (every key, shape
    and config field checked), with the checkpoint's generation config."""
    from transformers import Qwen2VLForConditionalGeneration

    raw = json.loads(repo_file(checkpoint, "config.json", revision).read_text())  # type: ignore[union-attr]
    config = native_config(raw, checkpoint)
    mapping = key_mapping(config)
    check_keys(checkpoint_keys(checkpoint, revision), mapping, config, checkpoint)
    rules = {p: r for p, r in mapping.items() if not p.startswith("_")}
    model, info = from_pretrained(Qwen2VLForConditionalGeneration, checkpoint, revision=revision, what="model",
                                  config=config, key_mapping=rules, output_loading_info=True, **kwargs)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys",
                                                             "error_msgs")}
    if problems:
        raise TarsierLayoutError(f"{checkpoint}: loading into Qwen2VLForConditionalGeneration reported {problems}")
    return model
