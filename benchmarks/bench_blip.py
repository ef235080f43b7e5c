"""t2v-blip: InstructBLIP VQAScore, BLIP-2 ITMScore and BLIP-2 CLIPScore (ITC) M x N vs a per-pair loop.

    python benchmarks/bench_blip.py [--images 8] [--texts 8] [--hidden 256] [--layers 4]

Builds random checkpoints of benchmark size (224 px images, 14 px patches: 257 ViT tokens; 32 queries; ViT,
Q-Former and T5 ``--hidden`` wide and ``--layers`` deep) with the plugin's tiny test tokenizers, saves them in
the Hub's on-disk format into a temporary offline Hugging Face cache, loads them by name through
``t2v_core`` and times, in the same process, on the same weights:

- naive: for each (image, text) pair, the whole model's own forward (``InstructBlipForConditionalGeneration``
  with ``labels``; ``Blip2ForImageTextRetrieval`` with and without the ITM head), as the reference does;
- t2v: one ``score(images, texts)`` call per kind.

The scores of the two paths are compared too (they must agree to 1e-4 relative).
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

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_HUB = ROOT / "plugins" / "t2v-blip" / "tests" / "fixtures" / "hub"
INSTRUCTBLIP, BLIP2 = "Salesforce/instructblip-flan-t5-xl", "Salesforce/blip2-itm-vit-g"


def _snapshot(repo: str) -> Path:
    d = FIXTURE_HUB / f"models--{repo.replace('/', '--')}"
    return d / "snapshots" / (d / "refs" / "main").read_text().strip()


def build_cache(cache: Path, hidden: int, layers: int) -> None:
    """Random benchmark-size InstructBLIP and BLIP-2 checkpoints with the fixture's tokenizers."""
    import torch
    from transformers import (
        Blip2Config,
        Blip2ForImageTextRetrieval,
        InstructBlipConfig,
        InstructBlipForConditionalGeneration,
    )

    from t2v_core.testing import make_fake_hf_cache

    heads = max(1, hidden // 64)
    vision = {
        "hidden_size": hidden,
        "intermediate_size": 4 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "image_size": 224,
        "patch_size": 14,
    }
    qformer = {
        "hidden_size": hidden,
        "intermediate_size": 4 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "encoder_hidden_size": hidden,
    }
    for repo, make in ((INSTRUCTBLIP, "instructblip"), (BLIP2, "blip2")):
        src = _snapshot(repo)
        config = json.loads((src / "config.json").read_text())
        config["vision_config"].update(vision)
        config["qformer_config"].update(qformer)
        torch.manual_seed(0)
        if make == "instructblip":
            config["text_config"].update(
                d_model=hidden,
                d_kv=64,
                num_heads=heads,
                d_ff=4 * hidden,
                num_layers=layers,
                num_decoder_layers=layers,
            )
            model = InstructBlipForConditionalGeneration(InstructBlipConfig(**config))
        else:
            model = Blip2ForImageTextRetrieval(Blip2Config(**config))
        with torch.no_grad():  # visible score differences (the default init makes all scores ~equal)
            for p in model.parameters():
                if p.dim() >= 2:
                    p.normal_(0, 0.5 / hidden**0.5)
        out = cache.parent / make
        model.save_pretrained(out)
        for f in src.rglob("*"):
            if f.is_file() and f.name not in ("config.json", "model.safetensors"):
                dest = out / f.relative_to(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, dest)
        make_fake_hf_cache(cache, repo, out)
        # the markers an online fill leaves: without them qformer_tokenizer/ does not load offline
        marker_src = src.parent.parent / ".no_exist" / src.name
        if marker_src.is_dir():
            commit = (cache / f"models--{repo.replace('/', '--')}" / "refs" / "main").read_text().strip()
            shutil.copytree(marker_src, cache / f"models--{repo.replace('/', '--')}" / ".no_exist" / commit)


def naive_vqa(scorer, images, texts, question_template, answer_template):
    """The reference's way: every pair runs the whole InstructBLIP forward (ViT included) with ``labels``."""
    import torch

    out = torch.empty(len(images), len(texts))
    n = scorer.num_query
    with torch.inference_mode():
        for i, img in enumerate(images):
            for j, text in enumerate(texts):
                q, a = question_template.format(text), answer_template.format(text)
                qf = scorer.qformer_tokenizer([q], truncation=True, max_length=128, return_tensors="pt")
                ids = torch.tensor([[scorer.config.image_token_index] * n + scorer._t5_question(q)])
                labels = torch.tensor([list(scorer._labels(a))])
                loss = scorer.model(
                    pixel_values=scorer.pixels([img]),
                    qformer_input_ids=qf.input_ids,
                    qformer_attention_mask=qf.attention_mask,
                    input_ids=ids,
                    labels=labels,
                ).loss
                out[i, j] = torch.exp(-loss)
    return out


def naive_blip2(scorer, images, texts, itm: bool):
    """Every pair runs Blip2ForImageTextRetrieval's whole forward (ViT included)."""
    import torch

    m = scorer.model
    n = m.config.num_query_tokens
    out = torch.empty(len(images), len(texts))
    with torch.inference_mode():
        for i, img in enumerate(images):
            for j, text in enumerate(texts):
                ids, mask = scorer.tokens([text])
                ids = torch.cat([torch.full((1, n), m.config.image_token_index), ids], 1)
                mask = torch.cat([torch.ones(1, n, dtype=mask.dtype), mask], 1)
                logits = m(
                    pixel_values=scorer.pixels([img]),
                    input_ids=ids,
                    attention_mask=mask,
                    use_image_text_matching_head=itm,
                ).logits_per_image
                out[i, j] = logits.softmax(-1)[0, 1] if itm else logits[0, 0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-blip-"))
    os.environ.update(
        HF_HUB_CACHE=str(tmp / "hub"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", T2V_PROGRESS="0"
    )
    try:
        import torch

        import t2v_core
        from t2v_core.testing import random_images

        if args.threads:
            torch.set_num_threads(args.threads)
        (tmp / "hub").mkdir()
        build_cache(tmp / "hub", args.hidden, args.layers)
        sizes = [(400, 300), (300, 420), (224, 224), (512, 256)]
        images = [im for k in range(args.images) for im in random_images(1, size=sizes[k % 4], seed=k)]
        base = [
            "a red cube on top of a blue sphere",
            "someone talks on the phone angrily while another person sits happily",
            "three apples and a banana",
            "The brown dog chases the black dog around the tree.",
            "a cat",
            "a snowy mountain at sunset with a lake in front",
            "two people shaking hands",
            "an astronaut riding a horse on the moon",
        ]
        texts = [base[k % len(base)] + ("" if k < len(base) else f" ({k})") for k in range(args.texts)]
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
            f"ViT/Q-Former/T5 {args.hidden} wide, {args.layers} layers, 224 px, 32 queries; "
            f"{len(images)} images x {len(texts)} texts",
            flush=True,
        )
        runs = [
            (
                "VQAScore instructblip-flant5-xl",
                t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu"),
                lambda s: naive_vqa(
                    s, images, texts, 'Question: Does this figure show "{}"? Please answer yes or no.', "yes"
                ),
            ),
            (
                "ITMScore blip2-itm",
                t2v_core.ITMScore(model="blip2-itm", device="cpu"),
                lambda s: naive_blip2(s, images, texts, itm=True),
            ),
            (
                "CLIPScore blip2-itc",
                t2v_core.CLIPScore(model="blip2-itc", device="cpu"),
                lambda s: naive_blip2(s, images, texts, itm=False),
            ),
        ]
        for label, score, naive in runs:
            score(images=images[:1], texts=texts[:1])  # warm-up
            t0 = time.perf_counter()
            fast = score(images=images, texts=texts)
            t_fast = time.perf_counter() - t0
            t0 = time.perf_counter()
            slow = naive(score.model)
            t_slow = time.perf_counter() - t0
            dev = float(((fast - slow).abs() / slow.abs()).max())
            print(
                f"{label}: naive per-pair loop {t_slow:.2f} s, t2v M x N {t_fast:.2f} s, speed-up "
                f"{t_slow / t_fast:.2f}x (max relative difference of the scores {dev:.1e}; scores in "
                f"[{float(fast.min()):.3g}, {float(fast.max()):.3g}])",
                flush=True,
            )
            if dev > 1e-4:
                raise SystemExit(f"{label}: the two paths disagree ({dev:.1e})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
