"""BLIP-2 with the OpenAI CLIP ViT-L/14 vision encoder (``blip2-itm-vitL``, ``blip2-itc-vitL``), read from the
LAVIS checkpoints and mapped onto transformers' native classes. Importing this module imports torch.

There is no Hugging Face conversion of LAVIS's ``blip2`` / ``pretrain_vitL``. The reference builds it from two
files, both downloaded from the LAVIS authors' bucket and cached in torch hub's ``checkpoints/`` folder:

- ``clip_vit_L.pth``: the vision encoder in OpenAI CLIP's layout (``conv1``, ``class_embedding``,
  ``positional_embedding``, ``ln_pre``, ``transformer.resblocks.N``). LAVIS builds 21 residual blocks
  (``layers=22`` minus one: the last block is dropped), 16 heads, QuickGELU, and loads this file with
  ``strict=False``, so CLIP's later blocks, ``ln_post`` and ``proj`` are ignored;
- ``blip2_pretrained_vitL.pth``: ``{"model": state_dict}`` with ``ln_vision``, the Q-Former, ``query_tokens``,
  ``vision_proj`` / ``text_proj``, ``itm_head`` (and ``temp`` and the Q-Former's LM head, which ITM/ITC do not
  use), loaded on top with ``strict=False``.

Every used key maps: the ViT onto ``CLIPVisionModel`` (which has CLIP's pre-LayerNorm; ``Blip2VisionModel``
lacks it), followed by a LayerNorm holding ``ln_vision``; the rest onto ``Blip2ForImageTextRetrieval``. A key
of either file that maps nowhere and is not one of the known unused ones is an error naming it.
"""

from __future__ import annotations

import os
import re
from typing import Any

import torch
from torch import nn

CLIP_VIT_URL = "https://storage.googleapis.com/sfr-vision-language-research/LAVIS/models/BLIP2/clip_vit_L.pth"
#: LAVIS's ``create_clip_vit_L``: ``VisionTransformer(layers=22)`` builds ``layers - 1`` blocks
LAVIS_BLOCKS = 21
#: OpenAI CLIP ViT-L/14 has 64-wide heads (1024 / 16)
HEAD_DIM = 64
#: keys of the BLIP-2 checkpoint that ITM and ITC never read
UNUSED_BLIP2 = re.compile(r"^(temp|Qformer\.cls\..*|Qformer\.bert\.embeddings\.position_ids)$")
#: keys of OpenAI CLIP's vision tower that LAVIS's truncated copy does not have (strict=False drops them)
UNUSED_VIT = re.compile(r"^(ln_post\..*|proj|transformer\.resblocks\.(\d+)\..*)$")


