"""Parity with the reference implementation (t2v_metrics) on the fixture checkpoint, float32 on CPU."""

from __future__ import annotations

import pytest
import torch
from _clipflant5_helpers import GOLDEN, reference_image

RTOL = 1e-4
MODEL_OF = {"t5_chat": "clip-flant5-xxl", "t5_chat_no_system": "clip-flant5-xxl-no-system"}


def _scorer(conversation, xxl, offline_hub):
    import t2v_core

    if MODEL_OF[conversation] == "clip-flant5-xxl":
        return xxl
    return t2v_core.VQAScore(model=MODEL_OF[conversation], device="cpu")


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs()).max())


def _cases(golden):
    return [pytest.param(c, id=f"{c['conversation']}-{c['template']}") for c in golden["cases"]]


def test_golden_matrix_one_call(golden, xxl, offline_hub):
    """Every case: the full 5 x 4 matrix in one call equals the reference."""
    images = [reference_image(n) for n in golden["images"]]
    for case in golden["cases"]:
        score = _scorer(case["conversation"], xxl, offline_hub)
        got = score(images=images, texts=golden["texts"], question_template=case["question_template"],
                    answer_template=case["answer_template"])
        want = torch.tensor(case["scores"])
        assert got.shape == want.shape
        assert _rel(got, want) < RTOL, (case["conversation"], case["template"], got, want)


def test_golden_pairs_one_at_a_time(golden, xxl, offline_hub):
    """Every case, every pair scored alone, equals the reference."""
    images = [reference_image(n) for n in golden["images"]]
    for case in golden["cases"]:
        score = _scorer(case["conversation"], xxl, offline_hub)
        for i, img in enumerate(images):
            for j, text in enumerate(golden["texts"]):
                got = score(images=[img], texts=[text], question_template=case["question_template"],
                            answer_template=case["answer_template"])
                want = case["scores"][i][j]
                assert abs(float(got[0, 0]) - want) / want < RTOL, (case["template"], i, j)


def test_golden_batch_forward(golden, xxl, offline_hub):
    """batch_forward (one sample per image, and the whole matrix as one sample) gives the same numbers."""
    images = [reference_image(n) for n in golden["images"]]
    for case in golden["cases"]:
        score = _scorer(case["conversation"], xxl, offline_hub)
        want = torch.tensor(case["scores"])
        per_image = [{"images": [img], "texts": golden["texts"]} for img in images]
        got = score.batch_forward(per_image, batch_size=3, question_template=case["question_template"],
                                  answer_template=case["answer_template"])
        assert got.shape == (5, 1, 4)
        assert _rel(got[:, 0], want) < RTOL
        whole = score.batch_forward([{"images": images, "texts": golden["texts"]}],
                                    question_template=case["question_template"],
                                    answer_template=case["answer_template"])
        assert _rel(whole[0], want) < RTOL


def test_golden_from_paths(golden, xxl, offline_hub):
    """Image paths, the RGBA one included, load to the reference's pixels (transparency dropped, as it did)."""
    case = golden["cases"][0]
    got = xxl(images=[str(GOLDEN / "images" / n) for n in golden["images"]], texts=golden["texts"])
    assert _rel(got, torch.tensor(case["scores"])) < RTOL
    white = xxl(images=[str(GOLDEN / "images" / "rgba.png")], texts=golden["texts"][:1])
    composited = type(xxl)("clip-flant5-xxl", device="cpu", alpha="white")(
        images=[str(GOLDEN / "images" / "rgba.png")], texts=golden["texts"][:1])
    assert not torch.allclose(white, composited)  # the option really changes what the model sees
