"""Opt-in (``T2V_REMOTE_REAL_PINS=1``; needs the package index, a minute or so per family): each family's
worker environment made with the spec's **real** pins, scoring its fake remote repo there (no ``isolated=``,
no override: the unmet pins decide); the numbers must equal the direct computation done here on this
environment's transformers. ``T2V_REMOTE_ENVS`` reuses a cache of environments."""

from __future__ import annotations

import os

import numpy as np
import pytest
from fake_repo import fake_hub, legacy_merges
from PIL import Image

import t2v_core
from t2v_core import plugins, registry, workers

pytestmark = [pytest.mark.timeout(1800), pytest.mark.skipif(
    not os.environ.get("T2V_REMOTE_REAL_PINS"), reason="makes the era's environments (network); T2V_REMOTE_REAL_PINS=1")]


def _xc25(tmp_path, image):
    import test_xc25
    from fake_xc25 import REPO, write_xc25_repo

    folder = write_xc25_repo(tmp_path / "repo")
    return REPO, folder, lambda t: test_xc25._direct(folder, np.asarray(image), test_xc25.Q.format(t), video=False)


def _molmo(tmp_path, image):
    import test_molmo
    from fake_molmo import write_molmo_repo

    folder = write_molmo_repo(tmp_path / "repo")
    return "allenai/Molmo-7B-D-0924", folder, lambda t: test_molmo._direct(folder, image, test_molmo.Q.format(t))


def _ivid2(tmp_path, image):
    import test_ivid2
    from fake_ivid2 import REPO, write_ivid2_repo

    folder = write_ivid2_repo(tmp_path / "repo")
    return REPO, folder, lambda t: test_ivid2._direct(folder, [image], test_ivid2.Q.format(t))


def _ivid2_internlm(tmp_path, image):
    import test_ivid2
    from fake_ivid2 import INTERNLM_REPO, write_ivid2_internlm_repo

    folder = write_ivid2_internlm_repo(tmp_path / "repo")
    return INTERNLM_REPO, folder, lambda t: test_ivid2._direct_hd(folder, [image], test_ivid2.Q.format(t))


@pytest.mark.parametrize("name,build", [("internlmxcomposer25-7b", _xc25), ("molmo-7b-d-0924", _molmo),
                                        ("internvideo2-chat-8b", _ivid2),
                                        ("internvideo2-chat-8b-internlm", _ivid2_internlm)])
def test_the_real_pins_environment_scores_the_fake_repo(name, build, tmp_path, monkeypatch):
    monkeypatch.setenv("T2V_PLUGINS", "remote")
    monkeypatch.setenv(workers.ENV_VAR, os.environ.get("T2V_REMOTE_ENVS") or str(tmp_path / "envs"))
    plugins.reset()
    image = Image.fromarray(np.random.default_rng(9).integers(0, 256, (36, 30, 3), dtype=np.uint8))
    repo, folder, direct = build(tmp_path, image)
    pin = next(r for r in registry.get_spec(name).requirements if r.startswith("transformers=="))
    if tuple(int(x) for x in pin.split("==")[1].split(".")[:2]) < (4, 45):
        legacy_merges(folder)
    texts = ["a cat", "Yes"]
    with fake_hub(tmp_path, {repo: folder}):
        score = t2v_core.VQAScore(model=name, device="cpu", trust_remote_code=True)
        try:
            got = score(images=[image], texts=texts).numpy()
            prov = score.provenance
        finally:
            score.close()
    assert prov["versions"]["transformers"] == pin.split("==")[1] and prov["worker_env"]["unsatisfied_here"]
    np.testing.assert_allclose(got, np.array([[direct(t) for t in texts]]), rtol=1e-4, atol=1e-7)