class LavisClipVision(nn.Module):
    """LAVIS's CLIP ViT-L followed by ``ln_vision``: ``CLIPVisionModel``'s hidden states (CLS and patches,
    before its unused ``post_layernorm``) through a plain LayerNorm (eps 1e-5, computed in float32)."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        from transformers import CLIPVisionModel

        self.clip = CLIPVisionModel(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=1e-5)

    def forward(self, pixel_values: torch.Tensor, **_: Any) -> Any:
        """``last_hidden_state`` = ``ln_vision(ViT(pixels))``, ``(B, 1 + patches, width)``."""
        from transformers.modeling_outputs import BaseModelOutput

        hidden = self.clip(pixel_values=pixel_values).last_hidden_state
        ln = self.post_layernorm
        out = nn.functional.layer_norm(
            hidden.float(), ln.normalized_shape, ln.weight.float(), ln.bias.float(), ln.eps
        )
        return BaseModelOutput(last_hidden_state=out.to(hidden.dtype))


def fetch_checkpoint(url_or_path: str) -> tuple[dict[str, torch.Tensor], str]:
    """A LAVIS checkpoint's tensors, from a local path or a URL cached in torch hub's ``checkpoints/`` folder
    (where the reference caches it too), loaded with ``weights_only=True``; and where it was read from."""
    if os.path.isfile(url_or_path):
        path = url_or_path
    else:
        if not url_or_path.startswith(("https://", "http://")):
            raise FileNotFoundError(f"LAVIS checkpoint {url_or_path!r} is neither a file nor a URL")
        path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url_or_path))
        if not os.path.isfile(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.hub.download_url_to_file(url_or_path, path, progress=True)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise RuntimeError(
            f"could not read LAVIS checkpoint {path!r} with weights_only=True ({e}); a "
            "checkpoint holding arbitrary objects is refused on purpose"
        ) from e
    state = obj.get("model", obj) if isinstance(obj, dict) else obj
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError(
            f"LAVIS checkpoint {path!r} holds no state dict of tensors (under 'model' or at the top)"
        )
    return state, path


def map_vit(state: dict[str, torch.Tensor], blocks: int) -> dict[str, torch.Tensor]:
    """OpenAI-CLIP-layout ViT keys -> ``CLIPVisionModel`` keys, for the first ``blocks`` residual blocks."""
    out: dict[str, torch.Tensor] = {}
    unmapped = []
    for k, v in state.items():
        m = re.match(r"^transformer\.resblocks\.(\d+)\.(.+)$", k)
        if k == "conv1.weight":
            out["vision_model.embeddings.patch_embedding.weight"] = v
        elif k == "class_embedding":
            out["vision_model.embeddings.class_embedding"] = v
        elif k == "positional_embedding":
            out["vision_model.embeddings.position_embedding.weight"] = v
        elif k.startswith("ln_pre."):
            out["vision_model.pre_layrnorm." + k[len("ln_pre.") :]] = v
        elif m and int(m.group(1)) < blocks:
            pre, rest = f"vision_model.encoder.layers.{m.group(1)}.", m.group(2)
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = rest.rsplit("_", 1)[1]
                for name, part in zip(("q_proj", "k_proj", "v_proj"), v.chunk(3, dim=0)):
                    out[f"{pre}self_attn.{name}.{kind}"] = part.clone()
            else:
                renames = {
                    "attn.out_proj.": "self_attn.out_proj.",
                    "ln_1.": "layer_norm1.",
                    "ln_2.": "layer_norm2.",
                    "mlp.c_fc.": "mlp.fc1.",
                    "mlp.c_proj.": "mlp.fc2.",
                }
                for a, b in renames.items():
                    if rest.startswith(a):
                        out[pre + b + rest[len(a) :]] = v
                        break
                else:
                    unmapped.append(k)
        elif not UNUSED_VIT.match(k):
            unmapped.append(k)
    if unmapped:
        raise RuntimeError(f"LAVIS CLIP ViT keys that map onto no CLIPVisionModel weight: {unmapped[:20]}")
    return out


def map_blip2(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """LAVIS ``blip2`` (Q-Former, projections, ITM head, ``ln_vision``) keys -> ``Blip2ForImageTextRetrieval``
    keys (``ln_vision`` -> ``vision_model.post_layernorm``)."""
    out: dict[str, torch.Tensor] = {}
    unmapped = []
    fixed = {
        "query_tokens": "query_tokens",
        "Qformer.bert.embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
        "Qformer.bert.embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    }
    prefixes = {
        "ln_vision.": "vision_model.post_layernorm.",
        "Qformer.bert.embeddings.LayerNorm.": "qformer.layernorm.",
        "vision_proj.": "vision_projection.",
        "text_proj.": "text_projection.",
        "itm_head.": "itm_head.",
    }
    for k, v in state.items():
        if k in fixed:
            out[fixed[k]] = v
        elif k.startswith("Qformer.bert.encoder."):
            rest = k[len("Qformer.bert.encoder.") :].replace(".attention.self.", ".attention.attention.")
            out["qformer.encoder." + rest.replace(".crossattention.self.", ".crossattention.attention.")] = v
        elif any(k.startswith(p) for p in prefixes):
            p = next(p for p in prefixes if k.startswith(p))
            out[prefixes[p] + k[len(p) :]] = v
        elif k.startswith("visual_encoder."):
            continue  # a ViT inside the BLIP-2 file overrides clip_vit_L.pth: handled by the caller
        elif not UNUSED_BLIP2.match(k):
            unmapped.append(k)
    if unmapped:
        raise RuntimeError(
            f"LAVIS BLIP-2 keys that map onto no Blip2ForImageTextRetrieval weight: {unmapped[:20]}"
        )
    return out


def build_vitl(
    vit_state: dict[str, torch.Tensor],
    blip2_state: dict[str, torch.Tensor],
    bert_config: Any,
    image_size: int = 224,
) -> Any:
    """``Blip2ForImageTextRetrieval`` with a :class:`LavisClipVision` vision model, every weight from the two
    LAVIS state dicts (an unfilled weight is an error)."""
    from transformers import Blip2Config, Blip2ForImageTextRetrieval, CLIPVisionConfig

    # as LAVIS's strict=False loads: the BLIP-2 file's own ViT weights, if any, win over clip_vit_L.pth
    vit_state = {
        **vit_state,
        **{k[len("visual_encoder.") :]: v for k, v in blip2_state.items() if k.startswith("visual_encoder.")},
    }
    width, _, patch, _ = vit_state["conv1.weight"].shape
    present = {int(m.group(1)) for k in vit_state if (m := re.match(r"^transformer\.resblocks\.(\d+)\.", k))}
    blocks = min(LAVIS_BLOCKS, len(present))
    vision = CLIPVisionConfig(
        hidden_size=width,
        intermediate_size=vit_state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        num_hidden_layers=blocks,
        num_attention_heads=max(1, width // HEAD_DIM),
        image_size=image_size,
        patch_size=patch,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    )
    hidden = blip2_state["query_tokens"].shape[-1]
    layers = {
        int(m.group(1)) for k in blip2_state if (m := re.match(r"^Qformer\.bert\.encoder\.layer\.(\d+)\.", k))
    }
    qformer = {
        "hidden_size": hidden,
        "num_hidden_layers": len(layers),
        "num_attention_heads": bert_config.num_attention_heads,
        "intermediate_size": blip2_state["Qformer.bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
        "vocab_size": blip2_state["Qformer.bert.embeddings.word_embeddings.weight"].shape[0],
        "max_position_embeddings": blip2_state["Qformer.bert.embeddings.position_embeddings.weight"].shape[0],
        "layer_norm_eps": bert_config.layer_norm_eps,
        "hidden_act": bert_config.hidden_act,
        "cross_attention_frequency": 2,
        "encoder_hidden_size": width,
        "use_qformer_text_input": True,
    }
    # the Blip2 vision config records the input size and width (Blip2Config sizes the cross-attention from
    # it); its zero-layer vision model is replaced below
    config = Blip2Config(
        vision_config={
            "hidden_size": width,
            "intermediate_size": 8,
            "num_hidden_layers": 0,
            "num_attention_heads": 1,
            "image_size": image_size,
            "patch_size": patch,
        },
        qformer_config=qformer,
        num_query_tokens=blip2_state["query_tokens"].shape[1],
        image_text_hidden_size=blip2_state["vision_proj.weight"].shape[0],
    )
    model = Blip2ForImageTextRetrieval(config)
    model.vision_model = LavisClipVision(vision)
    # the CLIP tower sits at vision_model.clip (transformers 5's CLIPVisionModel has no inner prefix)
    mapped = {
        **map_blip2(blip2_state),
        **{
            "vision_model.clip." + k[len("vision_model.") :]: v for k, v in map_vit(vit_state, blocks).items()
        },
    }
    expected = model.state_dict()
    # CLIP's own post_layernorm only acts on the pooled output, which BLIP-2 never reads
    skip = {k for k in expected if k.startswith("vision_model.clip.post_layernorm.")}
    missing = sorted(set(expected) - set(mapped) - skip)
    extra = sorted(set(mapped) - set(expected))
    if missing or extra:
        raise RuntimeError(
            f"LAVIS BLIP-2 ViT-L checkpoint does not fill the native model: missing {missing[:20]}, "
            f"unexpected {extra[:20]}"
        )
    bad = [k for k, v in mapped.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        raise RuntimeError(
            f"LAVIS BLIP-2 ViT-L weights of unexpected shape: "
            f"{[(k, tuple(mapped[k].shape), tuple(expected[k].shape)) for k in bad[:10]]}"
        )
    model.load_state_dict(mapped, strict=False)
    return model.float().eval()


def load_lavis_vitl(
    url_or_path: str, tokenizer_repo: str, cache_dir: str | None = None, vit_url_or_path: str = CLIP_VIT_URL
) -> tuple[Any, Any, str]:
    """The vitL model, its BERT tokenizer (``bert-base-uncased`` + ``[DEC]``, as LAVIS) and provenance."""
    from transformers import AutoConfig, AutoTokenizer

    blip2_state, blip2_path = fetch_checkpoint(url_or_path)
    vit_state, vit_path = fetch_checkpoint(vit_url_or_path)
    bert_config = AutoConfig.from_pretrained(tokenizer_repo, cache_dir=cache_dir)
    model = build_vitl(vit_state, blip2_state, bert_config)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_repo, cache_dir=cache_dir)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    return model, tokenizer, f"{os.path.abspath(blip2_path)} + {os.path.abspath(vit_path)}"
