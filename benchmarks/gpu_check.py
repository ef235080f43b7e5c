"""One-shot GPU check: pairs/s and the fraction of the GPU's peak for Qwen2.5-VL, InternVL3 and CLIP-FlanT5.

For each family a random-weight checkpoint is written to a temporary offline Hugging Face cache under the
family's real repo id and loaded by its model name (the production path), in the device's default dtype
(bf16 on CUDA) with the default attention kernel (flash attention 2 where ``flash_attn`` is installed, else
SDPA). Each shape M x N = 8 x 8, 8 x 1, 1 x 8 (``--images``, ``--texts``) is warmed up once, its FLOPs counted
once by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls, convolutions and attention, from the shapes of
the ops that ran), then timed over ``--rounds`` calls (median, with ``torch.cuda.synchronize`` around each
call). Printed per shape: pairs/s, TFLOP/s achieved, and that as a fraction of the GPU's dense bf16 peak
(a table of known GPUs, or ``--peak-tflops``). A last line per family compares the device dtype's 2 x 2
scores with float32's on the same device (bf16 rounding, not a bug, if ~1e-2).

What it is not: the benchmark scripts' comparison with a reference-shaped loop (``bench_<family>.py``); the
models here are narrower than the real ones (``--hidden``/``--layers``), so the fraction of peak is a lower
bound for the real 7B-class checkpoints, whose matmuls are larger.

    python benchmarks/gpu_check.py                     # CUDA, a few minutes on one GPU
    python benchmarks/gpu_check.py --device cpu --tiny  # the CI / CPU smoke run (seconds)
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.mkdtemp(prefix="t2v-gpu-check-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]
#: dense bf16 tensor-core peaks (TFLOP/s, no sparsity), matched against torch.cuda.get_device_name
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "GH200": 989.0, "B200": 2250.0,
                    "A100": 312.0, "A800": 312.0, "L40S": 362.0, "L40": 181.0, "A10G": 70.0, "A10": 125.0,
                    "L4": 121.0, "RTX 4090": 165.0, "RTX 3090": 71.0, "V100": 125.0, "T4": 65.0}


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    """The device's dense bf16 peak in TFLOP/s: ``override``, else the table's entry for the GPU's name."""
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):
        if key in name:
            return PEAK_BF16_TFLOPS[key]
    return None


