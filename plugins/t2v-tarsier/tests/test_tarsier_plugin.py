"""Names, repos and templates; listing stays light; videos only; option errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tarsier_testutils import rel

import t2v_core
from t2v_core.errors import MediaError
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

NAMES = {"tarsier2-7b": "omni-research/Tarsier2-7b-0115", "tarsier-recap-7b": "omni-research/Tarsier2-Recap-7b"}


def test_names_repos_and_the_references_templates(golden):
    for name, repo in NAMES.items():
        spec = get_spec(name)
        assert spec.weights == (repo,) and spec.kind == "vqa" and spec.media == ("video",)
        assert spec.question_template == golden["question_template"]
        assert spec.answer_template == golden["answer"] == "Yes"
        assert spec.plugin == "t2v-tarsier"


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'tarsier2-7b' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_images_are_refused_with_the_reason(hub):
    from t2v_core.testing import random_images

    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    with pytest.raises(MediaError, match="(?i)image"):
        score(images=random_images(1), texts=["a cat"])


def test_options(golden, hub):
    with pytest.raises(TypeError, match="unexpected option"):
        t2v_core.VQAScore(model="tarsier2-7b", device="cpu", fps=2)
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    with pytest.raises(ValueError, match="num_frames"):
        score(videos=golden["video_paths"][:1], texts=["a"], num_frames=0)
    # 8 frames: a different sampling, so different scores; still M x N = pairwise
    eight = score(videos=golden["video_paths"], texts=golden["texts"][:2], num_frames=8)
    assert rel(eight, [row[:2] for row in golden["matrix"]]) > 1e-3
    pair = score(videos=golden["video_paths"][1:], texts=golden["texts"][1:2], num_frames=8)
    assert rel(pair[0, 0], eight[1, 1]) < 1e-5


def test_conformance_kit(golden, hub):
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    report = check_scorer(score, images=golden["video_paths"], texts=golden["texts"][:2])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_missing_weights_give_the_cores_error(tmp_path):
    # (the core's check_offline_error also probes `t2v score --image`, which a video-only model refuses first)
    from t2v_core.errors import WeightsNotFoundError, weights_missing_message
    from t2v_core.frontend import get_score_model
    from t2v_core.testing import offline_hf_cache

    for name, repo in NAMES.items():
        with offline_hf_cache(tmp_path), pytest.raises(WeightsNotFoundError) as e:
            get_score_model(name, device="cpu")
        assert str(e.value) == weights_missing_message(name, repo, offline=True)
        assert "t2v download" in str(e.value) and repo in str(e.value)


def test_generation_runs_on_tarsier_positions(golden, hub):
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    out = score.model.generate(golden["video_paths"][:1], ["Describe the video."], max_new_tokens=3)
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], str)
