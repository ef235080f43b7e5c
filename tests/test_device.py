"""Device helpers: the attention kernel asked for, and how host tensors are moved (decisions checked on CPU)."""

from __future__ import annotations

import importlib.util

import torch

from t2v_core import device as dev


def test_preferred_attention(monkeypatch):
    assert dev.preferred_attn_implementation("cpu") == "sdpa"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "flash_attn" else real(name, *a))
    assert dev.preferred_attn_implementation("cuda") == "flash_attention_2"
    assert dev.preferred_attn_implementation("cpu") == "sdpa"  # flash attention is CUDA-only
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flash_attn" else real(name, *a))
    assert dev.preferred_attn_implementation("cuda:1") == "sdpa"


def test_transfer_plan_pins_host_tensors_bound_for_cuda(monkeypatch):
    t = torch.ones(2, 3)
    assert dev.transfer_plan(t, "cpu") == (False, False, False)
    assert dev.transfer_plan(t, "cuda") == (True, True, True)
    assert dev.transfer_plan(t, torch.device("cuda", 1)) == (True, True, True)
    assert dev.transfer_plan(t, "mps") == (True, False, False)  # no pinned path there: a plain copy
    monkeypatch.setattr(torch.Tensor, "is_pinned", lambda self: True)
    assert dev.transfer_plan(t, "cuda") == (True, False, True)  # already page-locked: copied as is


def test_to_device_on_cpu_returns_the_tensor_and_casts_floats_only():
    t = torch.rand(2, 3)
    assert dev.to_device(t, "cpu") is t
    half = dev.to_device(t, "cpu", torch.bfloat16)
    assert half.dtype == torch.bfloat16 and torch.allclose(half.float(), t, atol=1e-2)
    ids = torch.arange(4)
    assert dev.to_device(ids, "cpu", torch.bfloat16).dtype == torch.long


def test_default_dtype_is_bf16_on_cuda_only():
    assert dev.resolve_dtype(None, "cuda") == torch.bfloat16
    assert dev.resolve_dtype(None, "cpu") == torch.float32
    assert dev.resolve_dtype("fp16", "cuda") == torch.float16
