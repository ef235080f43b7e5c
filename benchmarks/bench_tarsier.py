"""Benchmark: t2v-tarsier's scorer vs the reference's per-pair loop, on videos.

A random-weight Tarsier2-layout checkpoint of benchmark size (a 4-layer language model of width 256, a
4-layer vision tower of width 128, the real processor geometry: 14 px patches, merge 2, temporal patch 2),
written with Tarsier's key names and config to a temporary offline Hugging Face cache under
``omni-research/Tarsier2-7b-0115`` and loaded by name, so the production path (key mapping included) runs.
Videos: random 224 x 224 clips of 32 frames; Tarsier samples 16, i.e. 16 x 64 = 1024 vision tokens a video.

The baseline has the reference's loop shape (t2v_metrics 880a5b8 ``tarsier_model.py``): ``Score.forward``
calls the model once per video row, and for every pair the wrapper samples and preprocesses the video, builds
the prompt and calls ``generate(max_new_tokens=1, output_scores=True)``; the reference then does all of it a
second time (its ``load_images`` already generated once), which this baseline does not, so the ratio is
conservative. It runs t2v's own preprocessing (the same numbers, checked within 1e-4) and a second copy of the checkpoint as
plain transformers loads it (without t2v's changes to the vision tower), in float32 with the installed
transformers; the reference ran bfloat16 with flash-attn on transformers 4.49.

    python benchmarks/bench_tarsier.py [--videos 8] [--texts 8] [--rounds 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-tarsier-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("T2V_PROGRESS", "0")

import torch  # noqa: E402
from _shapes import compare, shapes, summary, write_video  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.media import load_media  # noqa: E402
from t2v_core.testing import make_fake_hf_cache  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "plugins" / "t2v-tarsier" / "tests" / "fixtures" / "tiny-tarsier2"
REPO = "omni-research/Tarsier2-7b-0115"
TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat", "a person riding a bicycle",
         "the quick brown fox jumps", "three apples and a banana", "a cat on a red table", "two dogs and a cat"]


def build(folder: Path) -> Path:
    """The fixture's tokenizer, template and processor files with a benchmark-size model in Tarsier's layout."""
    from safetensors.torch import save_file
    from t2v_tarsier.loading import key_mapping, native_config
    from transformers import Qwen2VLForConditionalGeneration

    shutil.copytree(FIXTURE, folder)
    raw = json.loads((folder / "config.json").read_text())
    raw["text_config"].update(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                              num_key_value_heads=2, rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]})
    raw["vision_config"].update(depth=4, embed_dim=128, hidden_size=256, num_heads=4, mlp_ratio=4)
    (folder / "config.json").write_text(json.dumps(raw, indent=1))
    config = native_config(raw, "benchmark")
    torch.manual_seed(0)
    model = Qwen2VLForConditionalGeneration(config)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:
                p.normal_(0, 0.05)
    back = {v: k.replace("\\", "").lstrip("^") for k, v in key_mapping(config).items() if not k.startswith("_")}
    tarsier = {}
    for key, value in model.state_dict().items():
        prefix = next(p for p in back if key.startswith(p))
        tarsier[back[prefix] + key[len(prefix):]] = value.contiguous()
    save_file(tarsier, str(folder / "model.safetensors"))
    return folder


def baseline(score: t2v_core.VQAScore, plain, videos: list[str], texts: list[str]) -> torch.Tensor:
    """The reference's loop: per pair, sample and preprocess the video, build the inputs, generate one token
    with ``plain`` (the checkpoint as transformers loads it, with Tarsier's positions)."""
    scorer = score.model
    templates = scorer.templates()
    out = torch.empty(len(videos), len(texts))
    for i, path in enumerate(videos):
        for j, text in enumerate(texts):
            question, answer = templates.fill(text)
            prepared = scorer.prepare(load_media(path))
            inputs = scorer._to_device(scorer.processor_inputs([scorer.render(question, prepared)], [prepared]))
            with torch.inference_mode():
                gen = plain.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                            return_dict_in_generate=True, pad_token_id=scorer.pad_id)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out[i, j] = probs[0, scorer.tokenizer(answer, add_special_tokens=False).input_ids[0]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("T2V_BENCH_THREADS", "1")))
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = build(ROOT / "ckpt")
    make_fake_hf_cache(ROOT / "hub", REPO, folder)
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu", batch_size=8)
    # the reference ran its model as loaded, without t2v's changes to the vision tower (t2v_hf.qwen_vision):
    # a second copy for the naive loop, with Tarsier's positions (the reference's own model code has them)
    from t2v_tarsier.loading import load_model

    plain = load_model(str(folder), None).eval()
    plain_inner, ours_inner = getattr(plain, "model", plain), getattr(score.model.model, "model", score.model.model)
    plain_inner.get_rope_index = ours_inner.get_rope_index
    videos = [write_video(ROOT / f"v{k}.mp4", seed=k, frames=32, size=args.size) for k in range(args.videos)]
    texts = (TEXTS * 4)[: args.texts]
    print(f"random Tarsier2 layout (LM 4 x 256, vision 4 x 128), {args.size} px videos, 16 frames; CPU, "
          f"{torch.get_num_threads()} threads", flush=True)
    score(videos=videos[:1], texts=texts[:2])  # warm-up, both paths
    baseline(score, plain, videos[:1], texts[:1])
    ratios = []
    for m, n in shapes(args.videos, args.texts):
        label = f"videos {m} x {n}"
        ratios.append((label, compare(label, lambda m=m, n=n: baseline(score, plain, videos[:m], texts[:n]),
                                      lambda m=m, n=n: score(videos=videos[:m], texts=texts[:n]),
                                      rounds=args.rounds)))
    summary(ratios)


if __name__ == "__main__":
    main()
