"""Registration: names, specs, and that discovery stays light."""

from __future__ import annotations

import subprocess
import sys

import t2v_core
from t2v_core.catalogue import FIRST_PARTY, distribution_for
from t2v_core.registry import get_spec

NAMES = ("llava-v1.5-7b", "llava-v1.5-13b", "sharegpt4v-7b", "sharegpt4v-13b", "llava-v1.6-13b",
         "llava-onevision-qwen2-7b-si", "llava-onevision-qwen2-7b-ov", "llava-video-7b", "llava-video-72B")


def test_models_are_registered_through_the_entry_point():
    assert set(NAMES) <= set(t2v_core.list_all_vqascore_models())
    assert set(FIRST_PARTY["t2v-llava"]) == set(NAMES)
    assert all(distribution_for(n) == "t2v-llava" for n in NAMES)


def test_specs():
    spec = get_spec("sharegpt4v-13b")
    assert spec.weights == ("Lin-Chen/ShareGPT4V-13B", "Lin-Chen/ShareGPT4V-13B_Pretrained_vit-large336-l12")
    assert spec.plugin == "t2v-llava" and spec.kind == "vqa" and set(spec.media) == {"image", "video"}
    assert get_spec("llava-v1.5-13b").question_template == 'Does this figure show "{}"? Please answer yes or no.'
    assert get_spec("llava-v1.6-13b").weights[0] == "liuhaotian/llava-v1.6-vicuna-13b"
    assert get_spec("llava-video-72B").media == ("video",)
    ov = get_spec("llava-onevision-qwen2-7b-ov")
    assert ov.weights == ("llava-hf/llava-onevision-qwen2-7b-ov-hf",)
    assert ov.question_template == 'Does this image show "{}"? Answer the question with Yes or No'


def test_plugin_module_imports_nothing_heavy():
    out = subprocess.run([sys.executable, "-c", "import sys, t2v_llava.plugin; "
                          "print([m for m in ('torch', 'transformers') if m in sys.modules])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_other_family_is_imported():
    # one family never depends on another: every module loads with t2v-clipflant5 made unimportable
    code = ("import sys; sys.modules['t2v_clipflant5'] = None; "
            "import t2v_llava.scorer, t2v_llava.modeling, t2v_llava.video, t2v_llava.onevision, t2v_llava.anyres; "
            "print(sorted(m for m, v in sys.modules.items() if v is not None and m.startswith('t2v_') "
            "and m.split('.')[0] not in ('t2v_core', 't2v_hf', 't2v_llava')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
