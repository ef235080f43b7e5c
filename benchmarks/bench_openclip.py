"""CLIPScore (OpenCLIP): t2v-openclip's M + N encodes and one product vs the reference's row loop.

    python benchmarks/bench_openclip.py [--images 8] [--texts 8] [--rounds 3] [--threads 1] [--full]
                                        [--pairwise]

A random-weight model is saved in a temporary offline Hugging Face cache under the real repo id and loaded
by name (``openai:ViT-B-32``), as a user would. By default it is a narrowed ViT-B-32 (same 224 px input,
32 px patches, 77-token context and vocabulary; 4 layers of width 256 per tower, ~20M parameters) so that
the naive loop finishes quickly on a small CPU; ``--full`` uses the real ViT-B-32 config (151M). In the same
process, on the same model, it times the shapes M x N = 8 x 8, 8 x 1 and 1 x 8, each in 3 alternating
rounds (medians compared):

- naive: the reference's loop shape (t2v_metrics 880a5b8, ``clip_model.py``). ``Score.forward`` calls the
  model once per image row with ``[image] * N``, and its CLIP wrapper runs the row as one batch: every copy
  of the image preprocessed, ``encode_image`` on the N copies, ``encode_text`` on the N texts, the aligned
  pairs' cosines (M x N image encodes and M x N text encodes in all). t2v-openclip changes nothing in the
  loaded model, so both paths share it;
- t2v: one ``score(images, texts)`` call (each image and each distinct text encoded once, batches of 32,
  one M x N product);
- with ``--pairwise``, also every (image, text) pair encoded on its own (batch of 1), as a pairwise-only API
  does (slower than the reference's row batching on most shapes).

How the naive loop differs from the real reference: the same open_clip model, preprocessing and tokenizer
(the same numbers as t2v, checked within 1e-4), float32 on the CPU; the reference's inputs are image files
read by PIL (here PIL images already in memory, on both paths). Torch runs on one CPU thread by default.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _shapes import compare, shapes, summary

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
    ap.add_argument("--images", type=int, default=8, help="M of the shapes M x N, M x 1, 1 x N")
    ap.add_argument("--texts", type=int, default=8, help="N of the shapes")
    ap.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    # one intra-op thread unless told: on a busy shared CPU two threads mostly wait for each other
    ap.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")),
                    help="torch CPU threads (default: T2V_BENCH_THREADS or 1)")
    ap.add_argument("--pairwise", action="store_true", help="also time every pair encoded on its own")
    args = ap.parse_args()

    os.environ.setdefault("T2V_PLUGINS", "t2v-openclip")
    os.environ.setdefault("T2V_PROGRESS", "0")
    tmp = tempfile.TemporaryDirectory(prefix="bench-openclip-")
    os.environ["HF_HUB_CACHE"], os.environ["HF_HUB_OFFLINE"] = tmp.name, "1"
    import huggingface_hub.constants as hf_constants

    hf_constants.HF_HUB_CACHE, hf_constants.HF_HUB_OFFLINE = tmp.name, True

    import open_clip
    import torch
    from t2v_openclip.testing import install_openclip_model, use_tiny_config

    import t2v_core
    from t2v_core.testing import random_images

    torch.set_num_threads(args.threads)
    if not args.full:
        use_tiny_config(args.arch, SMALL_CONFIG)
    install_openclip_model(tmp.name, args.arch, args.tag, seed=0)
    name = f"{args.tag}:{args.arch}"
    score = t2v_core.CLIPScore(model=name, device=args.device, batch_size=args.batch_size)
    scorer = score.model
    sizes = [(256, 256), (400, 300), (300, 420), (512, 256)]
    images = [im for k in range(args.images) for im in random_images(1, size=sizes[k % 4], seed=k)]
    words = "red blue green small large cat dog cube sphere horse astronaut street snow beach".split()
    texts = [f"a {words[i % 14]} {words[(3 * i + 1) % 14]} next to a {words[(5 * i + 2) % 14]} number {i}"
             for i in range(args.texts)]
    model, pre, tok, dev = scorer.model, scorer.preprocess, scorer.tokenizer, scorer.device

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    @torch.inference_mode()
    def reference_rows(ims: list, ts: list[str]) -> torch.Tensor:
        """Per image row: N preprocessed copies and the N texts, one batch each, the aligned cosines."""
        out = torch.empty(len(ims), len(ts))
        for i, im in enumerate(ims):
            a = model.encode_image(torch.stack([pre(im) for _ in ts]).to(dev)).float()
            b = model.encode_text(tok(ts).to(dev)).float()
            out[i] = ((a / a.norm(dim=-1, keepdim=True)) * (b / b.norm(dim=-1, keepdim=True))).sum(-1).cpu()
        sync()
        return out

    @torch.inference_mode()
    def pairwise(ims: list, ts: list[str]) -> torch.Tensor:
        out = torch.empty(len(ims), len(ts))
        for i, im in enumerate(ims):
            for j, t in enumerate(ts):
                a = model.encode_image(pre(im).unsqueeze(0).to(dev)).float()
                b = model.encode_text(tok([t]).to(dev)).float()
                out[i, j] = float((a / a.norm(dim=-1, keepdim=True) * (b / b.norm(dim=-1, keepdim=True))).sum())
        return out

    def ours(ims: list, ts: list[str]) -> torch.Tensor:
        out = score(images=ims, texts=ts)
        sync()
        return out

    size = "real size" if args.full else "narrowed"
    print(f"{name} ({size}, random weights), {args.images} images x {args.texts} texts on {args.device}, torch "
          f"{torch.__version__}, open_clip {open_clip.__version__}, {torch.get_num_threads()} threads", flush=True)
    ours(images[:1], texts[:2])  # warm-up (allocator, kernels)
    reference_rows(images[:1], texts[:2])
    ratios = []
    for m, n in shapes(len(images), len(texts)):
        label = f"{m} x {n}"
        ratios.append((label, compare(label, lambda m=m, n=n: reference_rows(images[:m], texts[:n]),
                                      lambda m=m, n=n: ours(images[:m], texts[:n]), rounds=args.rounds)))
    if args.pairwise:
        m, n = len(images), len(texts)
        label = f"{m} x {n}, every pair encoded on its own as the naive loop"
        ratios.append((label, compare(label, lambda: pairwise(images, texts), lambda: ours(images, texts),
                                      rounds=args.rounds)))
    summary(ratios)
    tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
