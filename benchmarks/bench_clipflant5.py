"""CLIP-FlanT5 VQAScore: the t2v scorer vs a naive loop with the reference's per-image-row batching.

    python benchmarks/bench_clipflant5.py [--images 8] [--texts 8] [--rounds 3] [--hidden 256] [--layers 4]

Builds a random CLIP-FlanT5 checkpoint of benchmark size (336 px images, 14 px patches: 576 image tokens;
CLIP and T5 both ``--hidden`` wide and ``--layers`` deep), saves it in the Hub's on-disk format into a
temporary offline Hugging Face cache, loads it by name through ``t2v_core.VQAScore`` and times, in the same
process, on the same weights, the shapes M x N = 8 x 8, 8 x 1 (one text per image) and 1 x 8, each in 3
alternating rounds (medians compared):

- naive: the reference's loop shape (t2v_metrics 880a5b8). ``Score.forward`` calls the model once per image
  row with ``[image] * N``, and the reference's CLIP-FlanT5 wrapper runs that row as one batch: every copy
  of the image preprocessed and encoded by the full CLIP tower (all its layers), the N prompts padded into
  one batch, the full encoder-decoder run once with padded labels, the score ``exp(-mean CE)`` per row. It
  runs on the stock transformers modules (a second copy of the model loaded with ``fused=False`` and its
  tower untruncated, as the reference runs it);
- t2v: one ``score(images, texts)`` call (vision tower once per image and only up to the layer it reads,
  pairs batched, encoder shared by texts whose question is the same, T5's GELU by torch's fused kernel).

How the naive loop differs from the real reference: it uses t2v's preprocessing and prompt assembly (the
same numbers as t2v, checked within 1e-4), float32 and the installed transformers; the reference runs its
vendored LLaVA-style model in bfloat16 on transformers 4.49. The default template is timed, and with
``--visualgptscore`` also VisualGPTScore (empty question, answer ``{}``), where the encoder runs once per
image. Needs the plugin's test fixture for its tiny tokenizer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _shapes import compare, offline_hub, shapes, summary, vqa_inputs, vqa_parser, write_clip_tower

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_HUB = ROOT / "plugins" / "t2v-clipflant5" / "tests" / "fixtures" / "hub"
CHECKPOINT, TOKENIZER, TOWER = "zhiqiulin/clip-flant5-xxl", "google/flan-t5-xxl", "openai/clip-vit-large-patch14-336"


def build_cache(cache: Path, hidden: int, layers: int) -> None:
    """Write a random benchmark-size checkpoint, the tiny tokenizer and a 336 px tower repo into ``cache``."""
    import torch
    from t2v_clipflant5.modeling import CLIPT5Config, CLIPT5ForConditionalGeneration
    from transformers import CLIPVisionConfig

    from t2v_core.testing import make_fake_hf_cache

    tok_src = next((FIXTURE_HUB / "models--google--flan-t5-xxl" / "snapshots").iterdir())
    make_fake_hf_cache(cache, TOKENIZER, tok_src)
    vocab = 110
    vision = CLIPVisionConfig(hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                              num_attention_heads=max(1, hidden // 64), image_size=336, patch_size=14,
                              projection_dim=hidden, hidden_act="quick_gelu")
    config = dict(
        architectures=["CLIPT5ForConditionalGeneration"], model_type="clip_t5", d_model=hidden, d_kv=64,
        num_heads=max(1, hidden // 64), d_ff=4 * hidden, num_layers=layers, num_decoder_layers=layers,
        feed_forward_proj="gated-gelu", vocab_size=vocab, tie_word_embeddings=False, decoder_start_token_id=0,
        eos_token_id=1, pad_token_id=0, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        mm_hidden_size=hidden, mm_projector_type="mlp2x_gelu", mm_vision_select_layer=-2,
        mm_vision_select_feature="patch", mm_vision_tower=TOWER, image_aspect_ratio="pad", use_mm_proj=True)
    torch.manual_seed(0)
    model = CLIPT5ForConditionalGeneration(CLIPT5Config(**config), vision_config=vision)
    # the Hub layout: the tower under vision_model.*, plus the authors' embed_tokens alias
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith("vision_tower.vision_tower."):
            k = "vision_tower.vision_tower.vision_model." + k[len("vision_tower.vision_tower."):]
        sd[k] = v.clone().contiguous()
    sd["embed_tokens.weight"] = sd["shared.weight"].clone()
    files = {"config.json": json.dumps(config)}
    snap = make_fake_hf_cache(cache, CHECKPOINT, files)
    torch.save(sd, snap / "pytorch_model.bin")
    tower_sd = {k[len("vision_tower.vision_tower."):]: v for k, v in sd.items()
                if k.startswith("vision_tower.vision_tower.")}
    write_clip_tower(cache, TOWER, vision, tower_sd)


def naive_scores(scorer, model, images, texts, question_template, answer_template):
    """The reference's loop shape: per image, one padded batch of its N pairs through the full ``model``."""
    import torch
    from t2v_clipflant5.modeling import format_prompt

    tok = scorer.tokenizer
    out = torch.empty(len(images), len(texts))
    with torch.inference_mode():
        for i, img in enumerate(images):
            feats = model.encode_images(scorer._pixels([img] * len(texts)))  # the row's copies, one batch
            rows, labels = [], []
            for j, text in enumerate(texts):
                q = question_template.format(text) if "{}" in question_template else question_template
                a = answer_template.format(text) if "{}" in answer_template else answer_template
                before, after = format_prompt(q, scorer.conversation)
                ids = [torch.tensor(tok(c).input_ids) for c in (before, after)]
                rows.append(torch.cat([model.shared(ids[0]), feats[j], model.shared(ids[1])]))
                labels.append(torch.tensor(tok(a).input_ids))
            x = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
            mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(r), dtype=torch.long) for r in rows],
                                                   batch_first=True)
            lab = torch.nn.utils.rnn.pad_sequence(labels, batch_first=True, padding_value=-100)
            logits = model(inputs_embeds=x, attention_mask=mask, labels=lab,
                           decoder_attention_mask=lab.ne(-100).long()).logits
            for j in range(len(texts)):
                ce = torch.nn.functional.cross_entropy(logits[j].float(), lab[j], ignore_index=-100)
                out[i, j] = torch.exp(-ce)
    return out


