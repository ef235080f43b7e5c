"""Scores do not depend on batch size, on which pairs share a batch, or on the order of images and texts."""

from __future__ import annotations

import random

import pytest
import torch

from t2v_core.testing import random_images

TEXTS = ["a cat", "two dogs playing in the snow near a small wooden house", "a red cube on a blue sphere",
         "someone talks on the phone angrily while another person sits happily", "x", "three apples",
         "The brown dog chases the black dog around the tree."]
TEMPLATES = [
    pytest.param(None, None, id="default"),
    pytest.param("", "{}", id="visualgptscore"),
    pytest.param("Describe the figure.", "{}", id="fixed-question"),
]


@pytest.fixture(scope="module")
def images():
    return random_images(3, size=(64, 40), seed=3) + random_images(1, size=(30, 70), seed=4)


def _with_batch_size(score, batch_size, **call):
    old = score.model.batch_size
    score.model.batch_size = batch_size
    try:
        return score(**call)
    finally:
        score.model.batch_size = old


@pytest.mark.parametrize("question,answer", TEMPLATES)
def test_batch_size_does_not_change_scores(xxl, images, question, answer):
    call = dict(images=images, texts=TEXTS, question_template=question, answer_template=answer)
    ref = _with_batch_size(xxl, 16, **call)
    for bs in (1, 3):
        got = _with_batch_size(xxl, bs, **call)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=0)


@pytest.mark.parametrize("question,answer", TEMPLATES[:2])
def test_order_does_not_change_scores(xxl, images, question, answer):
    ref = _with_batch_size(xxl, 3, images=images, texts=TEXTS, question_template=question, answer_template=answer)
    rng = random.Random(0)
    for _ in range(2):
        pi = list(range(len(images)))
        pt = list(range(len(TEXTS)))
        rng.shuffle(pi)
        rng.shuffle(pt)
        got = _with_batch_size(xxl, 3, images=[images[i] for i in pi], texts=[TEXTS[j] for j in pt],
                               question_template=question, answer_template=answer)
        torch.testing.assert_close(got, ref[pi][:, pt], rtol=1e-5, atol=0)


def test_repeated_images_and_texts(xxl, images):
    """Duplicates are scored like any other pair (the scorer shares work between them)."""
    ref = xxl(images=images[:2], texts=TEXTS[:3])
    got = xxl(images=[images[0], images[1], images[0]], texts=[TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[2]])
    torch.testing.assert_close(got[:2][:, [0, 1, 3]], ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(got[2], got[0], rtol=1e-5, atol=0)
    torch.testing.assert_close(got[:, 2], got[:, 0], rtol=1e-5, atol=0)


def test_forward_pairs_match_matrix(xxl, images):
    """The reference's pairwise forward (image k with text k) equals the diagonal of the matrix."""
    mat = xxl(images=images, texts=TEXTS[:4])
    pairs = xxl.model.forward(images=images, texts=TEXTS[:4])
    torch.testing.assert_close(pairs, torch.diagonal(mat), rtol=1e-5, atol=0)
