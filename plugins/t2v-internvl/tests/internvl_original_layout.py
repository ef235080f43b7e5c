"""Write a native tiny checkpoint back in OpenGVLab's original ``internvl_chat`` layout (config and weight names)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch


def _original_name(key: str) -> str:
    # native (in-memory) name -> original name, spelled out independently of the plugin's mapping
    if key.startswith("model.vision_tower."):
        k = "vision_model." + key[len("model.vision_tower."):]
        for new, old in (("encoder.layer.", "encoder.layers."), ("embeddings.cls_token", "embeddings.class_embedding"),
                         ("embeddings.position_embeddings", "embeddings.position_embedding"),
                         ("embeddings.patch_embeddings.projection", "embeddings.patch_embedding"),
                         ("lambda_1", "ls1"), ("lambda_2", "ls2"), ("attention.projection_layer", "attn.proj"),
                         ("attention.", "attn."), ("layernorm_before", "norm1"), ("layernorm_after", "norm2")):
            k = k.replace(new, old)
        return k
    if key.startswith("model.language_model."):
        return "language_model.model." + key[len("model.language_model."):]
    if key.startswith("lm_head."):
        return "language_model." + key
    for new, old in (("model.multi_modal_projector.layer_norm.", "mlp1.0."),
                     ("model.multi_modal_projector.linear_1.", "mlp1.1."),
                     ("model.multi_modal_projector.linear_2.", "mlp1.3.")):
        if key.startswith(new):
            return old + key[len(new):]
    raise KeyError(key)


def write_original_layout(native: Path, out: Path) -> Path:
    """Same weights as ``native``, saved as an original-layout InternVL2.5 repo (Qwen2 language model)."""
    from safetensors.torch import save_file
    from transformers import InternVLForConditionalGeneration

    out.mkdir(parents=True, exist_ok=True)
    model = InternVLForConditionalGeneration.from_pretrained(native)
    state = model.state_dict()
    orig: dict[str, torch.Tensor] = {}
    fused: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        name = _original_name(key)
        for part in ("q_proj", "k_proj", "v_proj"):
            if name.startswith("vision_model.") and f".attn.{part}." in name:
                fused.setdefault(name.replace(f"attn.{part}.", "attn.qkv."), {})[part] = value
                break
        else:
            orig[name] = value.contiguous()
    for name, parts in fused.items():
        orig[name] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], dim=0).contiguous()
    save_file(orig, str(out / "model.safetensors"))

    cfg = model.config
    text = cfg.text_config.to_dict()
    text["architectures"] = ["Qwen2ForCausalLM"]
    v = cfg.vision_config
    config = {
        "model_type": "internvl_chat", "architectures": ["InternVLChatModel"], "template": "internvl2_5",
        "force_image_size": v.image_size[0], "downsample_ratio": cfg.downsample_ratio, "select_layer": -1,
        "ps_version": "v2", "llm_config": text,
        "vision_config": {"hidden_size": v.hidden_size, "num_hidden_layers": v.num_hidden_layers,
                          "num_attention_heads": v.num_attention_heads, "intermediate_size": v.intermediate_size,
                          "image_size": v.image_size[0], "patch_size": v.patch_size[0], "qkv_bias": False,
                          "qk_normalization": False, "norm_type": "layer_norm", "layer_norm_eps": v.layer_norm_eps,
                          "hidden_act": v.hidden_act},
    }
    (out / "config.json").write_text(json.dumps(config, indent=1))
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(native / f, out / f)
    return out
