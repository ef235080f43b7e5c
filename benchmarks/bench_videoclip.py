"""Video CLIPScore / ITMScore cost: t2v-videoclip's M x N call vs scoring every (video, text) pair on its own.

    python benchmarks/bench_videoclip.py [--videos 8] [--texts 8] [--device cpu] [--full]

Random-weight models in the published checkpoint layouts are saved in a temporary offline Hugging Face cache
under the real repo ids and loaded by name (``languagebind-video-ft``, ``umt-b16-25m-{clip,itm}``,
``internvideo2-1b-stage2-{clip,itm}``), as a user would. Inputs are at real sizes: 224 px frames, LanguageBind's
8 frames (ViT patch 14: 257 tokens a frame), UMT's 4 (patch 16: 784 video tokens), InternVideo2's 4 (patch 14:
1025 tokens), decoded from real video files. The towers are narrowed by default (2 ViT blocks of width 128,
176 for InternVideo2) so that the per-pair baseline finishes on a small CPU; ``--full`` uses the real widths
and depths (ViT-L/14 + CLIP text; ViT-B/16 + BERT-base; the 1B ViT + BERT-large).

The baseline (same process, same model): ``per pair``, one ``score_pairs`` call per (video, text) pair, which
decodes and encodes the video again for every text, as the reference does. Every baseline result is checked
equal to the M x N matrix; the script prints wall times and ratios. One CPU thread by default (``--threads``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOKENIZERS = ROOT / "plugins" / "t2v-videoclip" / "tests" / "data"


def languagebind_files(dest: Path, full: bool) -> None:
    """config.json + pytorch_model.bin (our model, random) + the test data's CLIP BPE tokenizer files."""
    import torch
    from t2v_videoclip.languagebind import LanguageBindVideoModel

    vocab = json.loads((TOKENIZERS / "languagebind" / "tokenizer" / "vocab.json").read_text())
    w, layers, heads = (1024, 24, 16) if full else (128, 2, 2)
    tw, tl, th = (768, 12, 12) if full else (128, 2, 2)
    config = {
        "projection_dim": 768 if full else 64,
        "vision_config": {"hidden_size": w, "intermediate_size": 4 * w, "num_hidden_layers": layers,
                          "num_attention_heads": heads, "image_size": 224, "patch_size": 14, "num_frames": 8,
                          "add_time_attn": True, "lora_r": 0, "hidden_act": "quick_gelu"},
        "text_config": {"hidden_size": tw, "intermediate_size": 4 * tw, "num_hidden_layers": tl,
                        "num_attention_heads": th, "vocab_size": len(vocab), "max_position_embeddings": 77,
                        "hidden_act": "quick_gelu"},
    }
    torch.manual_seed(0)
    model = LanguageBindVideoModel(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    dest.mkdir(parents=True)
    (dest / "config.json").write_text(json.dumps(config))
    torch.save(model.state_dict(), dest / "pytorch_model.bin")
    for f in (TOKENIZERS / "languagebind" / "tokenizer").iterdir():
        shutil.copy(f, dest / f.name)


def umt_state(full: bool) -> dict:
    """A random UMT state dict in the published layout (``text_encoder.bert.*``)."""
    import torch
    from t2v_videoclip.umt import UMTVision, XBert
    from torch import nn

    vocab = len((TOKENIZERS / "umt" / "bert-base-uncased" / "vocab.txt").read_text().split())
    vw, vd, tw, tl, fusion = (768, 12, 768, 12, 9) if full else (128, 2, 128, 3, 1)
    torch.manual_seed(0)
    parts = {
        "vision_encoder": UMTVision(vw, vd, vw // 64, 4 * vw, 16, 1, True),
        "text_encoder.bert": XBert(vocab, tw, tl, 4 * tw, 512 if full else 40, 2, fusion, vw),
        "vision_proj": nn.Linear(vw, 512 if full else 48),
        "text_proj": nn.Linear(tw, 512 if full else 48),
        "itm_head": nn.Linear(tw, 2),
    }
    state = {}
    for prefix, module in parts.items():
        for k, v in module.state_dict().items():
            state[f"{prefix}.{k}"] = torch.randn_like(v) * 0.05 if v.is_floating_point() else v
    state["temp"] = torch.tensor(0.07)
    return {"model": state}


def internvideo2_state(full: bool) -> dict:
    """A random InternVideo2 stage-2 state dict in the published layout (``{"module": ...}``)."""
    import torch
    from t2v_videoclip.internvideo2 import InternVideo2Vision
    from t2v_videoclip.umt import XBert
    from torch import nn

    vocab = len((TOKENIZERS / "umt" / "bert-base-uncased" / "vocab.txt").read_text().split())
    vw, vd, tw, tl, fusion = (1408, 40, 1024, 24, 19) if full else (176, 2, 128, 4, 2)
    clip_dim, embed = (768, 512) if full else (64, 48)
    arch = {"dim": vw, "patch": 14, "heads": 16, "pool_heads": 16, "depth": vd, "hidden": int(vw * 48 / 11),
            "qkv_bias": False, "video_positions": 1 + 4 * 256, "image_positions": 1 + 256, "clip_dim": clip_dim}
    torch.manual_seed(0)
    parts = {
        "vision_encoder": InternVideo2Vision(arch),
        "text_encoder.bert": XBert(vocab, tw, tl, 4 * tw, 512 if full else 48, 2, fusion, vw),
        "vision_proj": nn.Linear(clip_dim, embed),
        "text_proj": nn.Linear(tw, embed),
        "itm_head": nn.Linear(tw, 2),
    }
    state = {}
    for prefix, module in parts.items():
        for k, v in module.state_dict().items():
            state[f"{prefix}.{k}"] = torch.randn_like(v) * 0.05 if v.is_floating_point() else v
    return {"module": state}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--texts", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--full", action="store_true", help="real tower sizes (default: narrowed)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    os.environ.setdefault("T2V_PLUGINS", "t2v-videoclip")
    os.environ.setdefault("T2V_PROGRESS", "0")
    tmp = tempfile.TemporaryDirectory(prefix="bench-videoclip-")
    cache = Path(tmp.name) / "hub"
    os.environ["HF_HUB_CACHE"], os.environ["HF_HUB_OFFLINE"] = str(cache), "1"
    import huggingface_hub.constants as hf_constants

    hf_constants.HF_HUB_CACHE, hf_constants.HF_HUB_OFFLINE = str(cache), True

    import torch

    import t2v_core
    from t2v_core.testing import make_fake_hf_cache, write_video

    if args.threads:
        torch.set_num_threads(args.threads)
    src = Path(tmp.name) / "src"
    languagebind_files(src / "lb", args.full)
    make_fake_hf_cache(cache, "LanguageBind/LanguageBind_Video_FT", src / "lb")
    buf = src / "umt_b16_25m.pth"
    torch.save(umt_state(args.full), buf)
    make_fake_hf_cache(cache, "zhiqiulin/umt_b16_25m", {"umt_b16_25m.pth": buf.read_bytes()})
    make_fake_hf_cache(cache, "bert-base-uncased", TOKENIZERS / "umt" / "bert-base-uncased")
    buf = src / "internvideo2_1b_stage2.pth"
    torch.save(internvideo2_state(args.full), buf)
    make_fake_hf_cache(cache, "zhiqiulin/internvideo2_1b_stage2", {"internvideo2_1b_stage2.pth": buf.read_bytes()})
    make_fake_hf_cache(cache, "google-bert/bert-large-uncased", TOKENIZERS / "umt" / "bert-base-uncased")

    rng = np.random.default_rng(0)
    videos = []
    for k in range(args.videos):
        frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(24)]
        videos.append(str(write_video(Path(tmp.name) / f"v{k}.mp4", frames, fps=24)))
    words = "red blue green small large cat dog car snow beach road kitchen night".split()
    texts = [f"a {words[i % 13]} {words[(3 * i + 1) % 13]} on a {words[(5 * i + 2) % 13]} {i}"
             for i in range(args.texts)]

    print(f"{args.videos} videos (320x240, 24 frames) x {args.texts} texts on {args.device}, "
          f"{'real' if args.full else 'narrowed'} towers, random weights, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for name, front in (("languagebind-video-ft", t2v_core.CLIPScore), ("umt-b16-25m-clip", t2v_core.CLIPScore),
                        ("umt-b16-25m-itm", t2v_core.ITMScore),
                        ("internvideo2-1b-stage2-clip", t2v_core.CLIPScore),
                        ("internvideo2-1b-stage2-itm", t2v_core.ITMScore)):
        score = front(model=name, device=args.device)
        scorer = score.model
        media = scorer.load_media(videos)
        opts = scorer.resolve_options()
        scorer.score(media[:1], texts[:1], templates=None, **opts)  # warm-up
        t0 = time.perf_counter()
        ours = scorer.score(media, texts, templates=None, **opts)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = torch.tensor([[float(scorer.score_pairs([m], [t], templates=None, **opts)[0]) for t in texts]
                              for m in media])
        t_pair = time.perf_counter() - t0
        dev = float(((pairs - ours).abs() / ours.abs().clamp(min=1e-6)).max())
        assert dev < 1e-4, f"{name}: per-pair scores differ from the M x N matrix by {dev:.2e} (relative)"
        print(f"{name:>27}: M x N {t_ours:7.2f} s, per pair {t_pair:7.2f} s, "
              f"ratio per pair / t2v-videoclip = {t_pair / t_ours:.1f}x (max rel. deviation {dev:.1e})",
              flush=True)
    tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
