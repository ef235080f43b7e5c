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


def test_gated_repo_error_says_accept_the_licence_and_log_in(monkeypatch, tmp_path):
    """The hub's refusal of a gated repo becomes an error that says what to do."""
    from t2v_hf import loading

    class GatedRepoError(OSError):
        pass

    class Refusing:
        @staticmethod
        def from_pretrained(checkpoint, local_files_only=False, **kwargs):
            if local_files_only:
                raise OSError("not cached")
            raise OSError("You are trying to access a gated repo.") from GatedRepoError("401")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import pytest

    with pytest.raises(loading.CheckpointNotFoundError, match=r"gated repo.*accept its licence.*hf auth login"):
        loading.from_pretrained(Refusing, "google/gemma-3-4b-it")
    assert not loading._is_gated(OSError("404 not found"))
