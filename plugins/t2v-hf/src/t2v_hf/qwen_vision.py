"""Faster, numerically equivalent execution of Qwen-style vision towers (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, and the
families built on them, such as Tarsier2).

These towers take the patches of every media item concatenated and restrict attention to chunks given by
``cu_seqlens`` (one chunk per frame group, or per window in Qwen2.5-VL's windowed layers). transformers runs
that restriction in ways whose cost is far from the work done: 4.x's SDPA path builds one dense mask over all
patches of the batch (quadratic in the batch, and 16-64x the needed work in windowed layers), 5.x calls the
attention kernel once per chunk (a Qwen2.5-VL 448 px image has 16 windows in each of 28 layers). The hooks here
compute the same attention a cheaper way and leave the weights and every other layer untouched; where one does
not recognise a layer (another transformers release, a flash-attention layer, which is already varlen) it
leaves that layer alone.

- :func:`batch_attention_chunks`: equal-length chunks go through one batched SDPA call (about 4 groups of
  lengths per layer: full windows and the right / bottom / corner edge windows).
- :func:`encode_items_one_by_one`: the tower's forward runs once per media item (exact: an item's attention
  never sees another's); only applied where a 4.x dense-mask layer is left in place (eager attention).
- :func:`patch_embed_as_matmul`: the patch embedding, a Conv3d whose kernel is its stride, as the matrix
  product it is (oneDNN's Conv3d takes 3.5x as long on a CPU for this shape).

:func:`tune_vision_tower` applies what suits a device; families call it once after loading.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import torch

__all__ = ["batch_attention_chunks", "encode_items_one_by_one", "patch_embed_as_matmul", "tune_vision_tower"]


def tune_vision_tower(visual: torch.nn.Module | None, device_type: str) -> dict[str, int]:
    """Apply every hook of this module that suits ``visual`` on ``device_type``; returns how many layers each
    hook took (``{"attention": n, "one_by_one": 0 or 1, "patch_embed": 0 or 1}``), so tests can assert it."""
    done = {"attention": 0, "one_by_one": 0, "patch_embed": 0}
    if visual is None:
        return done
    done["attention"] = batch_attention_chunks(visual)
    left = [m for m in visual.modules() if _looks_like_vision_attention(m) and not getattr(m, "_t2v_batched_chunks", False)]
    # a 4.x layer left alone (eager) builds one dense mask over the whole batch; 5.x layers and flash-attention
    # layers handle chunks at a cost linear in the batch, which a per-item loop would only fragment on a GPU
    if any(getattr(m, "config", None) is None and "Flash" not in type(m).__name__ for m in left):
        done["one_by_one"] = int(encode_items_one_by_one(visual))
    if device_type == "cpu":
        done["patch_embed"] = int(patch_embed_as_matmul(visual))
    return done


# ------------------------------------------------------------------ batched attention chunks
def batch_attention_chunks(visual: torch.nn.Module) -> int:
    """Replace the forward of every SDPA vision-attention layer of ``visual`` by one that groups the
    ``cu_seqlens`` chunks by length and runs each group as one batched ``scaled_dot_product_attention`` call
    (no mask: a chunk attends to itself only, as before). Returns the number of layers replaced."""
    # one (cu_seqlens, plan) pair, replaced as a whole (threads sharing the model never see a torn pair): the
    # tower passes one cu_seqlens tensor to each of its layers, so its plan is made once per forward
    plan_cache: list[Any] = [(None, None)]
    count = 0
    for module in visual.modules():
        rotary = _rotary_of(module)
        if rotary is None or getattr(module, "_t2v_batched_chunks", False):
            continue
        module.forward = _batched_forward(module, rotary, plan_cache)
        module._t2v_batched_chunks = True
        count += 1
    return count


def _looks_like_vision_attention(module: torch.nn.Module) -> bool:
    return type(module).__name__.endswith(("VisionAttention", "VisionSdpaAttention", "VisionFlashAttention2")) \
        and isinstance(getattr(module, "qkv", None), torch.nn.Linear)


def _rotary_of(module: torch.nn.Module) -> Any:
    """The modeling file's ``apply_rotary_pos_emb_vision(q, k, cos, sin)`` if ``module`` is a vision-attention
    layer this hook knows (qkv / proj linears, ``num_heads``, ``forward(hidden_states, cu_seqlens, ...,
    position_embeddings=...)``) that runs SDPA; else None."""
    name = type(module).__name__
    if not _looks_like_vision_attention(module) or "Flash" in name:
        return None
    if not isinstance(getattr(module, "proj", None), torch.nn.Linear) or not isinstance(getattr(module, "num_heads", None), int):
        return None
    config = getattr(module, "config", None)
    if config is not None:  # 5.x: one class, the kernel chosen by the config
        if getattr(config, "_attn_implementation", None) != "sdpa":
            return None
    elif "Sdpa" not in name:  # 4.x: one class per kernel; eager stays as asked
        return None
    params = inspect.signature(module.forward).parameters
    if list(params)[:2] != ["hidden_states", "cu_seqlens"] or "position_embeddings" not in params:
        return None
    rotary = getattr(sys.modules.get(type(module).__module__), "apply_rotary_pos_emb_vision", None)
    if rotary is None or list(inspect.signature(rotary).parameters) != ["q", "k", "cos", "sin"]:
        return None
    return rotary


def _batched_forward(module: torch.nn.Module, rotary: Any, plan_cache: list[Any]) -> Any:
    heads = int(module.num_heads)  # type: ignore[arg-type]

    def forward(hidden_states: torch.Tensor, cu_seqlens: torch.Tensor, rotary_pos_emb: torch.Tensor | None = None,
                position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None, **kwargs: Any) -> torch.Tensor:
        n = hidden_states.shape[0]
        q, k, v = module.qkv(hidden_states).reshape(n, 3, heads, -1).permute(1, 0, 2, 3).unbind(0)
        if position_embeddings is None:  # 4.x's older calling convention: rotary angles, not (cos, sin)
            emb = torch.cat((rotary_pos_emb, rotary_pos_emb), dim=-1)  # type: ignore[arg-type]
            cos, sin = emb.cos().float(), emb.sin().float()
        else:
            cos, sin = position_embeddings
        q, k = rotary(q, k, cos, sin)
        cached, plan = plan_cache[0]
        if cached is not cu_seqlens:
            plan = _chunk_plan(cu_seqlens, n)
            plan_cache[0] = (cu_seqlens, plan)
        out = _attend(q, k, v, plan)
        return module.proj(out.reshape(n, -1))

    return forward


def _chunk_plan(cu_seqlens: torch.Tensor, n: int) -> list[tuple[int, int, torch.Tensor | None]]:
    """Groups of equal-length chunks: ``(length, count, row index or None)``; None when every chunk has the
    same length and they tile the sequence in order (a plain reshape). One host read per tower forward."""
    bounds = cu_seqlens.tolist()
    starts, lengths = bounds[:-1], [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    if bounds[0] != 0 or bounds[-1] != n or any(length < 0 for length in lengths):
        raise ValueError(f"vision attention: cu_seqlens {bounds[:4]}... does not tile the {n} patches")
    distinct = sorted({length for length in lengths if length > 0})
    if len(distinct) == 1:
        return [(distinct[0], n // distinct[0], None)]
    plan: list[tuple[int, int, torch.Tensor | None]] = []
    for length in distinct:
        first = torch.tensor([s for s, m in zip(starts, lengths) if m == length])
        rows = (first[:, None] + torch.arange(length)).reshape(-1).to(cu_seqlens.device)
        plan.append((length, first.numel(), rows))
    return plan


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
            plan: list[tuple[int, int, torch.Tensor | None]]) -> torch.Tensor:
    """Attention within each chunk for q, k, v of shape (patches, heads, head_dim)."""
    heads, dim = q.shape[1], q.shape[2]
    v = v.to(q.dtype)

    def run(qs: torch.Tensor, ks: torch.Tensor, vs: torch.Tensor, length: int, count: int) -> torch.Tensor:
        shape = (count, length, heads, dim)
        qs, ks, vs = (t.reshape(shape).transpose(1, 2) for t in (qs, ks, vs))
        return torch.nn.functional.scaled_dot_product_attention(qs, ks, vs).transpose(1, 2).reshape(-1, heads, dim)

    if len(plan) == 1 and plan[0][2] is None:
        return run(q, k, v, plan[0][0], plan[0][1])
    out = torch.empty_like(q)
    for length, count, rows in plan:
        out.index_copy_(0, rows, run(q[rows], k[rows], v[rows], length, count))  # type: ignore[index]
    return out


# ------------------------------------------------------------------ one item at a time
def encode_items_one_by_one(visual: torch.nn.Module) -> bool:
    """Make a Qwen vision tower (``forward(pixels, grid_thw)``, patches of every media item concatenated)
    encode its media items one at a time and concatenate the outputs: the same numbers, at a cost linear in
    the number of items where the attention layers build one mask over the whole batch. Returns True."""
    if getattr(visual, "_t2v_one_by_one", False):
        return True
    forward = visual.forward

    def one_by_one(hidden_states: torch.Tensor, grid_thw: torch.Tensor, **kwargs: Any) -> Any:
        if grid_thw.shape[0] < 2:
            return forward(hidden_states, grid_thw=grid_thw, **kwargs)
        parts = torch.split(hidden_states, grid_thw.prod(-1).tolist())
        outs = [forward(x, grid_thw=grid_thw[k:k + 1], **kwargs) for k, x in enumerate(parts)]
        return _concat(outs)

    visual.forward = one_by_one
    visual._t2v_one_by_one = True
    return True


def _concat(outs: list[Any]) -> Any:
    """Concatenate per-item vision outputs along the patch / token axis: tensors, lists of tensors (one per
    deepstack layer), and model outputs field by field."""
    first = outs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outs)
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([o[k] for o in outs]) for k in range(len(first)))
    if hasattr(first, "keys"):  # a transformers ModelOutput
        return type(first)(**{k: _concat([o[k] for o in outs]) for k in first.keys()})
    raise TypeError(f"cannot concatenate vision outputs of type {type(first).__name__}")


# ------------------------------------------------------------------ patch embedding
def patch_embed_as_matmul(visual: torch.nn.Module) -> bool:
    """Compute a Qwen vision tower's patch embedding (a Conv3d whose kernel is its stride, over pixel rows
    that are one patch each) as the matrix product it is: the same sums, and on a CPU oneDNN's Conv3d takes
    3.5x as long for this shape. Returns False, leaving it alone, if the layer is not such a convolution."""
    embed = getattr(visual, "patch_embed", None)
    proj = getattr(embed, "proj", None)
    if not isinstance(proj, torch.nn.Conv3d) or proj.groups != 1 or tuple(proj.kernel_size) != tuple(proj.stride) \
            or any(proj.padding) or any(d != 1 for d in proj.dilation):  # type: ignore[union-attr]
        return False

    def as_matmul(hidden_states: torch.Tensor) -> torch.Tensor:
        weight = proj.weight
        rows = hidden_states.reshape(-1, weight[0].numel()).to(weight.dtype)
        return torch.nn.functional.linear(rows, weight.reshape(weight.shape[0], -1), proj.bias)

    embed.forward = as_matmul  # type: ignore[union-attr]
    return True
