"""Registration: names, repos, templates; listing stays light; bad options are named."""

from __future__ import annotations

import subprocess
import sys

import pytest

import t2v_core
from t2v_core.registry import get_spec

NAMES = {
    "qwen2-vl-2b": "Qwen/Qwen2-VL-2B-Instruct", "qwen2-vl-7b": "Qwen/Qwen2-VL-7B-Instruct",
    "qwen2-vl-72b": "Qwen/Qwen2-VL-72B-Instruct", "qwen2.5-vl-3b": "Qwen/Qwen2.5-VL-3B-Instruct",
    "qwen2.5-vl-7b": "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-32b": "Qwen/Qwen2.5-VL-32B-Instruct",
    "qwen2.5-vl-72b": "Qwen/Qwen2.5-VL-72B-Instruct", "qwen3-vl-2b": "Qwen/Qwen3-VL-2B-Instruct",
    "qwen3-vl-4b": "Qwen/Qwen3-VL-4B-Instruct", "qwen3-vl-8b": "Qwen/Qwen3-VL-8B-Instruct",
    "qwen3-vl-32b": "Qwen/Qwen3-VL-32B-Instruct", "qwen3-vl-30b-a3b": "Qwen/Qwen3-VL-30B-A3B-Instruct",
    "qwen3-vl-235b-a22b": "Qwen/Qwen3-VL-235B-A22B-Instruct",
}


def test_every_model_is_registered_with_its_repo():
    for name, repo in NAMES.items():
        spec = get_spec(name)
        assert spec.weights == (repo,) and spec.kind == "vqa" and spec.media == ("image", "video")
        assert spec.question_template == 'Does this image show "{}"?' and spec.answer_template == "Yes"
        assert spec.plugin == "t2v-qwen"


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'qwen2.5-vl-7b' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_options_are_named(golden_hub):
    with pytest.raises(ValueError, match="temporal_spacing"):
        t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", temporal_spacing="wrong")
    with pytest.raises(TypeError, match="unexpected option"):
        t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", frames=3)
    with pytest.raises(OSError, match="hf download Qwen/Qwen2-VL-72B-Instruct"):
        t2v_core.VQAScore(model="qwen2-vl-72b", device="cpu")


@pytest.mark.skipif(__import__("t2v_hf.loading").loading.transformers_version() >= (4, 57),
                    reason="only transformers < 4.57 lacks Qwen3-VL")
def test_qwen3_on_old_transformers_says_what_to_install():
    with pytest.raises(ModuleNotFoundError, match="transformers>=4.57"):
        t2v_core.VQAScore(model="qwen3-vl-2b", device="cpu")
