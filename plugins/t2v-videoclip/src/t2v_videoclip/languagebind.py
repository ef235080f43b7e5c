"""LanguageBind Video, inference only: a CLIP whose vision layers add a temporal attention across frames.

Written from the published checkpoint layout (``config.json`` + ``pytorch_model.bin`` in the
``LanguageBind/LanguageBind_Video*`` repos). Each vision layer first adds a per-frame temporal embedding and
attends over the frames at every patch position (pre-norm, residual), then runs the usual CLIP spatial
attention and MLP per frame. The video embedding is the mean over frames of the post-normed CLS token,
projected. The text tower is OpenAI CLIP's (causal, pooled at the first end-of-text token).

Checkpoints trained with LoRA on the temporal attention (``vision_config.lora_r > 0``) are stored in PEFT's
layout (``encoder.base_model.model.layers...base_layer.weight`` + ``lora_A`` / ``lora_B``); the adapters are
merged into the base weights at load time (``W + B @ A * lora_alpha / lora_r``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: checkpoint keys that are not weights of the inference path, with the reason
UNUSED_KEYS = {
    "logit_scale": "the score is the plain cosine; the temperature only scaled the training logits",
    "vision_model.embeddings.position_ids": "a buffer holding 0..N-1, recomputed",
    "text_model.embeddings.position_ids": "a buffer holding 0..76, recomputed",
}


def _act(name: str) -> Any:
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
        approx = "none" if name == "gelu" else "tanh"
        return lambda x: F.gelu(x, approximate=approx)
    raise ValueError(f"LanguageBind config: unsupported hidden_act {name!r} (expected quick_gelu or gelu)")


class Attention(nn.Module):
    """Multi-head attention with q/k/v/out projections (CLIP layout)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"LanguageBind config: hidden_size {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (p(x).view(b, n, self.heads, d // self.heads).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int, act: str) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Layer(nn.Module):
    """A pre-norm CLIP layer; with ``frames`` set, a temporal attention over the frames comes first."""

    def __init__(self, cfg: Mapping[str, Any], frames: int | None = None) -> None:
        super().__init__()
        d, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-5)
        self.self_attn = Attention(d, cfg["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d, cfg["intermediate_size"], cfg.get("hidden_act", "quick_gelu"))
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)
        self.frames = frames
        if frames is not None:
            self.temporal_embedding = nn.Parameter(torch.zeros(1, frames, d))
            self.temporal_attn = Attention(d, cfg["num_attention_heads"])
            self.temporal_layer_norm1 = nn.LayerNorm(d, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.frames is not None:
            t = self.frames
            bt, n, d = x.shape
            # (b t) n d -> (b n) t d: every patch position attends over the frames
            y = x.view(bt // t, t, n, d).transpose(1, 2).reshape(-1, t, d)
            if t != 1:
                y = y + self.temporal_embedding[:, :t]
            y = y + self.temporal_attn(self.temporal_layer_norm1(y))
            x = y.view(bt // t, n, t, d).transpose(1, 2).reshape(bt, n, d)
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, cfg: Mapping[str, Any], frames: int | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList([Layer(cfg, frames) for _ in range(cfg["num_hidden_layers"])])

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return x


class VisionEmbeddings(nn.Module):
    """Patch + class + position embeddings of each frame.

    The ``clip_type="vl_new"`` variant stores a Conv3d patch kernel (tube size 1) and one class embedding per
    frame; both are kept in that shape here so that its checkpoint loads as it is.
    """

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__()
        d, p = cfg["hidden_size"], cfg["patch_size"]
        self.frames = cfg["num_frames"]
        self.per_frame = cfg.get("clip_type", "vl") == "vl_new"
        if self.per_frame and cfg.get("tube_size", 1) != 1:
            raise ValueError(f"LanguageBind config: tube_size {cfg['tube_size']} is not supported (only 1)")
        self.class_embedding = nn.Parameter(torch.zeros(self.frames, d) if self.per_frame else torch.zeros(d))
        shape = (d, cfg.get("num_channels", 3), 1, p, p) if self.per_frame else (d, cfg.get("num_channels", 3), p, p)
        self.patch_embedding = nn.Module()
        self.patch_embedding.weight = nn.Parameter(torch.zeros(shape))
        self.patch = p
        self.position_embedding = nn.Embedding((cfg["image_size"] // p) ** 2 + 1, d)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """``pixels``: ``(B*T, C, H, W)`` frames; returns ``(B*T, 1 + patches, D)``."""
        w = self.patch_embedding.weight
        w = w[:, :, 0] if w.dim() == 5 else w
        patches = F.conv2d(pixels, w, stride=self.patch).flatten(2).transpose(1, 2)
        bt = pixels.shape[0]
        if self.per_frame:
            cls = self.class_embedding.unsqueeze(0).expand(bt // self.frames, -1, -1).reshape(bt, 1, -1)
        else:
            cls = self.class_embedding.expand(bt, 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight


class VisionTower(nn.Module):
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__()
        d, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-5)
        self.frames = cfg["num_frames"]
        self.embeddings = VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(d, eps=eps)
        self.encoder = Encoder(cfg, self.frames if cfg.get("add_time_attn", False) else None)
        self.post_layernorm = nn.LayerNorm(d, eps=eps)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """``video``: ``(B, T, C, H, W)``; returns the frame-averaged CLS features ``(B, D)``."""
        b, t = video.shape[:2]
        x = self.pre_layrnorm(self.embeddings(video.flatten(0, 1)))
        x = self.encoder(x)
        return self.post_layernorm(x[:, 0]).view(b, t, -1).mean(1)


class TextTower(nn.Module):
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__()
        d = cfg["hidden_size"]
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(cfg["vocab_size"], d)
        self.embeddings.position_embedding = nn.Embedding(cfg["max_position_embeddings"], d)
        self.encoder = Encoder(cfg)
        self.final_layer_norm = nn.LayerNorm(d, eps=cfg.get("layer_norm_eps", 1e-5))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """CLIP text features at the first position holding the largest id (the end-of-text token)."""
        n = input_ids.shape[1]
        x = self.embeddings.token_embedding(input_ids) + self.embeddings.position_embedding.weight[:n]
        neg = torch.finfo(x.dtype).min
        causal = torch.full((n, n), neg, dtype=x.dtype, device=x.device).triu(1)
        pad = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * neg
        mask = (causal + pad).clamp(min=neg)
        x = self.final_layer_norm(self.encoder(x, mask))
        return x[torch.arange(x.shape[0], device=x.device), input_ids.argmax(dim=-1)]


class LanguageBindVideoModel(nn.Module):
    """The two towers and their projections; :meth:`encode_video` and :meth:`encode_text` are unnormalised."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        v, t = config["vision_config"], config["text_config"]
        self.num_frames = int(v["num_frames"])
        self.image_size = int(v["image_size"])
        self.lora = (int(v.get("lora_r", 0) or 0), float(v.get("lora_alpha", 16)))
        dim = config.get("projection_dim", 512)
        self.vision_model = VisionTower(v)
        self.text_model = TextTower(t)
        self.visual_projection = nn.Linear(v["hidden_size"], dim, bias=False)
        self.text_projection = nn.Linear(t["hidden_size"], dim, bias=False)

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``(B, T, 3, H, W)`` normalised frames -> ``(B, projection_dim)``."""
        return self.visual_projection(self.vision_model(video))

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, L)`` -> ``(B, projection_dim)``."""
        return self.text_projection(self.text_model(input_ids, attention_mask))

    def load_checkpoint(self, state: Mapping[str, torch.Tensor]) -> dict[str, str]:
        """Load a published state dict (PEFT adapters merged); returns the unused keys with their reason.

        Raises ``ValueError`` naming any key that is neither loaded nor known to be unused, or any weight the
        checkpoint lacks.
        """
        state = merge_lora(state, *self.lora)
        unused = {k: UNUSED_KEYS[k] for k in state if k in UNUSED_KEYS}
        weights = {k: v for k, v in state.items() if k not in UNUSED_KEYS}
        own = self.state_dict()
        unknown = sorted(set(weights) - set(own))
        missing = sorted(set(own) - set(weights))
        if unknown or missing:
            raise ValueError(f"LanguageBind checkpoint does not match its config: unknown keys {unknown[:8]}, "
                             f"missing keys {missing[:8]}")
        bad = [k for k in own if own[k].shape != weights[k].shape]
        if bad:
            raise ValueError(f"LanguageBind checkpoint: wrong shapes for {bad[:5]} (e.g. {bad[0]}: checkpoint "
                             f"{tuple(weights[bad[0]].shape)}, config {tuple(own[bad[0]].shape)})")
        self.load_state_dict(weights, strict=True)
        return unused


_PEFT_PREFIX = re.compile(r"\.base_model\.model\.")


def merge_lora(state: Mapping[str, torch.Tensor], rank: int, alpha: float) -> dict[str, torch.Tensor]:
    """PEFT's layout back to plain keys, with each LoRA adapter merged into its base weight."""
    out: dict[str, torch.Tensor] = {}
    adapters: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        key = _PEFT_PREFIX.sub(".", key)
        m = re.match(r"(.*)\.lora_([AB])(?:\.[^.]+)?\.weight$", key)
        if m:
            adapters.setdefault(m.group(1), {})[m.group(2)] = value
            continue
        out[key.replace(".base_layer.", ".")] = value
    if adapters and rank <= 0:
        raise ValueError("LanguageBind checkpoint holds LoRA adapters but its config says lora_r = 0")
    scale = alpha / rank if rank > 0 else 0.0
    for module, ab in adapters.items():
        if set(ab) != {"A", "B"} or f"{module}.weight" not in out:
            raise ValueError(f"LanguageBind checkpoint: incomplete LoRA adapter for {module!r}")
        w = out[f"{module}.weight"]
        out[f"{module}.weight"] = (w.float() + scale * (ab["B"].float() @ ab["A"].float())).to(w.dtype)
    return out


def short_side_scale(video: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of ``(C, T, H, W)`` so that the short side is ``size`` (the long side floored), as
    pytorchvideo's ``ShortSideScale`` (no antialiasing)."""
    _, _, h, w = video.shape
    if w < h:
        new_h, new_w = int(math.floor(h / w * size)), size
    else:
        new_h, new_w = size, int(math.floor(w / h * size))
    return F.interpolate(video, size=(new_h, new_w), mode="bilinear", align_corners=False)


def center_crop(video: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` crop of ``(..., H, W)``, offsets rounded as torchvision's
    ``CenterCropVideo``."""
    h, w = video.shape[-2:]
    if h < size or w < size:
        raise ValueError(f"cannot crop {size}x{size} out of {h}x{w}")
    i, j = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return video[..., i:i + size, j:j + size]