def build_qwen(tiny: bool, hidden: int, layers: int) -> tuple[str, dict[str, Any]]:
    from t2v_hf.testing import build_tiny_qwen_vl

    if tiny:
        sizes = dict(hidden=64, layers=2, heads=4, kv_heads=2, vision_depth=2, vision_hidden=32)
    else:
        sizes = dict(hidden=hidden, layers=layers, heads=max(4, hidden // 128), kv_heads=max(2, hidden // 512),
                     vision_depth=layers, vision_hidden=max(32, hidden // 2), min_pixels=3136, max_pixels=12845056)
    folder = build_tiny_qwen_vl(ROOT / "qwen", family="qwen2_5_vl", vocab_size=2000, std=0.05, corpus=TEXTS,
                                **sizes)
    make_fake_hf_cache(ROOT / "hub", "Qwen/Qwen2.5-VL-7B-Instruct", folder)
    return "qwen2.5-vl-7b", sizes


def build_internvl(tiny: bool, hidden: int, layers: int) -> tuple[str, dict[str, Any]]:
    from t2v_internvl.testing import build_internvl_hf

    if tiny:
        sizes = dict(tile=56, patch=14, vision_hidden=32, vision_layers=2, text_hidden=64, text_layers=2, heads=4,
                     kv_heads=2)
    else:
        sizes = dict(tile=448, patch=14, vision_hidden=max(32, hidden // 2), vision_layers=layers,
                     text_hidden=hidden, text_layers=layers, heads=max(4, hidden // 128),
                     kv_heads=max(2, hidden // 512))
    folder = build_internvl_hf(ROOT / "internvl", std=0.05, **sizes)
    make_fake_hf_cache(ROOT / "hub", "OpenGVLab/InternVL3-1B-hf", folder)
    return "internvl3-1b", sizes


def build_clipflant5(tiny: bool, hidden: int, layers: int) -> tuple[str, dict[str, Any]]:
    from bench_clipflant5 import build_cache

    sizes = dict(hidden=64, layers=2) if tiny else dict(hidden=hidden, layers=layers)
    build_cache(ROOT / "hub", sizes["hidden"], sizes["layers"])
    return "clip-flant5-xxl", sizes


FAMILIES = {"qwen": build_qwen, "internvl": build_internvl, "clipflant5": build_clipflant5}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def attention_of(score: Any) -> str:
    """The attention kernel the loaded model runs (what its config says after loading)."""
    scorer = score.model
    used = getattr(scorer, "attn_implementation", None)
    if used:
        return str(used)
    for owner in (getattr(scorer, "model", None), getattr(getattr(scorer, "ivl", None), "model", None)):
        config = getattr(owner, "config", None)
        if config is not None and getattr(config, "_attn_implementation", None):
            return str(config._attn_implementation)
    return "?"


def check_family(name: str, args: argparse.Namespace, device: torch.device, peak: float | None) -> list[dict]:
    """Build, load and time one family; returns one record per shape."""
    from torch.utils.flop_counter import FlopCounterMode

    t0 = time.perf_counter()
    model, sizes = FAMILIES[name](args.tiny, args.hidden, args.layers)
    score = t2v_core.VQAScore(model=model, device=str(device), dtype=args.dtype, batch_size=args.batch_size)
    dtype = score.model.dtype
    print(f"{name} ({model}): sizes {sizes}, {dtype}, attention {attention_of(score)}, built and loaded in "
          f"{time.perf_counter() - t0:.1f}s", flush=True)
    side = 112 if args.tiny else 448
    rng = np.random.default_rng(0)
    images = [load_media(Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)))
              for _ in range(args.images)]
    texts = TEXTS[:args.texts]
    records = []
    for m, n in dict.fromkeys(((args.images, args.texts), (args.images, 1), (1, args.texts))):
        call = dict(images=images[:m], texts=texts[:n])
        score(**call)  # warm-up: allocation, kernel selection
        with FlopCounterMode(display=False) as counter:
            score(**call)
        flops = counter.get_total_flops()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(args.rounds):
            _sync(device)
            start = time.perf_counter()
            out = score(**call)
            _sync(device)
            times.append(time.perf_counter() - start)
        if not torch.isfinite(out).all():
            raise SystemExit(f"{name} {m} x {n}: non-finite scores {out}")
        t = statistics.median(times)
        achieved = flops / t / 1e12
        frac = f", {100 * achieved / peak:.2f}% of the {peak:.0f} TFLOP/s peak" if peak else ""
        mem = f", peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" \
            if device.type == "cuda" else ""
        print(f"  {m} x {n}: {m * n / t:.1f} pairs/s ({1000 * t:.1f} ms per call, median of {args.rounds}); "
              f"{flops / 1e9:.3g} GFLOP per call, {achieved:.3g} TFLOP/s{frac}{mem}", flush=True)
        records.append(dict(family=name, model=model, shape=f"{m}x{n}", pairs_per_s=m * n / t, seconds=t,
                            gflop=flops / 1e9, tflops=achieved, peak_fraction=achieved / peak if peak else None,
                            dtype=str(dtype), attention=attention_of(score)))
    if dtype != torch.float32:
        ref = t2v_core.VQAScore(model=model, device=str(device), dtype="fp32", batch_size=args.batch_size)
        a, b = score(images=images[:2], texts=texts[:2]).double(), ref(images=images[:2], texts=texts[:2]).double()
        rel = float(((a - b).abs() / b.abs().clamp_min(1e-12)).max())
        print(f"  {dtype} vs float32 on {device}, 2 x 2: max relative difference {rel:.1e}", flush=True)
        records[-1]["rel_vs_fp32"] = rel
        del ref
    del score
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None, help="default: the best available (cuda > mps > cpu)")
    parser.add_argument("--dtype", default=None, help="default: bf16 on CUDA, fp32 elsewhere")
    parser.add_argument("--tiny", action="store_true", help="tiny models and images: a CPU smoke run")
    parser.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated, of {list(FAMILIES)}")
    parser.add_argument("--images", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    parser.add_argument("--texts", type=int, default=8, help="N of the shapes (at most 8)")
    parser.add_argument("--hidden", type=int, default=1024, help="language-model width (vision: half)")
    parser.add_argument("--layers", type=int, default=8, help="layers of each tower")
    parser.add_argument("--rounds", type=int, default=3, help="timed calls per shape (median)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: each scorer's own")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak, if not in the table")
    parser.add_argument("--json", default=None, help="also write the records to this file")
    args = parser.parse_args()
    if not 1 <= args.texts <= len(TEXTS):
        parser.error(f"--texts must be 1..{len(TEXTS)}")
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {list(FAMILIES)}")
    from t2v_core.device import resolve_device

    device = resolve_device(args.device)
    torch.manual_seed(0)
    peak = peak_tflops(device, args.peak_tflops)
    import transformers

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"device {device} ({name}), peak {peak or 'unknown'} TFLOP/s bf16; torch {torch.__version__}, "
          f"transformers {transformers.__version__}, flash_attn "
          f"{'installed' if _has('flash_attn') else 'not installed'}", flush=True)
    records = [r for family in families for r in check_family(family, args, device, peak)]
    print("summary: " + ", ".join(f"{r['family']} {r['shape']} {r['pairs_per_s']:.1f} pairs/s"
                                  + (f" ({100 * r['peak_fraction']:.2f}% peak)" if r["peak_fraction"] else "")
                                  for r in records), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
