"""InternVideo2 stage 2 (1B) video-text model, inference only: its ViT, attention pooling and a fusion BERT.

Written from the published checkpoint layout (``zhiqiulin/internvideo2_1b_stage2``: one ``.pth`` holding the
whole model under ``"module"``, the text tower under ``text_encoder.bert.*``). Widths and depths are read off
the checkpoint's shapes; the ViT's 16 heads (88-dim at width 1408) are an option, BERT heads are 64-dim.

- vision: Conv3d patches (tubelet 1) over ``T`` frames, a class token, a learned position table (one for
  videos of the trained frame count, one for single images), pre-norm blocks with RMSNorm, RMS-normalised
  queries and keys, layer scale; no final norm. The cross-attention memory is every token; the pooled
  embedding is an attention pooling (one query, the mean token) to the CLIP width.
- text: BERT (the same fusion BERT as UMT's, :class:`t2v_videoclip.umt.XBert`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .umt import HEAD_DIM, XBert

UNUSED_PATTERNS = (
    (re.compile(r"^temp$"), "the contrastive temperature; the reference's score divides by 1.0"),
    (re.compile(r"^text_encoder\.cls\."), "the masked-language-model head of pre-training"),
    (re.compile(r"^text_encoder\.embeddings\.position_ids$"), "a buffer holding 0..N-1, recomputed"),
    (re.compile(r"^vision_encoder\.(clip_decoder|final_clip_decoder)\."),
     "the distillation heads of pre-training (teacher off)"),
    (re.compile(r"^vision_encoder\.clip_(img_)?pos_embed$"), "position tables of the distillation heads"),
)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.float()
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * y.to(x.dtype)


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() * self.gamma.float()).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.q_norm = RMSNorm(dim)
        self.k_norm = RMSNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        # queries and keys are RMS-normalised over all heads together
        q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (t.view(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, qkv_bias: bool) -> None:
        super().__init__()
        self.norm1 = RMSNorm(dim)
        self.attn = Attention(dim, heads, qkv_bias)
        self.ls1 = LayerScale(dim)
        self.norm2 = RMSNorm(dim)
        self.mlp = Mlp(dim, hidden)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PoolingAttention(nn.Module):
    """One-query cross-attention with separate q/k/v biases, projected to the output width."""

    def __init__(self, dim: int, out_dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.k_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, out_dim)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        b, d = q.shape[0], q.shape[-1]
        q = F.linear(q, self.q.weight, self.q_bias)
        k = F.linear(k, self.k.weight, self.k_bias)
        v = F.linear(v, self.v.weight, self.v_bias)
        q, k, v = (t.view(b, -1, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, -1, d))


class AttentionPooling(nn.Module):
    def __init__(self, dim: int, out_dim: int, heads: int) -> None:
        super().__init__()
        self.norm1_q = nn.LayerNorm(dim, eps=1e-5)
        self.norm1_k = nn.LayerNorm(dim, eps=1e-5)
        self.norm1_v = nn.LayerNorm(dim, eps=1e-5)
        self.cross_attn = PoolingAttention(dim, out_dim, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.norm1_q(x.mean(1, keepdim=True))
        return self.cross_attn(q, self.norm1_k(x), self.norm1_v(x)).squeeze(1)


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(1, patch, patch), stride=(1, patch, patch))


class InternVideo2Vision(nn.Module):
    """``(B, 3, T, H, W)`` -> (all tokens ``(B, 1 + T*P, D)``, pooled ``(B, clip_dim)``)."""

    def __init__(self, arch: Mapping[str, Any]) -> None:
        super().__init__()
        d = arch["dim"]
        self.patch_embed = PatchEmbed(d, arch["patch"])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, arch["video_positions"], d))
        self.img_pos_embed = nn.Parameter(torch.zeros(1, arch["image_positions"], d))
        self.blocks = nn.ModuleList([Block(d, arch["heads"], arch["hidden"], arch["qkv_bias"])
                                     for _ in range(arch["depth"])])
        self.clip_projector = AttentionPooling(d, arch["clip_dim"], arch["pool_heads"])

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.patch_embed.proj(video).flatten(3).permute(0, 2, 3, 1).flatten(1, 2)  # B (T HW) C
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        pos = self.img_pos_embed if video.shape[2] == 1 else self.pos_embed
        if pos.shape[1] != x.shape[1]:
            raise ValueError(f"InternVideo2: {video.shape[2]} frames give {x.shape[1]} tokens, but the checkpoint's "
                             f"position table has {pos.shape[1]}")
        x = x + pos
        for blk in self.blocks:
            x = blk(x)
        return x, self.clip_projector(x)


class InternVideo2Model(nn.Module):
    """Vision tower, fusion BERT, projections and the matching head, sized from a state dict."""

    def __init__(self, state: Mapping[str, torch.Tensor], heads: int = 16, pool_heads: int = 16) -> None:
        super().__init__()
        v = infer_vision(state, heads, pool_heads)
        words = state["text_encoder.embeddings.word_embeddings.weight"]
        layers = len({m.group(1) for k in state if (m := re.match(r"text_encoder\.encoder\.layer\.(\d+)\.", k))})
        cross = sorted(int(m.group(1)) for k in state
                       if (m := re.match(r"text_encoder\.encoder\.layer\.(\d+)\.crossattention\.", k)))
        dim = int(words.shape[1])
        if dim % HEAD_DIM:
            raise ValueError(f"InternVideo2 checkpoint: text width {dim} is not a multiple of {HEAD_DIM}")
        self.vision_encoder = InternVideo2Vision(v)
        self.text_encoder = XBert(
            int(words.shape[0]), dim, layers,
            int(state["text_encoder.encoder.layer.0.intermediate.dense.weight"].shape[0]),
            int(state["text_encoder.embeddings.position_embeddings.weight"].shape[0]),
            int(state["text_encoder.embeddings.token_type_embeddings.weight"].shape[0]),
            cross[0] if cross else layers, v["dim"])
        embed = int(state["vision_proj.weight"].shape[0])
        self.vision_proj = nn.Linear(v["clip_dim"], embed)
        self.text_proj = nn.Linear(dim, embed)
        self.itm_head = nn.Linear(dim, 2)
        #: frames a video is sampled to (the trained count, read off the video position table)
        self.num_frames = (v["video_positions"] - 1) // (v["image_positions"] - 1)

    def encode_video(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 3, H, W)`` -> (tokens ``(B, 1 + T*P, D)``, projected pooled embedding ``(B, 1, E)``)."""
        tokens, pooled = self.vision_encoder(video.permute(0, 2, 1, 3, 4))
        return tokens, self.vision_proj(pooled).unsqueeze(1)


