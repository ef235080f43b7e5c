"""The core's conformance kit, run against each of the three kinds, loaded by name."""

from __future__ import annotations

from t2v_core.testing import check_scorer, random_images

TEXTS = ["a red cube", "two dogs in the snow"]


def test_check_scorer_instructblip(instructblip):
    report = check_scorer(instructblip, images=random_images(3, seed=7), texts=TEXTS)
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_check_scorer_itm(itm):
    report = check_scorer(itm, images=random_images(3, seed=8), texts=TEXTS)
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_check_scorer_itc(itc):
    report = check_scorer(itc, images=random_images(3, seed=9), texts=TEXTS)
    assert report["max_pairwise_rel_dev"] < 1e-5
