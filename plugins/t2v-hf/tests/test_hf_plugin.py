"""Registration of the generic model; discovery stays light."""

from __future__ import annotations

import subprocess
import sys

from t2v_core.registry import get_spec


def test_hf_vlm_is_registered():
    spec = get_spec("hf-vlm")
    assert spec.kind == "vqa" and spec.scorer == "t2v_hf.scorer:HFVLMScorer" and spec.plugin == "t2v-hf"


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'hf-vlm' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
