"""Opt-in (``T2V_REMOTE_REAL_PINS=1``; needs the package index, about a minute): mPLUG-Owl3's worker environment
made with the spec's **real** pins (transformers 4.41.2, ...), scoring the fake remote repo there; the numbers
must equal the direct computation done here on this environment's transformers. ``T2V_REMOTE_ENVS`` reuses a
cache of environments."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fake_owl3 import REPO, write_owl3_repo
from fake_repo import fake_hub, legacy_merges
from test_owl3 import Q, _direct, _images

import t2v_core
from t2v_core import plugins, workers

pytestmark = [pytest.mark.timeout(900), pytest.mark.skipif(
    not os.environ.get("T2V_REMOTE_REAL_PINS"), reason="makes the era's environment (network); T2V_REMOTE_REAL_PINS=1")]


def test_the_real_pins_environment_scores_the_fake_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("T2V_PLUGINS", "remote")
    monkeypatch.setenv(workers.ENV_VAR, os.environ.get("T2V_REMOTE_ENVS") or str(tmp_path / "envs"))
    plugins.reset()
    folder = write_owl3_repo(tmp_path / "repo")
    legacy_merges(folder)  # the era's tokenizers
    images, texts = _images(), ["a cat", "Yes"]
    with fake_hub(tmp_path, {REPO: folder}):
        score = t2v_core.VQAScore(model="mplug-owl3-7b", device="cpu", trust_remote_code=True)  # the pins decide
        try:
            got = score(images=images, texts=texts).numpy()
            prov = score.provenance
        finally:
            score.close()
    assert prov["versions"]["transformers"] == "4.41.2" and prov["worker_env"]["unsatisfied_here"]
    want = [[_direct(folder, [im], Q.format(t)) for t in texts] for im in images]
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)
