"""LLaVA-1.5 and LLaVA-Video VQAScore: the t2v scorer vs a naive loop with the reference's loop shape.

    python benchmarks/bench_llava.py [--images 8] [--texts 8] [--rounds 3] [--hidden 256] [--layers 4]
                                     [--threads 1] [--no-video]

Builds a random LLaVA-1.5 checkpoint of benchmark size in the original published layout (flat config,
``.bin`` state dict, CLIP tower repo at 336 px with 14 px patches: 576 image tokens; CLIP and LLaMA both
``--hidden`` wide and ``--layers`` deep), into a temporary offline Hugging Face cache, loads it by name through
``t2v_core.VQAScore("llava-v1.5-7b")`` and times, in the same process, on the same weights, the shapes
M x N = 8 x 8, 8 x 1 (one text per image) and 1 x 8, each in 3 alternating rounds (medians compared), and a
video case (``--no-video`` skips it): a random LLaVA-Video checkpoint (lmms-lab layout: Qwen2 ``--hidden`` x
``--layers``, a SigLIP tower of the same width at 224 px, 16 x 16 patches pooled 2 x 2 with a newline per
row: 72 tokens a frame) scoring 4 videos x 4 texts at 8 frames.

- naive, LLaVA-1.5: the reference's loop shape (t2v_metrics 880a5b8, ``llava_model.py``). ``Score.forward``
  calls the model once per image row with ``[image] * N``, and its LLaVA wrapper runs the row as one batch:
  every copy of the image padded to a square and preprocessed, all copies through the whole CLIP tower (the
  layer it reads is the second-to-last, the last runs anyway), the N prompts (system message, image tokens,
  question, answer, ``</s>``) right-padded into one batch with an attention mask, one forward of the language
  model, ``lm_head`` over every position, ``exp(-mean CE)`` per row. It runs a second copy of the checkpoint
  loaded with ``trim=False`` (t2v drops the tower's unread last layer at load time; the reference did not);
- naive, LLaVA-Video (``llavavideo_model.py``): per (video, text) pair, decode the frames, preprocess them,
  encode them (SigLIP tower, projector, 2 x 2 average pooling, newlines) and ``generate(max_new_tokens=1,
  output_scores=True)`` from the prompt's embeddings; softmax of the first step's scores at ``Yes``;
- t2v: one ``score(images, texts)`` call (vision tower once per image and only up to the layer it reads; the
  prompt before the image plus the image tokens run once per image and their KV cache shared by every text;
  suffixes batched; the vocabulary projection only where a score reads it).

How the naive loops differ from the real reference: they use t2v's preprocessing, tokenization and prompt
assembly (the same numbers as t2v, checked within 1e-4), float32, the installed transformers and its default
CPU attention (sdpa); the reference runs its vendored LLaVA code in bfloat16 on transformers 4.49 (LLaVA-Video:
LLaVA-NeXT in fp16/bf16 with flash-attention, always 64 frames: here 8, so that the loop stays short on a CPU).
Needs the plugin's test fixture for its tiny LLaMA tokenizer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from _shapes import (
    compare,
    offline_hub,
    shapes,
    summary,
    vqa_inputs,
    vqa_parser,
    write_clip_tower,
    write_video,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_HUB = ROOT / "plugins" / "t2v-llava" / "tests" / "fixtures" / "hub"
CHECKPOINT, TOWER = "liuhaotian/llava-v1.5-7b", "openai/clip-vit-large-patch14-336"
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")
VIDEO_REPO, SIGLIP = "lmms-lab/LLaVA-Video-7B-Qwen2", "google/siglip-so400m-patch14-384"
VIDEO_SIDE = 224  # 16 x 16 patches of 14 px a frame, pooled to 8 x 8, plus 8 newlines: 72 tokens
VIDEO_Q = 'Does this image show "{}"? Answer the question with Yes or No'


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




def naive_scores(scorer, plain, images, texts, question_template, answer_template):
    """The reference's loop shape: per image row, one right-padded batch of its N whole prompts through
    ``plain`` (the untrimmed model), ``lm_head`` at every position, ``exp(-mean CE)`` per pair."""
    import torch
    from t2v_llava.scorer import IMAGE_TOKEN, PROMPT_AFTER, PROMPT_BEFORE

    lm = plain.language_model
    out = torch.empty(len(images), len(texts))
    with torch.inference_mode():
        for i, img in enumerate(images):
            # every copy of the row's image preprocessed and encoded, one batch (load_images, encode_images)
            feats = plain.encode_images(scorer._pixels([img] * len(texts)))
            rows, labels = [], []
            for j, text in enumerate(texts):
                q = question_template.format(text) if "{}" in question_template else question_template
                a = answer_template.format(text) if "{}" in answer_template else answer_template
                q_part = PROMPT_BEFORE + IMAGE_TOKEN + PROMPT_AFTER.replace("{q}", q)
                before, after = scorer._chunks(q_part + a + "</s>")
                q_before, q_after = scorer._chunks(q_part)
                # the reference masks the question part's ids (the image counting as one) minus one
                n_masked = len(q_before) + 1 + len(q_after) - 1
                rows.append(torch.cat([plain.embed(torch.tensor(before)), feats[j], plain.embed(torch.tensor(after))]))
                lab = [-100] * (len(before) + feats.shape[1])
                lab += [-100 if len(before) + 1 + k < n_masked else t for k, t in enumerate(after)]
                labels.append(torch.tensor(lab))
            # prepare_inputs_labels_for_multimodal: right padding with zeros, an attention mask, labels -100
            x = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
            mask = torch.nn.utils.rnn.pad_sequence([torch.ones(len(r), dtype=torch.long) for r in rows],
                                                   batch_first=True)
            lab = torch.nn.utils.rnn.pad_sequence(labels, batch_first=True, padding_value=-100)
            hidden = lm.model(inputs_embeds=x, attention_mask=mask).last_hidden_state
            logits = lm.lm_head(hidden)[..., :scorer.vocab]
            for j in range(len(texts)):
                ce = torch.nn.functional.cross_entropy(logits[j, :-1].float(), lab[j, 1:], ignore_index=-100)
                out[i, j] = torch.exp(-ce)
    return out


def build_video_cache(cache: Path, tmp: Path, hidden: int, layers: int) -> None:
    """A random LLaVA-Video checkpoint in the lmms-lab layout (Qwen2 + SigLIP without its last layer,
    ``mm_projector``, ``image_newline``) and the SigLIP repo's config and processor, into ``cache``."""
    import torch
    import transformers as tf
    from _shapes import TEXTS
    from safetensors.torch import save_file
    from t2v_hf.testing import build_qwen_tokenizer

    from t2v_core.testing import make_fake_hf_cache

    heads = max(1, hidden // 64)
    tok = build_qwen_tokenizer(tmp / "qwen-tok", vocab_size=2000, corpus=TEXTS)
    text = dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=int(2.6875 * hidden),
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads, rms_norm_eps=1e-6,
                rope_theta=1000000.0, tie_word_embeddings=False)
    vcfg = dict(hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers + 1,
                num_attention_heads=heads, image_size=VIDEO_SIDE, patch_size=14)
    torch.manual_seed(0)
    lm = tf.Qwen2ForCausalLM(tf.Qwen2Config(**text))
    tower = tf.SiglipVisionModel(tf.SiglipVisionConfig(**vcfg, vision_use_head=False))
    state = {k: v.clone().contiguous() for k, v in lm.state_dict().items()}
    # as LLaVA-NeXT saves it: the tower without its last layer (never read)
    state.update({"model.vision_tower.vision_tower.vision_model." + k: v.contiguous()
                  for k, v in tower.state_dict().items() if "position_ids" not in k and f"layers.{layers}." not in k})
    for i in (0, 2):
        state[f"model.mm_projector.{i}.weight"] = torch.randn(hidden, hidden) * 0.05
        state[f"model.mm_projector.{i}.bias"] = torch.zeros(hidden)
    state["model.image_newline"] = torch.randn(hidden)
    config = {**text, "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava", "mm_vision_tower": SIGLIP,
              "mm_hidden_size": hidden, "mm_projector_type": "mlp2x_gelu", "mm_vision_select_layer": -2,
              "mm_spatial_pool_mode": "average", "mm_spatial_pool_stride": 2, "mm_newline_position": "grid",
              "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model",
              "image_aspect_ratio": "anyres_max_9", "mm_patch_merge_type": "spatial_unpad"}
    snap = make_fake_hf_cache(cache, VIDEO_REPO, tmp / "qwen-tok")
    (snap / "config.json").write_text(json.dumps(config))
    save_file(state, str(snap / "model.safetensors"), metadata={"format": "pt"})
    full = {"model_type": "siglip", "vision_config": {**vcfg, "model_type": "siglip_vision_model"},
            "text_config": {"model_type": "siglip_text_model"}}
    pre = {"image_processor_type": "SiglipImageProcessor", "do_resize": True,
           "size": {"height": VIDEO_SIDE, "width": VIDEO_SIDE}, "resample": 3, "do_rescale": True,
           "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    make_fake_hf_cache(cache, SIGLIP, {"config.json": json.dumps(full), "preprocessor_config.json": json.dumps(pre)})


def naive_video(scorer, videos, texts, num_frames):
    """The reference's LLaVA-Video loop: per pair, decode and encode the video, ``generate(max_new_tokens=1)``
    from the prompt's embeddings, softmax of the first step's scores at the answer's first token."""
    import torch
    from t2v_llava.scorer import IMAGE_TOKEN

    model, tok = scorer.model, scorer.tokenizer
    out = torch.empty(len(videos), len(texts))
    with torch.inference_mode():
        for i, video in enumerate(videos):
            for j, text in enumerate(texts):
                clip = scorer._clip(video, num_frames)  # load_images: decode the sampled frames again
                feats = scorer.encode_images([clip])[0]
                prompt = (scorer.prompt_before + IMAGE_TOKEN + "\n" + clip.instruction + "\n" + VIDEO_Q.format(text)
                          + "<|im_end|>\n<|im_start|>assistant\n")
                before, after = scorer._chunks(prompt)
                x = torch.cat([model.embed(torch.tensor(before)), feats, model.embed(torch.tensor(after))])[None]
                gen = model.language_model.generate(
                    inputs_embeds=x, attention_mask=torch.ones(x.shape[:2], dtype=torch.long), max_new_tokens=1,
                    do_sample=False, output_scores=True, return_dict_in_generate=True, pad_token_id=scorer.eos_id)
                out[i, j] = torch.softmax(gen.scores[0].float(), -1)[0, tok("Yes").input_ids[0]]
    return out


def main() -> None:
    parser = vqa_parser(__doc__, "8 on CPU")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds per shape")
    parser.add_argument("--no-video", action="store_true", help="skip the LLaVA-Video case")
    # one intra-op thread unless told: on a busy shared CPU two threads mostly wait for each other
    parser.set_defaults(threads=int(os.environ.get("T2V_BENCH_THREADS", "1")))
    args = parser.parse_args()
    with offline_hub("bench-llava-", args.threads) as hub:
        import torch
        import transformers
        from t2v_llava.modeling import load_llava

        import t2v_core

        build_cache(hub, args.hidden, args.layers)
        score = t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", batch_size=args.batch_size)
        scorer = score.model
        # the reference ran the whole CLIP tower: a copy without t2v's load-time trim
        plain, _, _ = load_llava(CHECKPOINT, dtype=torch.float32, device="cpu", trim=False)
        images, texts = vqa_inputs(args.images, args.texts)
        n_tokens = scorer.encode_images(images[:1])[0].shape[0]
        print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} "
              f"threads; CLIP {args.hidden}x{args.layers} layers at 336 px ({n_tokens} image tokens), LLaMA "
              f"{args.hidden}x{args.layers} layers; {len(images)} images x {len(texts)} texts", flush=True)
        q, a = 'Does this figure show "{}"? Please answer yes or no.', "Yes"
        score(images=images[:1], texts=texts[:2])  # warm-up
        naive_scores(scorer, plain, images[:1], texts[:1], q, a)
        ratios = []
        for m, n in shapes(len(images), len(texts)):
            label = f"images {m} x {n}"
            ratios.append((label, compare(
                label, lambda m=m, n=n: naive_scores(scorer, plain, images[:m], texts[:n], q, a),
                lambda m=m, n=n: score(images=images[:m], texts=texts[:n]), rounds=args.rounds)))
        if not args.no_video:
            from t2v_core.media import load_media

            build_video_cache(hub, hub.parent, args.hidden, args.layers)
            vscore = t2v_core.VQAScore(model="llava-video-7b", device="cpu", batch_size=args.batch_size)
            nv, nt, frames = min(4, args.images), min(4, args.texts), 8
            videos = [load_media(write_video(hub.parent / f"v{k}.mp4", k, frames=16, size=VIDEO_SIDE))
                      for k in range(nv)]
            vscore(images=videos[:1], texts=texts[:2], num_frames=frames)  # warm-up
            naive_video(vscore.model, videos[:1], texts[:1], frames)
            label = f"LLaVA-Video, videos {nv} x {nt} ({frames} frames)"
            ratios.append((label, compare(
                label, lambda: naive_video(vscore.model, videos, texts[:nt], frames),
                lambda: vscore(images=videos, texts=texts[:nt], num_frames=frames), rounds=args.rounds)))
        summary(ratios)


if __name__ == "__main__":
    sys.exit(main())
