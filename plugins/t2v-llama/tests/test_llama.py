"""Mllama against a plain, unbatched float32 forward of the same tiny model; the guard; text-only names."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from llama_testutils import NAMES

import t2v_core
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'


def plain_scores(folder, images, texts, question, answer, full=False):
    """Independent computation, as the reference builds inputs: the image inside the messages,
    ``apply_chat_template(tokenize=True)`` (one BOS), one pair at a time, float64 softmax."""
    from transformers import AutoProcessor, MllamaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    model = MllamaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    ans = processor.tokenizer(answer, add_special_tokens=False).input_ids
    out = torch.zeros(len(images), len(texts), dtype=torch.float64)
    for i, im in enumerate(images):
        for j, t in enumerate(texts):
            msgs = [{"role": "user", "content": [{"type": "image", "image": im},
                                                 {"type": "text", "text": question.format(t)}]}]
            inputs = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True,
                                                   return_dict=True, return_tensors="pt")
            if full:
                prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
                inputs = processor(text=prompt + answer, images=[[im]], add_special_tokens=False,
                                   return_tensors="pt")
            ids = inputs["input_ids"][0]
            assert (ids == processor.tokenizer.bos_token_id).sum() == 1
            with torch.no_grad():
                logp = model(**inputs).logits[0].double().log_softmax(-1)
            if full:
                n = ids.shape[0]
                assert ids[n - len(ans):].tolist() == ans
                out[i, j] = sum(logp[n - len(ans) - 1 + k, a] for k, a in enumerate(ans)).exp()
            else:
                out[i, j] = logp[-1, ans[0]].exp()
    return out


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_registered_names():
    from t2v_llama.plugin import GUARD, TEXT_ONLY, VISION

    assert set(VISION) == {"llama-3.2-11b-vision", "llama-3.2-11b-vision-instruct", "llama-3.2-90b-vision",
                           "llama-3.2-90b-vision-instruct"}
    for name, (repo, _) in VISION.items():
        spec = get_spec(name)
        assert spec.weights == (repo,) and spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.plugin == "t2v-llama" and spec.media == ("image", "video")
    guard = get_spec("llama-guard-3-11b-vision")
    assert guard.media == ("image", "video")
    assert guard.answer_template == "unsafe" and "safety score" in guard.description and set(GUARD) == {guard.name}
    assert set(TEXT_ONLY) == {"llama-3.2-1b", "llama-3.2-3b", "llama-3.2-1b-instruct", "llama-3.2-3b-instruct",
                              "llama-guard-3-1b"}


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'llama-3.2-1b' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["llama-3.2-1b", "llama-3.2-3b-instruct", "llama-guard-3-1b"])
def test_text_only_names_say_so(name):
    from t2v_llama.scorer import TextOnlyModelError

    with pytest.raises(TextOnlyModelError, match="text-only checkpoint.*llama-3.2-11b-vision-instruct.*"
                                                 "llama-guard-3-11b-vision"):
        t2v_core.VQAScore(model=name, device="cpu")


def test_vision_scores_equal_plain_forward(offline, images):
    want = plain_scores(offline["vision"], images, TEXTS, QUESTION, "Yes")
    assert want.std() / want.mean() > 0.05  # the tiny model's scores depend on image and text
    score = t2v_core.VQAScore(model=NAMES["vision"], device="cpu", batch_size=2)
    got = score(images=images, texts=TEXTS)
    assert rel(got, want) < 1e-5  # whole prompts, left padded, batched (cross-attention masks padded)
    pairs = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    one = t2v_core.VQAScore(model=NAMES["vision"], device="cpu", batch_size=1)
    assert rel(one(images=images, texts=TEXTS), got) < 1e-5  # batch-size independent


def test_full_answer_likelihood(offline, images):
    answer = "Yes, a cat"
    want = plain_scores(offline["vision"], images[:2], TEXTS[:2], QUESTION, answer, full=True)
    score = t2v_core.VQAScore(model=NAMES["vision"], device="cpu", answer_likelihood="full")
    assert rel(score(images=images[:2], texts=TEXTS[:2], answer_template=answer), want) < 1e-5


def test_guard_scores_unsafe_under_its_template(offline, images):
    want = plain_scores(offline["guard"], images[:2], TEXTS[:2], "{}", "unsafe")
    score = t2v_core.VQAScore(model=NAMES["guard"], device="cpu")
    assert rel(score(images=images[:2], texts=TEXTS[:2]), want) < 1e-5
    prompt = score.model.render("a cat", score.model.prepare(score.model.load_media([images[0]])[0]))
    assert "User: a cat" in prompt and "'safe' or 'unsafe'" in prompt


def test_conformance(offline, images):
    score = t2v_core.VQAScore(model=NAMES["vision"], device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_prefix_reuse_is_refused(offline):
    with pytest.raises(ValueError, match="prefix_reuse=True is not supported"):
        t2v_core.VQAScore(model=NAMES["vision"], device="cpu", prefix_reuse=True)


def test_generate(offline, images):
    score = t2v_core.VQAScore(model=NAMES["vision"], device="cpu")
    out = score.model.generate(images[:2], ["Describe the image.", "What is it?"], max_new_tokens=3)
    alone = score.model.generate(images[1:2], ["What is it?"], max_new_tokens=3)
    assert len(out) == 2 and alone[0] == out[1]


def test_video_as_frames_side_by_side(offline):
    from t2v_hf.testing import random_images, side_by_side

    from t2v_core.media import Video

    frames = random_images([(20, 24)] * 11, seed=7)
    video = Video.from_frames(frames, fps=5.0)
    for kind, question, answer in (("vision", QUESTION, "Yes"), ("guard", "{}", "unsafe")):
        score = t2v_core.VQAScore(model=NAMES[kind], device="cpu", batch_size=2)
        for n in (8, 3):
            want = plain_scores(offline[kind], [side_by_side(frames, n)], TEXTS[:2], question, answer)
            kwargs = {} if n == 8 else {"num_frames": n}  # 8 frames by default, as the reference's concat mode
            assert rel(score(videos=[video], texts=TEXTS[:2], **kwargs), want) < 1e-5
