"""Parity with the reference implementation (t2v_metrics) on the llava-v1.5-7b fixture, float32 on CPU."""

from __future__ import annotations

import random

import pytest
import torch
from _llava_helpers import GOLDEN, reference_image

RTOL = 1e-4


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs()).max())


def _images(golden):
    return [reference_image(n) for n in golden["images"]]


def test_golden_matrix_one_call(golden, llava):
    """Every template (default, custom, "No", VisualGPTScore): the 5 x 4 matrix in one call."""
    for case in golden["cases"]:
        got = llava(images=_images(golden), texts=golden["texts"], question_template=case["question_template"],
                    answer_template=case["answer_template"])
        want = torch.tensor(case["scores"])
        assert got.shape == want.shape
        assert _rel(got, want) < RTOL, (case["template"], got, want)


def test_golden_pairs_one_at_a_time(golden, llava):
    images = _images(golden)
    for case in golden["cases"]:
        for i, img in enumerate(images):
            for j, text in enumerate(golden["texts"]):
                got = llava(images=[img], texts=[text], question_template=case["question_template"],
                            answer_template=case["answer_template"])
                want = case["scores"][i][j]
                assert abs(float(got[0, 0]) - want) / want < RTOL, (case["template"], i, j)


def test_golden_batch_forward(golden, llava):
    images = _images(golden)
    for case in golden["cases"]:
        want = torch.tensor(case["scores"])
        per_image = [{"images": [img], "texts": golden["texts"]} for img in images]
        got = llava.batch_forward(per_image, batch_size=3, question_template=case["question_template"],
                                  answer_template=case["answer_template"])
        assert got.shape == (5, 1, 4)
        assert _rel(got[:, 0], want) < RTOL
        whole = llava.batch_forward([{"images": images, "texts": golden["texts"]}],
                                    question_template=case["question_template"],
                                    answer_template=case["answer_template"])
        assert _rel(whole[0], want) < RTOL


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_golden_any_batch_size_and_order(golden, offline_hub, batch_size):
    """Batch size and the order of images and texts change nothing (beyond float rounding)."""
    import t2v_core

    score = t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", batch_size=batch_size)
    images = _images(golden)
    rng = random.Random(batch_size)
    ii, jj = list(range(len(images))), list(range(len(golden["texts"])))
    rng.shuffle(ii)
    rng.shuffle(jj)
    for case in golden["cases"][::3]:  # default and VisualGPTScore
        got = score(images=[images[i] for i in ii], texts=[golden["texts"][j] for j in jj],
                    question_template=case["question_template"], answer_template=case["answer_template"])
        want = torch.tensor(case["scores"])[ii][:, jj]
        assert _rel(got, want) < RTOL


def test_golden_forward_pairs(golden, llava):
    """The reference's pairwise ``forward``: aligned pairs, an image repeated, texts mixed."""
    images = _images(golden)
    case = golden["cases"][0]
    pairs = [(0, 1), (3, 2), (0, 0), (4, 3), (1, 1)]
    got = llava.model.forward([images[i] for i, _ in pairs], [golden["texts"][j] for _, j in pairs])
    want = torch.tensor([case["scores"][i][j] for i, j in pairs])
    assert _rel(got, want) < RTOL


def test_golden_from_paths(golden, llava):
    """Image paths (RGBA, grayscale, JPEG) load to the reference's pixels."""
    got = llava(images=[str(GOLDEN / "images" / n) for n in golden["images"]], texts=golden["texts"])
    assert _rel(got, torch.tensor(golden["cases"][0]["scores"])) < RTOL


def test_token_ids_match_the_reference(golden, llava):
    """The chunk-wise ids and the scored tokens equal those the reference built, for every prompt."""
    scorer = llava.model
    for p in golden["prompts"]:
        case = next(c for c in golden["cases"] if c["template"] == p["template"])
        text = golden["texts"][p["text_index"]]
        q = case["question_template"].format(text)
        a = case["answer_template"].format(text)
        t = scorer._text(q, a)
        assert scorer._before + [-200] + t.ids == p["input_ids"]
        assert t.ids[t.start:] == p["label_ids"]


def test_helper_reference_reproduces_the_goldens(golden, offline_hub):
    """The test's own re-implementation of the reference (used for ShareGPT4V / LLaVA-1.6) meets the goldens."""
    from _llava_helpers import CLIP, LLAVA15, ReferenceLlava, snapshot
    from safetensors.torch import load_file

    lm = {}
    for f in sorted(snapshot(offline_hub, LLAVA15).glob("*.bin")):
        lm.update(torch.load(f, weights_only=True))
    tower = {k: v for k, v in load_file(str(snapshot(offline_hub, CLIP) / "model.safetensors")).items()
             if k.startswith("vision_model.")}
    ref = ReferenceLlava(offline_hub, LLAVA15, lm, tower, CLIP)
    images = _images(golden)
    for case in golden["cases"]:
        for i in (0, 2):
            j = i % 4
            text = golden["texts"][j]
            got = ref(images[i], case["question_template"].format(text), case["answer_template"].format(text))
            assert abs(got - case["scores"][i][j]) / case["scores"][i][j] < RTOL


@pytest.mark.parametrize("cap, want", [(1, [1, 1, 1, 1, 1]), (None, [2, 2, 1])])
def test_cpu_takes_one_image_per_block(golden, offline_hub, monkeypatch, cap, want):
    """On CPU the tower and the prefix take one image per forward (``cpu_image_block``, faster there),
    whatever batch_size says; with the cap off (what the other tests run) images go batch_size at a time.
    The texts' suffixes batch either way; scores are the reference's."""
    from t2v_llava.scorer import LlavaScorer

    import t2v_core

    monkeypatch.setattr(LlavaScorer, "cpu_image_block", cap)
    score = t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", batch_size=2)
    sizes = []
    encode = score.model.encode_images
    monkeypatch.setattr(score.model, "encode_images", lambda ims: sizes.append(len(ims)) or encode(ims))
    case = golden["cases"][0]
    got = score(images=_images(golden), texts=golden["texts"], question_template=case["question_template"],
                answer_template=case["answer_template"])
    assert sizes == want
    assert _rel(got, torch.tensor(case["scores"])) < RTOL
