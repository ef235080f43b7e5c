"""Gemma 3 against a plain, unbatched float32 forward of the same tiny model; registration and options."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from gemma_testutils import NAME
from t2v_hf.testing import check_scoring_paths

import t2v_core
from t2v_core.media import Video
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'


def load_plain(folder):
    from transformers import AutoProcessor, Gemma3ForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    return processor, Gemma3ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()


def plain_score(processor, model, content, text, answer="Yes", full=False):
    """Independent computation, as the reference builds its inputs: the images inside the messages and
    ``apply_chat_template(tokenize=True)``; softmax of the logits after the prompt (float64)."""
    msgs = [{"role": "user", "content": [*content, {"type": "text", "text": QUESTION.format(text)}]}]
    inputs = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    assert (inputs["input_ids"][0] == processor.tokenizer.bos_token_id).sum() == 1
    ans = processor.tokenizer(answer, add_special_tokens=False).input_ids
    if full:
        inputs["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([ans])], dim=1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        inputs["token_type_ids"] = torch.cat([inputs["token_type_ids"], torch.zeros(1, len(ans), dtype=torch.long)], 1)
    with torch.no_grad():
        logp = model(**inputs).logits[0].double().log_softmax(-1)
    if not full:
        return float(logp[-1, ans[0]].exp())
    n = inputs["input_ids"].shape[1]
    return float(sum(logp[n - len(ans) - 1 + k, a] for k, a in enumerate(ans)).exp())


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_registered_names():
    for size in ("4b", "12b", "27b"):
        spec = get_spec(f"gemma-3-{size}-it")
        assert spec.weights == (f"google/gemma-3-{size}-it",) and spec.plugin == "t2v-gemma"
        assert spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.media == ("image", "video")


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'gemma-3-4b-it' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_images_equal_plain_forward(offline, images, monkeypatch):
    processor, model = load_plain(offline)
    want = torch.tensor([[plain_score(processor, model, [{"type": "image", "image": im}], t) for t in TEXTS]
                         for im in images])
    assert want.std() / want.mean() > 0.05  # scores depend on the image and the text
    check_scoring_paths(NAME, images, TEXTS, want, monkeypatch)  # the image prefix (past the sliding window) reused

def test_prompt_has_one_bos(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    m = score.model
    prepared = m.prepare(m.load_media([images[0]])[0])
    text = m.render("Is it?", prepared)
    ids = m.processor_inputs([text], [prepared])["input_ids"][0].tolist()
    assert ids[0] == m.tokenizer.bos_token_id and ids.count(m.tokenizer.bos_token_id) == 1


def test_video_as_timestamped_frames(offline, frames):
    processor, model = load_plain(offline)
    video = Video.from_frames(frames, fps=4.0)
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    for n in (10, 4):
        idx = [int(i) for i in np.linspace(0, len(frames) - 1, n, dtype=int)]  # the reference's frame choice
        content = []
        for i in idx:
            content += [{"type": "text", "text": f"Frame at {round(i / 4.0, 2)}s:"}, {"type": "image", "image": frames[i]}]
        want = [plain_score(processor, model, content, t) for t in TEXTS[:2]]
        kwargs = {} if n == 10 else {"num_frames": n}  # 10 frames by default
        assert rel(score(videos=[video], texts=TEXTS[:2], **kwargs)[0], want) < 1e-5
        prepared = score.model.prepare(video, num_frames=n)
        assert prepared.frame_labels[1] == f"Frame at {round(idx[1] / 4.0, 2)}s:"


def test_full_answer_likelihood(offline, images):
    processor, model = load_plain(offline)
    answer = "Yes, a cat"
    want = [plain_score(processor, model, [{"type": "image", "image": images[0]}], t, answer, full=True)
            for t in TEXTS[:2]]
    score = t2v_core.VQAScore(model=NAME, device="cpu", answer_likelihood="full")
    assert rel(score(images=images[:1], texts=TEXTS[:2], answer_template=answer)[0], want) < 1e-5


def test_conformance(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_bad_num_frames_is_named(offline, frames):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    with pytest.raises(ValueError, match=r"num_frames .*must be a positive integer"):
        score(videos=[Video.from_frames(frames, fps=4.0)], texts=TEXTS[:1], num_frames=0)


def test_generate(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    out = score.model.generate(images[:2], ["Describe the image.", "What is it?"], max_new_tokens=3)
    alone = score.model.generate(images[1:2], ["What is it?"], max_new_tokens=3)
    assert len(out) == 2 and alone[0] == out[1]


def test_frames_without_a_frame_rate_are_labelled_by_index(offline, frames):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    prepared = score.model.prepare(Video.from_frames(frames[:5]), num_frames=3)
    assert prepared.frame_labels == ["Frame 0:", "Frame 2:", "Frame 4:"]
