"""Perception-LM against a plain, unbatched float32 forward of the same tiny model; registration."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import torch
from plm_testutils import NAME

import t2v_core
from t2v_core.media import Video
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'


def load_plain(folder):
    from transformers import AutoProcessor, PerceptionLMForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    return processor, PerceptionLMForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()


def plain_score(processor, model, text, image=None, video=None):
    """Independent computation: the chat template, the processor with add_special_tokens=False (the template
    writes BOS; exactly one is checked), one unbatched forward, float64 softmax at "Yes"."""
    kind = "image" if image is not None else "video"
    msgs = [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": QUESTION.format(text)}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    media = {"images": [image]} if image is not None else {"videos": [video], "do_sample_frames": False}
    inputs = processor(text=[prompt], add_special_tokens=False, return_tensors="pt", **media)
    assert (inputs["input_ids"][0] == processor.tokenizer.bos_token_id).sum() == 1
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    with torch.no_grad():
        return float(model(**inputs).logits[0, -1].double().softmax(-1)[yes])


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_registered_names():
    for size in ("1b", "3b", "8b"):
        spec = get_spec(f"perception-lm-{size}")
        assert spec.weights == (f"facebook/Perception-LM-{size.upper()}",) and spec.plugin == "t2v-perception-lm"
        assert spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.media == ("image", "video")


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'perception-lm-1b' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_images_equal_plain_forward(offline, images):
    processor, model = load_plain(offline)
    want = torch.tensor([[plain_score(processor, model, t, image=im) for t in TEXTS] for im in images])
    assert want.std() / want.mean() > 0.05
    score = t2v_core.VQAScore(model=NAME, device="cpu", batch_size=2)
    got = score(images=images, texts=TEXTS)
    assert rel(got, want) < 1e-5  # prefix reuse per image, texts batched
    # aligned pairs of different tile counts: grouped by shape, batched whole
    pairs = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    whole = t2v_core.VQAScore(model=NAME, device="cpu", prefix_reuse=False, batch_size=4)
    assert rel(whole(images=images, texts=TEXTS), want) < 1e-5
    one = t2v_core.VQAScore(model=NAME, device="cpu", batch_size=1)
    assert rel(one(images=images, texts=TEXTS), got) < 1e-5


def test_native_video_default_32_frames(offline, frames):
    processor, model = load_plain(offline)
    video = Video.from_frames(frames, fps=8.0)
    idx = [int(np.floor(x + 0.5)) for x in np.linspace(0, len(frames) - 1, 32)]  # uniform, first and last
    clip = [frames[i] for i in idx]
    want = [plain_score(processor, model, t, video=clip) for t in TEXTS[:2]]
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    assert rel(score(videos=[video], texts=TEXTS[:2])[0], want) < 1e-5
    assert score.model.prepare(video, **score.model.resolve_options()).metadata["frames_indices"] == idx


def test_conformance(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_generate(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    out = score.model.generate(images[1:2], ["Describe the image."], max_new_tokens=3)
    assert len(out) == 1 and isinstance(out[0], str)
