"""UMT (Unmasked Teacher) video-text model, inference only: a ViT over frames and a BERT with cross-attention.

Written from the published checkpoint layout (``zhiqiulin/umt_{b16,l16}_25m``: one ``.pth`` holding the whole
model under ``"model"``, the text tower under ``text_encoder.bert.*``). The architecture is read off the
checkpoint's shapes (widths, depths, patch size, where the cross-attention layers start); attention heads are
64-dimensional in both published sizes (ViT-B/16 + BERT-base, ViT-L/16 + BERT-large).

- vision: Conv3d patches (tubelet 1) over ``T`` frames of 224 px, plus a fixed sinusoidal position table over
  all ``T x patches`` tokens, pre-norm ViT blocks (q/v biases), final LayerNorm. Per-frame embeddings: the mean
  of a frame's patch tokens, through ``pool_norm``; the cross-attention memory: all tokens.
- text: BERT layers ``[0, fusion)`` encode the text alone ("text" mode); layers ``[fusion, L)`` add
  cross-attention to the video tokens ("fusion" mode) for the matching head.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HEAD_DIM = 64
#: checkpoint keys that are not used for scoring, by pattern, with the reason
UNUSED_PATTERNS = (
    (re.compile(r"^temp$"), "the contrastive temperature; the reference's score divides by 1.0"),
    (re.compile(r"^text_encoder\.cls\."), "the masked-language-model head of pre-training"),
    (re.compile(r"^text_encoder\.embeddings\.position_ids$"), "a buffer holding 0..N-1, recomputed"),
    (re.compile(r"^text_encoder\.pooler\."), "BERT's pooler; the reference builds the text tower without it"),
    (re.compile(r"^vision_encoder\.clip_decoder\."), "the distillation heads of pre-training (teacher off)"),
    (re.compile(r"^clip_teacher\."), "the CLIP teacher of pre-training"),
)


def sinusoid_table(positions: int, dim: int) -> torch.Tensor:
    """The fixed position table: ``sin`` / ``cos`` of ``pos / 10000^(2 * (j // 2) / dim)`` (float64, then fp32)."""
    pos = np.arange(positions, dtype=np.float64)[:, None]
    j = np.arange(dim)
    table = pos / np.power(10000, 2 * (j // 2) / dim)
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.tensor(table, dtype=torch.float32)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None) -> torch.Tensor:
    b, n, d = q.shape
    q, k, v = (x.view(b, -1, heads, d // heads).transpose(1, 2) for x in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(b, n, d)


class VisionAttention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None
        if self.q_bias is not None and self.v_bias is not None:
            bias = torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
        q, k, v = F.linear(x, self.qkv.weight, bias).chunk(3, dim=-1)
        return self.proj(_attend(q, k, v, self.heads, None))


class VisionMlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int, qkv_bias: bool, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = VisionAttention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = VisionMlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int, tubelet: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, dim, kernel_size=(tubelet, patch, patch), stride=(tubelet, patch, patch))


class ViTEncoder(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, hidden: int, patch: int, tubelet: int, qkv_bias: bool,
                 eps: float) -> None:
        super().__init__()
        self.dim = dim
        self.patch_embed = PatchEmbed(dim, patch, tubelet)
        self.blocks = nn.ModuleList([Block(dim, heads, hidden, qkv_bias, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)


class UMTVision(nn.Module):
    """``(B, 3, T, H, W)`` -> (all tokens ``(B, T*P, D)``, per-frame embeddings ``(B, T, D)``)."""

    def __init__(self, dim: int, depth: int, heads: int, hidden: int, patch: int, tubelet: int, qkv_bias: bool,
                 eps: float = 1e-6) -> None:
        super().__init__()
        self.encoder = ViTEncoder(dim, depth, heads, hidden, patch, tubelet, qkv_bias, eps)
        self.pool_norm = nn.LayerNorm(dim, eps=eps)
        self._tables: dict[int, torch.Tensor] = {}

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = video.shape[2]
        x = self.encoder.patch_embed.proj(video).flatten(2).transpose(1, 2)
        n = x.shape[1]
        if n not in self._tables:
            self._tables[n] = sinusoid_table(n, x.shape[2])
        x = x + self._tables[n].to(device=x.device, dtype=x.dtype)
        for blk in self.encoder.blocks:
            x = blk(x)
        x = self.encoder.norm(x)
        b, _, d = x.shape
        return x, self.pool_norm(x.view(b, t, -1, d).mean(2))


class BertEmbeddings(nn.Module):
    def __init__(self, vocab: int, dim: int, positions: int, types: int, eps: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(positions, dim)
        self.token_type_embeddings = nn.Embedding(types, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.word_embeddings(ids) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x + self.position_embeddings.weight[: ids.shape[1]])


class BertSelfAttention(nn.Module):
    def __init__(self, dim: int, kv_dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(kv_dim, dim)
        self.value = nn.Linear(kv_dim, dim)


class BertAddNorm(nn.Module):
    def __init__(self, dim_in: int, dim: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(dim_in, dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    def __init__(self, dim: int, kv_dim: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.self = BertSelfAttention(dim, kv_dim)
        self.output = BertAddNorm(dim, dim, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, memory: torch.Tensor | None = None
                ) -> torch.Tensor:
        kv = x if memory is None else memory
        ctx = _attend(self.self.query(x), self.self.key(kv), self.self.value(kv), self.heads, mask)
        return self.output(ctx, x)


class BertIntermediate(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.dense = nn.Linear(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, dim: int, hidden: int, heads: int, eps: float, cross_dim: int | None) -> None:
        super().__init__()
        self.attention = BertAttention(dim, dim, heads, eps)
        if cross_dim is not None:
            self.crossattention = BertAttention(dim, cross_dim, heads, eps)
        self.intermediate = BertIntermediate(dim, hidden)
        self.output = BertAddNorm(hidden, dim, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.attention(x, mask)
        if memory is not None:
            x = self.crossattention(x, memory_mask, memory)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    def __init__(self, layers: list[BertLayer]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(layers)


class XBert(nn.Module):
    """BERT whose layers from ``fusion`` on also cross-attend to video tokens."""

    def __init__(self, vocab: int, dim: int, layers: int, hidden: int, positions: int, types: int, fusion: int,
                 cross_dim: int, eps: float = 1e-12) -> None:
        super().__init__()
        heads = dim // HEAD_DIM
        self.fusion = fusion
        self.embeddings = BertEmbeddings(vocab, dim, positions, types, eps)
        self.encoder = BertEncoder([BertLayer(dim, hidden, heads, eps, cross_dim if i >= fusion else None)
                                    for i in range(layers)])

    @staticmethod
    def additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``(B, L)`` 1/0 mask -> ``(B, 1, 1, L)`` additive mask (0 or the dtype's minimum)."""
        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Layers ``[0, fusion)`` on the text alone: ``(B, L, D)``."""
        x = self.embeddings(ids)
        m = self.additive(mask, x.dtype)
        for layer in self.encoder.layer[: self.fusion]:
            x = layer(x, m)
        return x

    def fuse(self, text: torch.Tensor, mask: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor
             ) -> torch.Tensor:
        """Layers ``[fusion, L)`` on text features with cross-attention to ``memory``: ``(B, L, D)``."""
        m = self.additive(mask, text.dtype)
        mm = self.additive(memory_mask, text.dtype)
        x = text
        for layer in self.encoder.layer[self.fusion:]:
            x = layer(x, m, memory, mm)
        return x


class UMTModel(nn.Module):
    """The towers, the projections and the matching head, with architecture read from a state dict."""

    def __init__(self, state: Mapping[str, torch.Tensor]) -> None:
        super().__init__()
        arch = infer_architecture(state)
        self.arch = arch
        v, t = arch["vision"], arch["text"]
        self.vision_encoder = UMTVision(v["dim"], v["depth"], v["dim"] // HEAD_DIM, v["hidden"], v["patch"],
                                        v["tubelet"], v["qkv_bias"])
        self.text_encoder = XBert(t["vocab"], t["dim"], t["layers"], t["hidden"], t["positions"], t["types"],
                                  t["fusion"], v["dim"])
        self.vision_proj = nn.Linear(v["dim"], arch["embed_dim"])
        self.text_proj = nn.Linear(t["dim"], arch["embed_dim"])
        self.itm_head = nn.Linear(t["dim"], 2)

    def encode_video(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, 3, H, W)`` -> (tokens ``(B, T*P, Dv)``, projected per-frame embeddings ``(B, T, E)``)."""
        tokens, frames = self.vision_encoder(video.permute(0, 2, 1, 3, 4))
        return tokens, self.vision_proj(frames)


def _count(state: Mapping[str, Any], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.match(k))})


def infer_architecture(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Widths, depths, patch size and the first cross-attention layer, from checkpoint shapes."""
    def get(key: str) -> torch.Tensor:
        if key not in state:
            raise ValueError(f"UMT checkpoint lacks {key!r}, needed to read the architecture; is this a UMT "
                             "video-text checkpoint (zhiqiulin/umt_*_25m)?")
        return state[key]

    patch_w = get("vision_encoder.encoder.patch_embed.proj.weight")
    words = get("text_encoder.embeddings.word_embeddings.weight")
    layers = _count(state, r"text_encoder\.encoder\.layer\.(\d+)\.")
    cross = sorted(int(m.group(1)) for k in state
                   if (m := re.match(r"text_encoder\.encoder\.layer\.(\d+)\.crossattention\.", k)))
    if patch_w.shape[2] != 1:
        raise ValueError(f"UMT checkpoint: tubelet size {patch_w.shape[2]} is not supported (only 1)")
    vision = {
        "dim": int(patch_w.shape[0]), "patch": int(patch_w.shape[-1]), "tubelet": int(patch_w.shape[2]),
        "depth": _count(state, r"vision_encoder\.encoder\.blocks\.(\d+)\."),
        "hidden": int(get("vision_encoder.encoder.blocks.0.mlp.fc1.weight").shape[0]),
        "qkv_bias": "vision_encoder.encoder.blocks.0.attn.q_bias" in state,
    }
    text = {
        "vocab": int(words.shape[0]), "dim": int(words.shape[1]), "layers": layers,
        "hidden": int(get("text_encoder.encoder.layer.0.intermediate.dense.weight").shape[0]),
        "positions": int(get("text_encoder.embeddings.position_embeddings.weight").shape[0]),
        "types": int(state["text_encoder.embeddings.token_type_embeddings.weight"].shape[0])
        if "text_encoder.embeddings.token_type_embeddings.weight" in state else 2,
        "fusion": cross[0] if cross else layers,
    }
    for name, d in (("vision", vision["dim"]), ("text", text["dim"])):
        if d % HEAD_DIM:
            raise ValueError(f"UMT checkpoint: {name} width {d} is not a multiple of the {HEAD_DIM}-dim heads")
    return {"vision": vision, "text": text, "embed_dim": int(get("vision_proj.weight").shape[0])}


def unused_reason(key: str) -> str | None:
    """Why a checkpoint key is not loaded, or None if it should be."""
    for rx, why in UNUSED_PATTERNS:
        if rx.search(key):
            return why
    return None


def normalise_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The published layout's ``text_encoder.bert.*`` to ``text_encoder.*`` (as the reference renames them)."""
    out = {}
    for k, v in state.items():
        out[k.replace("text_encoder.bert.", "text_encoder.", 1) if k.startswith("text_encoder.bert.") else k] = v
    return out

