"""The remote-code InternVL models on worker environments: their specs pin the era's transformers, which this
environment (transformers 5) does not meet, so ``VQAScore`` runs them in a worker by itself (no ``isolated=``).

Installing the era's transformers needs the network and a minute, so here the environment is made without
installing the pins (``ensure_env`` is given no requirements, in this process only): the decision to use a
worker, the cached layered venv, the worker process building the plugin's spec from its own registry, the pipe,
errors, store and provenance are the real ones; the worker runs this environment's transformers. The opt-in
``test_internvl_real_pins.py`` makes the environment with the real pins.
"""

from __future__ import annotations

import sqlite3

import internvl_reference as ref
import numpy as np
import pytest
import torch
from PIL import Image
from test_internvl_layouts import TEXTS, _images, _remote_ref
from test_internvl_layouts import remote_plain as _remote_plain

import t2v_core
from t2v_core import isolated, registry, workers
from t2v_core.media import Video
from t2v_core.testing import offline_hf_cache

NAME = "internvl2-1b"
remote_plain = _remote_plain  # the fixture, shared with the in-process tests
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def no_pin_install(tmp_path_factory):
    """Worker environments under a scratch folder, made without installing the declared pins."""
    real = workers.ensure_env
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(workers.ENV_VAR, str(tmp_path_factory.mktemp("envs")))
        mp.setattr(isolated, "ensure_env", lambda requirements, python=None: real((), python))
        yield


@pytest.fixture(scope="module")
def worker(checkpoints, no_pin_install):
    """``internvl2-1b`` as a user builds it on transformers 5: no ``isolated=``, the unmet pins decide."""
    with offline_hf_cache(checkpoints["hub"]):
        score = t2v_core.VQAScore(model=NAME, device="cpu", trust_remote_code=True)
        yield score
        score.close()


def _frames():
    return [Image.fromarray(f) for f in np.random.default_rng(2).integers(0, 256, (9, 30, 30, 3), dtype=np.uint8)]


def test_remote_names_declare_the_era_pins_and_only_they_do():
    from t2v_internvl.plugin import CATALOGUE, REMOTE_REQUIREMENTS

    for name, (_, how, _) in CATALOGUE.items():
        assert registry.get_spec(name).requirements == (REMOTE_REQUIREMENTS if how == "remote" else ()), name
    assert "transformers==4.45.2" in workers.unsatisfied(REMOTE_REQUIREMENTS)  # transformers 5 here


def test_a_worker_by_itself_scoring_as_in_process_and_as_the_remote_forward(worker, get_score, remote_plain):
    assert isinstance(worker.model, isolated.WorkerScorer)
    media = [*_images(), Video.from_frames(_frames())]
    got = worker(images=media, texts=TEXTS, num_frames=3)
    here = get_score(NAME, trust_remote_code=True, isolated=False)
    assert not isinstance(here.model, isolated.WorkerScorer)
    torch.testing.assert_close(got, here(images=media, texts=TEXTS, num_frames=3), rtol=1e-5, atol=1e-8)
    model, tok = remote_plain  # independent: the remote code's own forward on a hand-built prompt
    pixels = ref.image_pixels(_images()[1], 56)
    want = _remote_ref(model, tok, pixels, ref.image_user(pixels.shape[0], model.num_image_token, TEXTS[0]))
    assert float(got[1, 0]) == pytest.approx(want, rel=1e-4)
    prov = worker.provenance
    assert "transformers==4.45.2" in prov["worker_env"]["unsatisfied_here"]
    assert prov["worker_env"]["requirements"] == list(registry.get_spec(NAME).requirements)
    assert worker.model.identity == here.model.identity  # the same store keys either way


def test_generate_in_the_worker_equals_in_process(worker, get_score):
    images = _images()[:1]
    here = get_score(NAME, trust_remote_code=True, isolated=False)
    assert worker.model.generate(images, ["What is it?"], max_new_tokens=3) == \
        here.model.generate(images, ["What is it?"], max_new_tokens=3)


def test_a_store_written_by_the_worker_serves_the_in_process_scorer(worker, get_score, tmp_path):
    store = tmp_path / "run.sqlite"
    data = [{"images": [im], "texts": TEXTS} for im in _images()]
    first = worker.batch_forward(data, store=store)
    rows = dict(sqlite3.connect(store).execute("SELECT key, created FROM scores").fetchall())
    assert len(rows) == 4
    again = get_score(NAME, trust_remote_code=True, isolated=False).batch_forward(data, store=store)
    assert dict(sqlite3.connect(store).execute("SELECT key, created FROM scores").fetchall()) == rows
    torch.testing.assert_close(again, first)


def test_errors_come_back_as_in_process(checkpoints, no_pin_install, tmp_path):
    from t2v_internvl.loading import RemoteCodeRequiredError

    from t2v_core.testing import check_offline_error

    with offline_hf_cache(checkpoints["hub"]):
        with pytest.raises(RemoteCodeRequiredError, match=r"'internvl2-1b'.*trust_remote_code=True"):
            t2v_core.VQAScore(model=NAME, device="cpu")
    # weights not downloaded: the same one-line error, from Python and from `t2v score`, through the worker
    check_offline_error(NAME, tmp_path, "OpenGVLab/InternVL2-1B", trust_remote_code=True)


def test_refused_before_any_worker_environment_is_made(monkeypatch):
    from t2v_internvl.loading import RemoteCodeRequiredError

    def no_env(*args, **kwargs):
        raise AssertionError("a worker environment was made for a model that had to be refused")

    monkeypatch.setattr(isolated, "ensure_env", no_env)
    with pytest.raises(RemoteCodeRequiredError, match=r"'internvl2-8b'.*trust_remote_code=True"):
        t2v_core.VQAScore(model="internvl2-8b", device="cpu")
    with pytest.raises(RemoteCodeRequiredError, match=r"'internvl2.5-2b'"):
        t2v_core.VQAScore(model="internvl2.5-2b", device="cpu", isolated=True, trust_remote_code=False)
