"""LLaVA-1.5 VQAScore: the t2v scorer vs the reference's loop, which runs the whole model once per pair.

    python benchmarks/bench_llava.py [--images 8] [--texts 8] [--hidden 256] [--layers 4]

Builds a random LLaVA-1.5 checkpoint of benchmark size in the original published layout (flat config,
``.bin`` state dict, CLIP tower repo at 336 px with 14 px patches: 576 image tokens; CLIP and LLaMA both
``--hidden`` wide and ``--layers`` deep), into a temporary offline Hugging Face cache, loads it by name through
``t2v_core.VQAScore("llava-v1.5-7b")`` and times, in the same process, on the same weights:

- naive: for each (image, text) pair, pad and preprocess the image, run the vision tower and projector, and
  one forward of the whole prompt (system message, image tokens, question, answer) with the labels and
  cross-entropy, as the reference does;
- t2v: one ``score(images, texts)`` call (vision tower once per image, the prompt before the image plus the
  image tokens run once per image and their KV cache shared by every text, suffixes batched).

The scores of the two paths are compared too. Needs the plugin's test fixture for its tiny tokenizer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _shapes import offline_hub, vqa_inputs, vqa_parser, write_clip_tower

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_HUB = ROOT / "plugins" / "t2v-llava" / "tests" / "fixtures" / "hub"
CHECKPOINT, TOWER = "liuhaotian/llava-v1.5-7b", "openai/clip-vit-large-patch14-336"
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")


def build_cache(cache: Path, hidden: int, layers: int) -> None:
    """Write a random benchmark-size checkpoint (original LLaVA layout) and a 336 px tower repo into ``cache``."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlamaForCausalLM

    from t2v_core.testing import make_fake_hf_cache

    src = next((FIXTURE_HUB / "models--liuhaotian--llava-v1.5-7b" / "snapshots").iterdir())
    heads = max(1, hidden // 64)
    config = json.loads((src / "config.json").read_text())
    config.update(hidden_size=hidden, intermediate_size=int(2.6875 * hidden), num_hidden_layers=layers,
                  num_attention_heads=heads, num_key_value_heads=heads, mm_hidden_size=hidden)
    vision = CLIPVisionConfig(hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                              num_attention_heads=heads, image_size=336, patch_size=14, projection_dim=hidden,
                              hidden_act="quick_gelu")
    torch.manual_seed(0)
    lm = LlamaForCausalLM(LlamaConfig(**{k: config[k] for k in (
        "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "rms_norm_eps")}, tie_word_embeddings=False))
    sd = {k: v.clone().contiguous() for k, v in lm.state_dict().items()}
    for i, shape in ((0, (hidden, hidden)), (2, (hidden, hidden))):
        sd[f"model.mm_projector.{i}.weight"] = torch.randn(*shape) * 0.05
        sd[f"model.mm_projector.{i}.bias"] = torch.zeros(hidden)
    files: dict[str, bytes | str] = {"config.json": json.dumps(config)}
    files.update({f: (src / f).read_bytes() for f in TOKENIZER_FILES})
    snap = make_fake_hf_cache(cache, CHECKPOINT, files)
    torch.save(sd, snap / "pytorch_model.bin")
    tower = CLIPVisionModel(vision)
    tower_sd = {"vision_model." + k: v.contiguous() for k, v in tower.state_dict().items() if "position_ids" not in k}
    write_clip_tower(cache, TOWER, vision, tower_sd)


def naive_scores(scorer, images, texts, question_template, answer_template):
    """The reference's way: every pair runs the vision tower and the whole prompt, with labels and CE."""
    import torch
    from t2v_llava.scorer import IMAGE_TOKEN, PROMPT_AFTER, PROMPT_BEFORE

    model = scorer.model
    lm = model.language_model
    out = torch.empty(len(images), len(texts))
    with torch.inference_mode():
        for i, img in enumerate(images):
            for j, text in enumerate(texts):
                q = question_template.format(text) if "{}" in question_template else question_template
                a = answer_template.format(text) if "{}" in answer_template else answer_template
                feats = model.encode_images(scorer._pixels([img]))[0]
                q_part = PROMPT_BEFORE + IMAGE_TOKEN + PROMPT_AFTER.replace("{q}", q)
                before, after = scorer._chunks(q_part + a + "</s>")
                q_before, q_after = scorer._chunks(q_part)
                # the reference masks the question part's ids (the image counting as one) minus one
                n_masked = len(q_before) + 1 + len(q_after) - 1
                x = torch.cat([model.embed(torch.tensor(before)), feats, model.embed(torch.tensor(after))])[None]
                labels = [-100] * (len(before) + feats.shape[0])
                labels += [-100 if len(before) + 1 + k < n_masked else t for k, t in enumerate(after)]
                loss = lm(inputs_embeds=x, labels=torch.tensor(labels)[None]).loss
                out[i, j] = torch.exp(-loss)
    return out


def main() -> None:
    args = vqa_parser(__doc__, "8 on CPU").parse_args()
    with offline_hub("bench-llava-", args.threads) as hub:
        import torch

        import t2v_core

        build_cache(hub, args.hidden, args.layers)
        score = t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", batch_size=args.batch_size)
        scorer = score.model
        images, texts = vqa_inputs(args.images, args.texts)
        n_tokens = scorer.encode_images(images[:1])[0].shape[0]
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; CLIP {args.hidden}x{args.layers} "
              f"layers at 336 px ({n_tokens} image tokens), LLaMA {args.hidden}x{args.layers} layers; "
              f"{len(images)} images x {len(texts)} texts", flush=True)
        q, a = 'Does this figure show "{}"? Please answer yes or no.', "Yes"
        score(images=images[:1], texts=texts[:1])  # warm-up
        naive_scores(scorer, images[:1], texts[:1], q, a)
        t0 = time.perf_counter()
        fast = score(images=images, texts=texts)
        t_fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        slow = naive_scores(scorer, images, texts, q, a)
        t_slow = time.perf_counter() - t0
        dev = float(((fast - slow).abs() / slow.abs()).max())
        print(f"default template: naive {t_slow:.2f} s, t2v {t_fast:.2f} s, speed-up {t_slow / t_fast:.2f}x "
              f"(max relative difference of the scores {dev:.1e})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
