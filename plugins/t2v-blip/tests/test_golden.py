"""Parity with the reference implementation (t2v_metrics 880a5b8, vendored LAVIS) on the fixture checkpoints,
float32 on CPU: the full matrix in one call, pair by pair, through batch_forward, any batch size and order."""

from __future__ import annotations

import random

import pytest
import torch
from _blip_helpers import GOLDEN, RTOL, golden, reference_image, rel

VQA = golden("instructblip-flant5-xl.json")
ITM = golden("blip2-itm.json")


def _images(g):
    return [reference_image(n) for n in g["images"]]


def _vqa_cases():
    return [pytest.param(c, id=c["template"]) for c in VQA["cases"]]


def _itm_cases():
    return [pytest.param(c, id=f"{c['score']}{'-long' if 'texts' in c else ''}") for c in ITM["cases"]]


def _blip2(case, itm, itc):
    return itm if case["score"] == "itm" else itc


@pytest.mark.parametrize("case", _vqa_cases())
def test_instructblip_matrix_one_call(case, instructblip):
    """default / No / VisualGPTScore and the long-text (truncated at 128 tokens) cases, M x N in one call."""
    texts = case.get("texts", VQA["texts"])
    got = instructblip(
        images=_images(VQA),
        texts=texts,
        question_template=case["question_template"],
        answer_template=case["answer_template"],
    )
    want = torch.tensor(case["scores"])
    assert got.shape == want.shape
    assert rel(got, want) < RTOL, (got, want)


@pytest.mark.parametrize("case", _vqa_cases())
def test_instructblip_pairs_one_at_a_time(case, instructblip):
    texts = case.get("texts", VQA["texts"])
    for i, img in enumerate(_images(VQA)):
        for j, text in enumerate(texts):
            got = instructblip(
                images=[img],
                texts=[text],
                question_template=case["question_template"],
                answer_template=case["answer_template"],
            )
            want = case["scores"][i][j]
            assert abs(float(got[0, 0]) - want) / want < RTOL, (case["template"], i, j)


def test_instructblip_batch_forward(instructblip):
    images = _images(VQA)
    for case in VQA["cases"][:3]:
        kw = {"question_template": case["question_template"], "answer_template": case["answer_template"]}
        want = torch.tensor(case["scores"])
        got = instructblip.batch_forward(
            [{"images": [im], "texts": VQA["texts"]} for im in images], batch_size=3, **kw
        )
        assert got.shape == (5, 1, 4) and rel(got[:, 0], want) < RTOL
        whole = instructblip.batch_forward([{"images": images, "texts": VQA["texts"]}], **kw)
        assert rel(whole[0], want) < RTOL


@pytest.mark.parametrize("batch_size", [1, 3])
def test_instructblip_batch_size_and_order(batch_size, offline_hub):
    """Any batch size and any order of images and texts give the reference's numbers."""
    import t2v_core

    score = t2v_core.VQAScore(model="instructblip-flant5-xl", device="cpu", batch_size=batch_size)
    case = VQA["cases"][0]
    rng = random.Random(batch_size)
    pi, pj = list(range(5)), list(range(4))
    rng.shuffle(pi)
    rng.shuffle(pj)
    images = _images(VQA)
    got = score(images=[images[i] for i in pi], texts=[VQA["texts"][j] for j in pj])
    want = torch.tensor(case["scores"])[pi][:, pj]
    assert rel(got, want) < RTOL


@pytest.mark.parametrize("case", _itm_cases())
def test_blip2_matrix_one_call(case, itm, itc):
    texts = case.get("texts", ITM["texts"])
    got = _blip2(case, itm, itc)(images=_images(ITM), texts=texts)
    want = torch.tensor(case["scores"])
    assert got.shape == want.shape and rel(got, want) < RTOL, (got, want)


@pytest.mark.parametrize("case", _itm_cases())
def test_blip2_pairs_one_at_a_time(case, itm, itc):
    texts = case.get("texts", ITM["texts"])
    score = _blip2(case, itm, itc)
    for i, img in enumerate(_images(ITM)):
        for j, text in enumerate(texts):
            got = score(images=[img], texts=[text])
            assert abs(float(got[0, 0]) - case["scores"][i][j]) / case["scores"][i][j] < RTOL, (i, j)


@pytest.mark.parametrize("case", _itm_cases()[:2])
def test_blip2_batch_forward(case, itm, itc):
    score = _blip2(case, itm, itc)
    images = _images(ITM)
    want = torch.tensor(case["scores"])
    got = score.batch_forward([{"images": [im], "texts": ITM["texts"]} for im in images], batch_size=2)
    assert got.shape == (5, 1, 4) and rel(got[:, 0], want) < RTOL
    whole = score.batch_forward([{"images": images, "texts": ITM["texts"]}])
    assert rel(whole[0], want) < RTOL


@pytest.mark.parametrize("model", ["blip2-itm", "blip2-itc"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_blip2_batch_size_and_order(model, batch_size, offline_hub):
    import t2v_core

    kind = t2v_core.ITMScore if model == "blip2-itm" else t2v_core.CLIPScore
    score = kind(model=model, device="cpu", batch_size=batch_size)
    case = ITM["cases"][0 if model == "blip2-itm" else 1]
    rng = random.Random(batch_size)
    pi, pj = list(range(5)), list(range(4))
    rng.shuffle(pi)
    rng.shuffle(pj)
    images = _images(ITM)
    got = score(images=[images[i] for i in pi], texts=[ITM["texts"][j] for j in pj])
    assert rel(got, torch.tensor(case["scores"])[pi][:, pj]) < RTOL


def test_from_paths_alpha_dropped(instructblip, itm):
    """Image paths, the RGBA one included, load to the reference's pixels (alpha dropped, as it did)."""
    paths = [str(GOLDEN / "images" / n) for n in VQA["images"]]
    assert rel(instructblip(images=paths, texts=VQA["texts"]), torch.tensor(VQA["cases"][0]["scores"])) < RTOL
    assert rel(itm(images=paths, texts=ITM["texts"]), torch.tensor(ITM["cases"][0]["scores"])) < RTOL
    rgba = [str(GOLDEN / "images" / "rgba.png")]
    white = type(itm.model)(itm.model.spec, device="cpu", alpha="white")
    assert not torch.allclose(
        white.score(white.load_media(rgba), ITM["texts"][:1], templates=None),
        itm(images=rgba, texts=ITM["texts"][:1]),
    )