def main() -> None:
    parser = vqa_parser(__doc__, "4 on CPU")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    parser.add_argument("--visualgptscore", action="store_true",
                        help="also time VisualGPTScore (question '', answer '{}'): doubles the run time")
    args = parser.parse_args()

    with offline_hub("bench-clipflant5-", args.threads) as hub:
        import torch

        import t2v_core

        build_cache(hub, args.hidden, args.layers)
        score = t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", batch_size=args.batch_size)
        scorer = score.model
        images, texts = vqa_inputs(args.images, args.texts)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; CLIP {args.hidden}x{args.layers} "
              f"layers at 336 px (576 image tokens), T5 {args.hidden}x{args.layers}+{args.layers} layers; "
              f"{len(images)} images x {len(texts)} texts", flush=True)
        from t2v_clipflant5.modeling import load_clip_t5, shrink_vocab

        stock, _ = load_clip_t5(CHECKPOINT, dtype=torch.float32, device="cpu", fused=False, trim=False)
        shrink_vocab(stock, len(scorer.tokenizer))
        score(images=images[:1], texts=texts[:1])  # warm-up
        naive_scores(scorer, stock, images[:1], texts[:1], 'Does this figure show "{}"?', "Yes")
        runs = [("default template", 'Does this figure show "{}"? Please answer yes or no.', "Yes")]
        if args.visualgptscore:
            runs.append(("VisualGPTScore", "", "{}"))
        ratios = []
        for name, q, a in runs:
            for m, n in shapes(len(images), len(texts)):
                label = f"{name}, {m} x {n}"
                ratios.append((label, compare(
                    label, lambda m=m, n=n, q=q, a=a: naive_scores(scorer, stock, images[:m], texts[:n], q, a),
                    lambda m=m, n=n, q=q, a=a: score(images=images[:m], texts=texts[:n], question_template=q,
                                                     answer_template=a), rounds=args.rounds)))
        summary(ratios)
        # where the naive time goes: the vision tower's share bounds what encoding images once can save
        with torch.inference_mode():
            pix = scorer._pixels(images[:1])
            t0 = time.perf_counter()
            for _ in range(3):
                scorer.model.encode_images(pix)
            t_vision = (time.perf_counter() - t0) / 3
        print(f"vision tower + projector: {t_vision * 1000:.0f} ms per image")


if __name__ == "__main__":
    sys.exit(main())
