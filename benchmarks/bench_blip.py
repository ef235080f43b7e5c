"""t2v-blip: InstructBLIP VQAScore, BLIP-2 ITMScore and BLIP-2 CLIPScore (ITC) vs the reference's row loop.

    python benchmarks/bench_blip.py [--images 8] [--texts 8] [--rounds 3] [--hidden 256] [--layers 4]
                                    [--threads 1]

Builds random checkpoints of benchmark size (224 px images, 14 px patches: 257 ViT tokens; 32 queries; ViT,
Q-Former and T5 ``--hidden`` wide and ``--layers`` deep) with the plugin's tiny test tokenizers, saves them in
the Hub's on-disk format into a temporary offline Hugging Face cache, loads them by name through
``t2v_core`` and times, in the same process, on the same weights, the shapes M x N = 8 x 8, 8 x 1 and 1 x 8
per kind, each in 3 alternating rounds (medians compared):

- naive: the reference's loop shape (t2v_metrics 880a5b8: ``instructblip_model.py``, ``blip2_itm_model.py``,
  ``blip2_itc_model.py``). ``Score.forward`` calls the model once per image row with ``[image] * N``, and
  each wrapper runs the row as one batch: every copy of the image preprocessed and through the ViT, then
  InstructBLIP: the N questions padded through the Q-Former and T5 with the padded labels, ``exp(-mean CE)``
  per row; ITM: the N (image copy, text) pairs through the Q-Former and the ITM head; ITC: the N image copies'
  query embeddings and the N texts' ``[CLS]`` embeddings, the aligned pairs' max-over-queries cosine. Here
  the row runs through the checkpoint's own transformers forward (``InstructBlipForConditionalGeneration``
  with ``labels``; ``Blip2ForImageTextRetrieval`` with and without the ITM head). t2v-blip changes nothing in
  the loaded models that costs time (it only sets ``post_layernorm.eps`` to LAVIS's 1e-5, which both paths
  use), so both paths share one model;
- t2v: one ``score(images, texts)`` call per kind (every image through the ViT once; ITC: M + N encodes and
  one product; ITM: the M x N pairs batched; InstructBLIP: Q-Former and T5 encoder once per distinct
  (image, question), the decoder per answer).

How the naive loop differs from the real reference: it uses t2v's preprocessing and tokenization (the same
numbers as t2v, checked within 1e-4), float32, the installed transformers' native classes and their default
CPU attention; the reference runs LAVIS's vendored modules under CUDA autocast (fp16 ViT; bf16 for
InstructBLIP) on transformers 4.49.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _shapes import compare, shapes, summary, vqa_inputs

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
    """The reference's row loop: per image, its N copies and N questions as one batch through the whole
    InstructBLIP forward (ViT included) with padded ``labels``; ``exp(-mean CE)`` per pair."""
    import torch

    n_query = scorer.num_query
    pad = scorer.t5_tokenizer.pad_token_id
    out = torch.empty(len(images), len(texts))
    questions = [question_template.format(t) for t in texts]
    answers = [answer_template.format(t) for t in texts]
    with torch.inference_mode():
        for i, img in enumerate(images):
            qf = scorer.qformer_tokenizer(questions, padding="longest", truncation=True, max_length=128,
                                          return_tensors="pt")
            rows = [[scorer.config.image_token_index] * n_query + scorer._t5_question(q) for q in questions]
            ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(r) for r in rows], batch_first=True,
                                                  padding_value=pad)
            mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(r), dtype=torch.long) for r in rows],
                                                   batch_first=True)
            labels = torch.nn.utils.rnn.pad_sequence([torch.tensor(scorer._labels(a)) for a in answers],
                                                     batch_first=True, padding_value=-100)
            logits = scorer.model(
                pixel_values=scorer.pixels([img] * len(texts)),  # every copy preprocessed, one ViT batch
                qformer_input_ids=qf.input_ids,
                qformer_attention_mask=qf.attention_mask,
                input_ids=ids,
                attention_mask=mask,
                labels=labels,
                decoder_attention_mask=labels.ne(-100).long(),
            ).logits
            for j in range(len(texts)):
                ce = torch.nn.functional.cross_entropy(logits[j].float(), labels[j], ignore_index=-100)
                out[i, j] = torch.exp(-ce)
    return out


def naive_blip2(scorer, images, texts, itm: bool):
    """The reference's row loop: per image, its N copies with the N texts as one batch through
    ``Blip2ForImageTextRetrieval``'s whole forward (ViT included); the aligned pairs' scores."""
    import torch

    m = scorer.model
    n = m.config.num_query_tokens
    out = torch.empty(len(images), len(texts))
    with torch.inference_mode():
        for i, img in enumerate(images):
            ids, mask = scorer.tokens(texts)
            ids = torch.cat([torch.full((len(texts), n), m.config.image_token_index), ids], 1)
            mask = torch.cat([torch.ones(len(texts), n, dtype=mask.dtype), mask], 1)
            logits = m(
                pixel_values=scorer.pixels([img] * len(texts)),
                input_ids=ids,
                attention_mask=mask,
                use_image_text_matching_head=itm,
            ).logits_per_image
            # ITM: (N, 2) for the aligned pairs; ITC: the N x N matrix of which the reference computed the diagonal
            out[i] = logits.softmax(-1)[:, 1] if itm else logits.diagonal()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    # one intra-op thread unless told: on a busy shared CPU two threads mostly wait for each other
    parser.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")),
                        help="torch CPU threads (default: T2V_BENCH_THREADS or 1)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-blip-"))
    os.environ.update(
        HF_HUB_CACHE=str(tmp / "hub"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", T2V_PROGRESS="0"
    )
    try:
        import torch
        import transformers

        import t2v_core

        torch.set_num_threads(args.threads)
        (tmp / "hub").mkdir()
        build_cache(tmp / "hub", args.hidden, args.layers)
        images, texts = vqa_inputs(args.images, args.texts)
        print(
            f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} "
            f"threads; ViT/Q-Former/T5 {args.hidden} wide, {args.layers} layers, 224 px, 32 queries; "
            f"{len(images)} images x {len(texts)} texts",
            flush=True,
        )
        q, a = 'Question: Does this figure show "{}"? Please answer yes or no.', "yes"
        runs = [
            (
                "VQAScore instructblip-flant5-xl",
                t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu"),
                lambda s, ims, ts: naive_vqa(s, ims, ts, q, a),
            ),
            (
                "ITMScore blip2-itm",
                t2v_core.ITMScore(model="blip2-itm", device="cpu"),
                lambda s, ims, ts: naive_blip2(s, ims, ts, itm=True),
            ),
            (
                "CLIPScore blip2-itc",
                t2v_core.CLIPScore(model="blip2-itc", device="cpu"),
                lambda s, ims, ts: naive_blip2(s, ims, ts, itm=False),
            ),
        ]
        ratios = []
        for name, score, naive in runs:
            score(images=images[:1], texts=texts[:2])  # warm-up
            naive(score.model, images[:1], texts[:1])
            for m, n in shapes(len(images), len(texts)):
                label = f"{name}, {m} x {n}"
                ratios.append((label, compare(
                    label, lambda m=m, n=n, s=score, f=naive: f(s.model, images[:m], texts[:n]),
                    lambda m=m, n=n, s=score: s(images=images[:m], texts=texts[:n]), rounds=args.rounds)))
        summary(ratios)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
