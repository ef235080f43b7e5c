"""Device and dtype choice: cuda > mps > cpu; bf16 on GPU, fp32 on CPU, unless forced."""

from __future__ import annotations

from typing import Any

_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16", "half": "float16",
           "fp32": "float32", "float32": "float32", "float": "float32"}


def resolve_device(device: Any = None) -> Any:
    """A ``torch.device``: the one given, or the best available."""
    import torch

    if device is not None:
        try:
            return torch.device(device)
        except (RuntimeError, TypeError, ValueError) as e:
            from .errors import OptionError

            raise OptionError(f"device {device!r} is not a device torch knows ({str(e).splitlines()[0]}); use e.g. 'cpu', 'cuda', "
                              "'cuda:1' or 'mps'") from None
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_dtype(dtype: Any, device: Any) -> Any:
    """A ``torch.dtype``: the one given (name or dtype), else bf16 on cuda and fp32 elsewhere."""
    import torch

    if dtype is None:
        return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower().replace("torch.", ""))
    if name is None:
        raise ValueError(f"expected dtype in {sorted(_DTYPES)} or a torch.dtype, but got {dtype!r}")
    return getattr(torch, name)


def available_devices() -> list[str]:
    """The devices this machine can run on now, e.g. ``["cpu", "cuda:0", "cuda:1"]``."""
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{k}" for k in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    for name in ("xpu", "npu", "hpu"):
        backend = getattr(torch, name, None)
        if backend is not None and getattr(backend, "is_available", lambda: False)():
            out += [f"{name}:{k}" for k in range(backend.device_count())] if hasattr(backend, "device_count") \
                else [name]
    return out


def check_available(device: Any) -> None:
    """Refuse a device this machine does not have, so that provenance never records a device that was not used."""
    import torch

    d = torch.device(device)
    if d.type in ("cpu", "meta"):
        return
    have = available_devices()
    ok = any(h.split(":")[0] == d.type for h in have) if d.index is None else f"{d.type}:{d.index}" in have
    if not ok:
        raise ValueError(f"device {str(device)!r} is not available on this machine; available: {', '.join(have)} "
                         "(omit the device to pick the best one)")


def per_forward(batch_size: int, device: Any, cpu_cap: int | None) -> int:
    """Items per forward: ``batch_size``, and on a CPU at most ``cpu_cap`` (None: no cap). Scorers cap the
    media or whole prompts a CPU forward takes where batching them measured slower there than one by one."""
    if cpu_cap and getattr(device, "type", device) == "cpu":
        return min(batch_size, cpu_cap)
    return batch_size


def preferred_attn_implementation(device: Any) -> str:
    """The attention kernel a family should ask ``from_pretrained`` for when the user names none:
    ``"flash_attention_2"`` on CUDA where the ``flash_attn`` package is installed, else ``"sdpa"`` (torch's
    fused scaled-dot-product attention, which picks its flash / memory-efficient kernels itself on GPU)."""
    import importlib.util

    import torch

    if torch.device(device).type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def transfer_plan(tensor: Any, device: Any) -> tuple[bool, bool, bool]:
    """How :func:`to_device` moves ``tensor`` to ``device``: ``(move, pin, non_blocking)``.

    A host tensor bound for CUDA is copied into page-locked memory first so that the copy can run
    ``non_blocking``: a blocking copy waits for every kernel queued before it, which stalls the GPU between
    batches. Any other move is a plain ``.to``; a tensor already on ``device`` is not moved."""
    import torch

    target = torch.device(device)
    here = tensor.device
    if here.type == target.type and (target.index is None or here.index == target.index):
        return False, False, False
    if target.type == "cuda" and here.type == "cpu":
        return True, not tensor.is_pinned(), True
    return True, False, False


def to_device(tensor: Any, device: Any, dtype: Any = None) -> Any:
    """``tensor`` on ``device`` (and cast to ``dtype`` there if it is a float tensor), moved as
    :func:`transfer_plan` says. The cast runs after the copy, on the device, where it is cheapest."""
    move, pin, non_blocking = transfer_plan(tensor, device)
    if move:
        tensor = (tensor.pin_memory() if pin else tensor).to(device, non_blocking=non_blocking)
    if dtype is not None and tensor.is_floating_point() and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor
