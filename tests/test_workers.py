"""Worker environments: a plugin pinning a tqdm that clashes with this environment scores in its own venv,
beside the in-process example plugin, with the same numbers, failures and store."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import sqlite3
import threading
import time

import numpy as np
import pytest
from PIL import Image
from t2v_example.scorer import example_score

import t2v_core
from t2v_core import plugins, workers

pytest.importorskip("t2v_worker_example")
pytestmark = pytest.mark.timeout(900)
Q = 'Does this figure show "{}"?'
PIN = "4.65.0"


@pytest.fixture(scope="module")
def envs_dir(tmp_path_factory):
    """One cached environment for the whole module (making it installs tqdm 4.65.0 once)."""
    return tmp_path_factory.mktemp("envs")


@pytest.fixture(autouse=True)
def both_plugins(monkeypatch, envs_dir):
    monkeypatch.setenv("T2V_PLUGINS", "example,worker-example")
    monkeypatch.setenv(workers.ENV_VAR, str(envs_dir))
    plugins.reset()


def _images():
    return [Image.fromarray(np.full((5, 6, 3), v, np.uint8)) for v in (10, 130, 250)]


def _close(got, want, rtol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=rtol)


def _expected(images, texts):
    return [[example_score(im, Q.format(t), "Yes") for t in texts] for im in images]


def test_clashing_pin_scores_in_a_worker_beside_an_in_process_plugin():
    assert importlib.metadata.version("tqdm") != PIN and workers.unsatisfied([f"tqdm=={PIN}"])
    images, texts = _images(), ["a cat", "two dogs"]
    isolated = t2v_core.VQAScore(model="worker-example", device="cpu")
    local = t2v_core.VQAScore(model="example-brightness", device="cpu")
    try:
        got = isolated(images=images, texts=texts)
        here = local(images=images, texts=texts)
        _close(got, _expected(images, texts))
        _close(here, got)
        prov = isolated.provenance
        assert prov["options"]["tqdm_version"] == PIN  # the worker really ran with the clashing pin
        assert prov["worker_env"]["requirements"] == [f"tqdm=={PIN}"]
        assert prov["worker_env"]["unsatisfied_here"] == [f"tqdm=={PIN}"]
        # the conformance kit sees a scorer like any other (M x N vs pairwise, templates, bad inputs, video)
        from t2v_core.testing import check_scorer

        check_scorer(isolated, images=images[:2], texts=texts)
    finally:
        isolated.close()
    # the environment was made once and is reused by the next scorer
    (env,) = [e for e in workers.list_envs() if e["requirements"]]
    assert env["requirements"] == [f"tqdm=={PIN}"] and env["tool"] in ("uv", "venv+pip")
    again = t2v_core.VQAScore(model="worker-example", device="cpu")
    try:
        assert [e["created"] for e in workers.list_envs() if e["key"] == env["key"]] == [env["created"]]
        assert again(images=images[:1], texts=texts[:1]).item() == pytest.approx(_expected(images, texts)[0][0])
    finally:
        again.close()


def test_isolated_on_request_even_when_satisfied():
    score = t2v_core.VQAScore(model="example-brightness", device="cpu", isolated=True)
    try:
        images = _images()
        _close(score(images=images, texts=["a boat"]), _expected(images, ["a boat"]))
        assert "worker_env" in score.provenance and score.model.worker.alive
        pid = score.model.worker.proc.pid
    finally:
        score.close()
    assert score.model.worker.proc is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _kill_when_slow(marker):
    def watch():
        deadline = time.time() + 120
        while not os.path.exists(marker) or not open(marker).read():
            if time.time() > deadline:
                return
            time.sleep(0.05)
        os.kill(int(open(marker).read()), signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_killed_worker_is_a_named_failure_and_the_next_call_works(tmp_path):
    score = t2v_core.VQAScore(model="worker-example", device="cpu")
    try:
        images = _images()
        marker = tmp_path / "slow.pid"
        watcher = _kill_when_slow(marker)
        with pytest.raises(t2v_core.ScoringError, match="worker process ended") as err:
            score(images=images[:1], texts=["a cat", f"(slow:{marker})"])
        watcher.join()
        assert {f.kind for f in err.value.failures} == {"worker_crash"}
        assert np.isnan(err.value.scores.numpy()).all()  # pairs in flight are NaN, never a score
        _close(score(images=images, texts=["a cat"]), _expected(images, ["a cat"]))
    finally:
        score.close()


def test_store_resumes_across_worker_restarts(tmp_path):
    marker = tmp_path / "slow.pid"
    store = tmp_path / "run.sqlite"
    data = [{"images": [Image.fromarray(np.full((4, 4, 3), k, np.uint8))],
             "texts": [f"(slow:{marker})" if k == 35 else f"text {k}"]} for k in range(40)]
    score = t2v_core.VQAScore(model="worker-example", device="cpu", batch_size=4)
    try:
        watcher = _kill_when_slow(marker)
        out = score.batch_forward(data, store=store, on_error="nan")
        watcher.join()
        # the first chunk (32 samples) was scored and stored before the worker was killed in the second
        assert not np.isnan(out[:32].numpy()).any() and np.isnan(out[32:].numpy()).all()
        first = dict(sqlite3.connect(store).execute("SELECT key, created FROM scores").fetchall())
        assert len(first) == 32
        # rerun: a new worker, only the 8 missing pairs computed (the marker exists now: no sleep)
        again = score.batch_forward(data, store=store)
        rows = dict(sqlite3.connect(store).execute("SELECT key, created FROM scores").fetchall())
    finally:
        score.close()
    assert len(rows) == 40 and all(rows[k] == created for k, created in first.items())
    want = [example_score(d["images"][0], Q.format(d["texts"][0]), "Yes") for d in data]
    _close(again[:, 0, 0], want)


def test_a_broken_requirement_says_which(tmp_path, monkeypatch):
    monkeypatch.setenv(workers.ENV_VAR, str(tmp_path / "envs"))
    with pytest.raises(workers.WorkerError, match="no-such-package-t2v"):
        workers.ensure_env(["no-such-package-t2v==0.0.1"])
    assert workers.list_envs() == []  # a failed environment is not kept


def test_envs_command(capsys, envs_dir):
    from t2v_core.cli import main

    assert main(["envs", "create", "worker-example"]) == 0
    assert str(envs_dir) in capsys.readouterr().out
    assert main(["envs", "--json"]) == 0
    import json

    (env,) = [e for e in json.loads(capsys.readouterr().out) if e["requirements"] == [f"tqdm=={PIN}"]]
    assert main(["envs", "remove", "nope"]) == 2
    assert main(["envs", "remove", env["key"]]) == 0
    assert env["key"] not in {e["key"] for e in workers.list_envs()}


def test_benchmark_script_runs_and_agrees():
    from t2v_core.testing import run_benchmark_script

    out = run_benchmark_script("bench_workers.py", "--calls", "3", "--pairs", "16")
    assert "largest score difference 0.0e+00" in out and "overhead" in out
