"""Opt-in (``T2V_INTERNVL_REAL_PINS=1``; needs the package index, about a minute): ``internvl2-1b``'s worker
environment made with the spec's **real** pins (transformers 4.45.2, timm, einops, sentencepiece), scoring the
fake remote repo there, with no ``isolated=`` and no override (the unmet pins decide). The numbers must equal
the in-process scorer on this environment's transformers 5. ``T2V_INTERNVL_ENVS`` reuses environments."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

import t2v_core
from t2v_core import isolated, workers
from t2v_core.media import Video
from t2v_core.testing import make_fake_hf_cache, offline_hf_cache

pytestmark = [pytest.mark.timeout(1800), pytest.mark.skipif(
    not os.environ.get("T2V_INTERNVL_REAL_PINS"), reason="makes the era's environment (network); "
    "T2V_INTERNVL_REAL_PINS=1")]


def _slow_tokenizer_files(folder):
    """The remote path loads the slow tokenizer (``use_fast=False``), which on 4.4x reads ``vocab.json`` and
    ``merges.txt`` and its added tokens from ``tokenizer_config.json``, as the real Qwen-based repos ship them."""
    tj = json.loads((folder / "tokenizer.json").read_text())
    (folder / "vocab.json").write_text(json.dumps(tj["model"]["vocab"]))
    merges = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    added = {str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
             for t in tj["added_tokens"]}
    cfg.update(added_tokens_decoder=added, additional_special_tokens=[t["content"] for t in tj["added_tokens"]
                                                                     if t["content"] != "<|endoftext|>"])
    cfg.pop("extra_special_tokens", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))


def test_the_real_pins_environment_scores_the_fake_remote_repo(tmp_path, monkeypatch):
    from t2v_internvl.testing import build_internvl_hf
    from t2v_internvl.testing_remote import write_remote_repo

    monkeypatch.setenv(workers.ENV_VAR, os.environ.get("T2V_INTERNVL_ENVS") or str(tmp_path / "envs"))
    folder = write_remote_repo(tmp_path / "remote", build_internvl_hf(tmp_path / "native"))
    _slow_tokenizer_files(folder)
    make_fake_hf_cache(tmp_path / "hub", "OpenGVLab/InternVL2-1B", folder)
    rng = np.random.default_rng(4)
    media = [Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)),
             Image.fromarray(rng.integers(0, 256, (90, 200, 3), dtype=np.uint8)),
             Video.from_frames([Image.fromarray(f) for f in rng.integers(0, 256, (6, 30, 30, 3), dtype=np.uint8)])]
    texts = ["a red cube on a table", "a cat"]
    with offline_hf_cache(tmp_path / "hub"):
        here = t2v_core.VQAScore(model="internvl2-1b", device="cpu", trust_remote_code=True, isolated=False)
        want = here(images=media, texts=texts, num_frames=3)
        score = t2v_core.VQAScore(model="internvl2-1b", device="cpu", trust_remote_code=True)
        try:
            assert isinstance(score.model, isolated.WorkerScorer)
            got = score(images=media, texts=texts, num_frames=3)
            prov = score.provenance
        finally:
            score.close()
    assert prov["versions"]["transformers"] == "4.45.2" and prov["worker_env"]["unsatisfied_here"]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