def infer_vision(state: Mapping[str, torch.Tensor], heads: int, pool_heads: int) -> dict[str, Any]:
    """The vision tower's sizes from checkpoint shapes (heads given)."""
    p = "vision_encoder."
    need = [p + "patch_embed.proj.weight", p + "pos_embed", p + "img_pos_embed", p + "blocks.0.mlp.fc1.weight",
            p + "clip_projector.cross_attn.proj.weight"]
    lacking = [k for k in need if k not in state]
    if lacking:
        raise ValueError(f"InternVideo2 checkpoint lacks {lacking}; is this zhiqiulin/internvideo2_1b_stage2?")
    w = state[p + "patch_embed.proj.weight"]
    if w.shape[2] != 1:
        raise ValueError(f"InternVideo2 checkpoint: tubelet size {w.shape[2]} is not supported (only 1)")
    dim = int(w.shape[0])
    if dim % heads or dim % pool_heads:
        raise ValueError(f"InternVideo2: vision width {dim} is not divisible by heads={heads} / pool_heads={pool_heads}")
    return {
        "dim": dim, "patch": int(w.shape[-1]), "heads": heads, "pool_heads": pool_heads,
        "depth": len({m.group(1) for k in state if (m := re.match(r"vision_encoder\.blocks\.(\d+)\.", k))}),
        "hidden": int(state[p + "blocks.0.mlp.fc1.weight"].shape[0]),
        "qkv_bias": p + "blocks.0.attn.qkv.bias" in state,
        "video_positions": int(state[p + "pos_embed"].shape[1]),
        "image_positions": int(state[p + "img_pos_embed"].shape[1]),
        "clip_dim": int(state[p + "clip_projector.cross_attn.proj.weight"].shape[0]),
    }


def unused_reason(key: str) -> str | None:
    """Why a checkpoint key is not loaded, or None if it should be."""
    for rx, why in UNUSED_PATTERNS:
        if rx.search(key):
            return why
    return None
