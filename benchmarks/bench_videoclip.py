"""Video CLIPScore / ITMScore: t2v-videoclip's M x N call vs the reference's row loop.

    python benchmarks/bench_videoclip.py [--videos 8] [--texts 8] [--rounds 3] [--threads 1] [--device cpu]
                                         [--full] [--models NAME ...]

Random-weight models in the published checkpoint layouts are saved in a temporary offline Hugging Face cache
under the real repo ids and loaded by name (``languagebind-video-ft``, ``umt-b16-25m-{clip,itm}``,
``internvideo2-1b-stage2-{clip,itm}``), as a user would. Inputs are at real sizes: 224 px frames, LanguageBind's
8 frames (ViT patch 14: 257 tokens a frame), UMT's 4 (patch 16: 784 video tokens), InternVideo2's 4 (patch 14:
1025 tokens), decoded from real video files (320 x 240, 24 frames). The towers are narrowed by default (2 ViT
blocks of width 128, 176 for InternVideo2) so that the naive loop finishes on a small CPU; ``--full`` uses the
real widths and depths (ViT-L/14 + CLIP text; ViT-B/16 + BERT-base; the 1B ViT + BERT-large). Per model it
times the shapes M x N = 8 x 8, 8 x 1 and 1 x 8 (videos x texts), each in 3 alternating rounds (medians
compared), in the same process on the same model:

- naive: the reference's loop shape (t2v_metrics 880a5b8: ``languagebind_video_clip_model.py``,
  ``umt_{clip,itm}_model.py`` with ``umt/umt.py``, ``internvideo2_{clip,itm}_model.py`` with
  ``internvideo2/internvideo2.py``). ``Score.forward`` calls the model once per video row with ``[video] * N``,
  and each wrapper runs the row as one batch: the video decoded and preprocessed once per copy, the N copies
  through the vision tower in one batch, the N texts (padded to the reference's ``max_length``: 77, 32, 40)
  through the text tower in one batch; CLIP kinds: the aligned pairs' cosines (UMT: averaged over the
  frames); UMT ITM: the fusion layers once per pair (``evaluation`` fuses text k with copy k, batch 1);
  InternVideo2 ITM: the fusion layers on the N pairs in one batch. t2v-videoclip changes nothing in the
  loaded models, so both paths share them;
- t2v: one ``score(videos, texts)`` call (each video decoded and encoded once, each distinct text once, in
  batches; CLIP kinds: one M x N product; ITM: the M x N pairs fused in batches of ``batch_size``).

How the naive loop differs from the real reference: it uses t2v's frame sampling, preprocessing and model code
(the same numbers as t2v, checked within 1e-4), PyAV decoding and float32; the reference decodes with decord
and runs its vendored modules (UMT/InternVideo2 on the GPU, LanguageBind on the CPU). The reference's
``evaluation`` functions also run the ITM fusion when a CLIP score is asked for (at least InternVideo2's at
880a5b8) and throw it away; the naive CLIP loops leave that out, so their ratios understate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from _shapes import compare, shapes, summary

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


MODELS = ("languagebind-video-ft", "umt-b16-25m-clip", "umt-b16-25m-itm", "internvideo2-1b-stage2-clip",
          "internvideo2-1b-stage2-itm")


def naive_rows(name: str, scorer, media: list, texts: list[str]):
    """The reference's row loop for model ``name``: per video, its N copies decoded and encoded in one batch,
    the N texts (padded to ``max_length``) in one batch, then the aligned pairs' scores."""
    import torch

    from t2v_core.device import to_device

    out = torch.empty(len(media), len(texts))
    dev = scorer.device
    with torch.inference_mode():
        for i, item in enumerate(media):
            frames = [scorer.media_frames(item) for _ in texts]  # the row's copies, each decoded again
            enc = scorer.tokenizer(list(texts), max_length=scorer.context_length, truncation=True,
                                   padding="max_length", return_tensors="pt")
            ids, mask = to_device(enc["input_ids"], dev), to_device(enc["attention_mask"], dev)
            if name.startswith("languagebind"):
                v = scorer.encode_media_batch(frames)[:, 0].float()
                t = scorer.model.encode_text(ids, mask).float()
                v, t = v / v.norm(dim=-1, keepdim=True), t / t.norm(dim=-1, keepdim=True)
                out[i] = (v * t).sum(-1).cpu()
                continue
            model = scorer.model
            pixels = to_device(torch.stack([scorer.preprocess(f) for f in frames]), dev, scorer.dtype)
            tokens, per_frame = model.encode_video(pixels)
            feats = model.text_encoder.encode_text(ids, mask)
            if name.endswith("-clip"):
                v = per_frame.float()
                v = v / v.norm(dim=-1, keepdim=True)
                t = model.text_proj(feats[:, 0]).float()
                t = t / t.norm(dim=-1, keepdim=True)
                out[i] = (v * t[:, None]).sum(-1).mean(-1).cpu()  # the frames' cosines, averaged
                continue
            memory_mask = torch.ones(tokens.shape[:2], dtype=torch.long, device=dev)
            if name.startswith("umt"):
                # umt.py's evaluation: text k fused with copy k, one pair per forward
                fused = torch.cat([model.text_encoder.fuse(feats[k:k + 1], mask[k:k + 1], tokens[k:k + 1],
                                                           memory_mask[k:k + 1]) for k in range(len(texts))])
            else:
                # internvideo2.py's evaluation: the N pairs fused in one batch
                fused = model.text_encoder.fuse(feats, mask, tokens, memory_mask)
            out[i] = model.itm_head(fused[:, 0]).float()[:, 1].cpu()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    ap.add_argument("--texts", type=int, default=8, help="N of the shapes")
    ap.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--full", action="store_true", help="real tower sizes (default: narrowed)")
    # one intra-op thread unless told: on a busy shared CPU two threads mostly wait for each other
    ap.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")),
                    help="torch CPU threads (default: T2V_BENCH_THREADS or 1)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, help="the models to time")
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
          f"{torch.get_num_threads()} threads", flush=True)
    fronts = {"clip": t2v_core.CLIPScore, "itm": t2v_core.ITMScore}
    ratios = []
    for name in args.models:
        score = fronts[name.rsplit("-", 1)[-1] if not name.startswith("languagebind") else "clip"](
            model=name, device=args.device)
        scorer = score.model
        media = scorer.load_media(videos)
        score(images=videos[:1], texts=texts[:2])  # warm-up
        naive_rows(name, scorer, media[:1], texts[:1])
        for m, n in shapes(len(videos), len(texts)):
            label = f"{name}, {m} x {n}"
            ratios.append((label, compare(
                label, lambda m=m, n=n, k=name, s=scorer, md=media: naive_rows(k, s, md[:m], texts[:n]),
                lambda m=m, n=n, s=score: s(images=videos[:m], texts=texts[:n]), rounds=args.rounds)))
    summary(ratios)
    tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
