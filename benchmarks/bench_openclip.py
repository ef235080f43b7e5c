"""CLIPScore cost: t2v-openclip's M + N encodes and one matrix product vs encoding every pair separately.

    python benchmarks/bench_openclip.py [--full] [--images 32] [--texts 32] [--device cpu]

A random-weight model is saved in a temporary offline Hugging Face cache under the real repo id and loaded
by name (``openai:ViT-B-32``), as a user would. By default it is a narrowed ViT-B-32 (same 224 px input,
32 px patches, 77-token context and vocabulary; 4 layers of width 256 per tower, ~20M parameters) so
that the naive baselines finish in minutes on a small CPU; ``--full`` uses the real ViT-B-32 config (151M).
The baseline runs in the same process on the same model:

* ``pairwise``: every (image, text) pair encoded on its own (batch of 1), as a pairwise-only API does;
* with ``--rows``, also t2v_metrics' loop: one row per image, that image repeated N times and encoded with
  the N texts in one batch (M x N image encodes and M x N text encodes).

All results are checked equal to t2v-openclip's M x N matrix; the script prints the wall times and ratios.
Torch runs on one CPU thread by default (``--threads``) so that timings on a shared machine are stable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

#: a ViT-B-32 narrowed to 4 layers of width 256 in each tower (input size, patches, context, vocab unchanged)
SMALL_CONFIG = {
    "embed_dim": 256,
    "vision_cfg": {"image_size": 224, "layers": 4, "width": 256, "head_width": 64, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 256, "heads": 4, "layers": 4},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="ViT-B-32", help="open_clip architecture (random weights)")
    ap.add_argument("--full", action="store_true", help="the architecture's real size (default: narrowed)")
    ap.add_argument("--tag", default="openai", help="pretrained tag whose repo id the weights are saved under")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: stable timings on a shared machine)")
    ap.add_argument("--rows", action="store_true", help="also time t2v_metrics' row-by-row loop")
    args = ap.parse_args()

    os.environ.setdefault("T2V_PLUGINS", "t2v-openclip")
    os.environ.setdefault("T2V_PROGRESS", "0")
    tmp = tempfile.TemporaryDirectory(prefix="bench-openclip-")
    os.environ["HF_HUB_CACHE"], os.environ["HF_HUB_OFFLINE"] = tmp.name, "1"
    import huggingface_hub.constants as hf_constants

    hf_constants.HF_HUB_CACHE, hf_constants.HF_HUB_OFFLINE = tmp.name, True

    import torch
    from t2v_openclip.testing import install_openclip_model, use_tiny_config

    import t2v_core
    from t2v_core.testing import random_images

    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.full:
        use_tiny_config(args.arch, SMALL_CONFIG)
    install_openclip_model(tmp.name, args.arch, args.tag, seed=0)
    name = f"{args.tag}:{args.arch}"
    score = t2v_core.CLIPScore(model=name, device=args.device, batch_size=args.batch_size)
    scorer = score.model
    images = random_images(args.images, size=(256, 256), seed=0)
    words = "red blue green small large cat dog cube sphere horse astronaut street snow beach".split()
    texts = [f"a {words[i % 14]} {words[(3 * i + 1) % 14]} next to a {words[(5 * i + 2) % 14]} number {i}"
             for i in range(args.texts)]
    media = scorer.load_media(images)
    model, pre, tok, dev = scorer.model, scorer.preprocess, scorer.tokenizer, scorer.device

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    @torch.inference_mode()
    def pairwise() -> torch.Tensor:
        out = torch.empty(len(images), len(texts))
        for i, im in enumerate(images):
            for j, t in enumerate(texts):
                a = model.encode_image(pre(im).unsqueeze(0).to(dev)).float()
                b = model.encode_text(tok([t]).to(dev)).float()
                out[i, j] = float((a / a.norm(dim=-1, keepdim=True) * (b / b.norm(dim=-1, keepdim=True))).sum())
        return out

    @torch.inference_mode()
    def reference_rows() -> torch.Tensor:
        out = torch.empty(len(images), len(texts))
        for i, im in enumerate(images):
            a = model.encode_image(torch.stack([pre(im)] * len(texts)).to(dev)).float()
            b = model.encode_text(tok(texts).to(dev)).float()
            out[i] = ((a / a.norm(dim=-1, keepdim=True)) * (b / b.norm(dim=-1, keepdim=True))).sum(-1).cpu()
        return out

    def ours() -> torch.Tensor:
        return scorer.score(media, texts, templates=None, **scorer.resolve_options())

    ours()  # warm-up (allocator, kernels)
    timings = {}
    results = {}
    runs = [("t2v-openclip", ours), ("pairwise", pairwise)] + ([("t2v_metrics rows", reference_rows)] if args.rows else [])
    for label, fn in runs:
        sync()
        t0 = time.perf_counter()
        results[label] = fn()
        sync()
        timings[label] = time.perf_counter() - t0
        print(f"{label:>18}: {timings[label]:8.2f} s", flush=True)
    for label in timings:
        dev_ = float((results[label] - results["t2v-openclip"]).abs().max())
        assert dev_ < 1e-4, f"{label} disagrees with t2v-openclip by {dev_}"
    m, n = args.images, args.texts
    size = "real size" if args.full else "narrowed"
    print(f"{name} ({size}, random weights), {m} images x {n} texts on {args.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"ratio pairwise / t2v-openclip = {timings['pairwise'] / timings['t2v-openclip']:.1f}x")
    if args.rows:
        print(f"ratio t2v_metrics rows / t2v-openclip = {timings['t2v_metrics rows'] / timings['t2v-openclip']:.1f}x")
    tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
