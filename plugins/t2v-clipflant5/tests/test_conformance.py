"""The core's conformance kit, run against clip-flant5-xxl loaded by name."""

from __future__ import annotations

from t2v_core.testing import check_scorer, random_images


def test_check_scorer(xxl):
    report = check_scorer(xxl, images=random_images(3, seed=7), texts=["a red cube", "two dogs in the snow"])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_check_scorer_no_system_no_user(offline_hub):
    import t2v_core

    score = t2v_core.VQAScore(model="clip-flant5-xxl-no-system-no-user", device="cpu")
    check_scorer(score, images=random_images(2, seed=8), texts=["a red cube", "a blue ball"], check_templates=False)
