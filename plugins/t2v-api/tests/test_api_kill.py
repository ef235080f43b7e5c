"""Paid requests are never paid twice: ``t2v score`` killed with SIGKILL repeats at most the requests that were
in flight, and two runs sharing a store send each request once. Also: one reply without log-probabilities is
retried, and the fake server stays quiet when a client vanishes mid-request."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _api_helpers import OPENAI_KEY, build
from PIL import Image
from t2v_api.testing import FakeModelServer

from t2v_core.store import ScoreStore
from t2v_core.testing import random_images

CONCURRENCY = 4
N_IMAGES = 32
TEXTS = ("a red square", "a blue circle")


def _pairs(tmp_path: Path) -> Path:
    rows = []
    for k in range(N_IMAGES):
        p = tmp_path / f"im{k}.png"
        Image.new("RGB", (6, 6), (7 * k, 255 - 5 * k, (31 * k) % 256)).save(p)
        rows += [{"image": p.name, "text": t} for t in TEXTS]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _cli(server: FakeModelServer, pairs: Path, store: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "T2V_PLUGINS": "t2v-api", "T2V_PROGRESS": "0", "OPENAI_API_KEY": OPENAI_KEY}
    cmd = [sys.executable, "-m", "t2v_core.cli", "score", "--model", "gpt-4o", "--pairs", str(pairs),
           "--store", str(store), "--out", str(out), "--no-progress", "--option", f"base_url={server.openai_base_url}",
           "--option", f"max_concurrency={CONCURRENCY}", "--option", "backoff_base=0.01"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _key(r) -> tuple[str, bytes]:
    return r.prompt, r.media[0][1]


def _check_complete(server: FakeModelServer, out: Path) -> None:
    """Every pair scored, and the scores are exactly the truths of the distinct requests the server saw."""
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == N_IMAGES * len(TEXTS) and all(r["error"] == "" for r in rows)
    # a request a kill cut off mid-body is recorded empty: it reached no model and scored nothing
    truths = {_key(r): server.truth_of(r).yes for r in server.requests if r.media}
    assert len(truths) == len(rows)
    got, want = sorted(float(r["score"]) for r in rows), sorted(truths.values())
    assert all(abs(g - w) <= 1e-6 * w for g, w in zip(got, want))


def test_kill_9_repeats_at_most_the_requests_in_flight(tmp_path: Path) -> None:
    pairs, store, out = _pairs(tmp_path), tmp_path / "s.sqlite", tmp_path / "out.csv"
    rng = random.Random(12)
    repeated: list[int] = []
    seen: set[tuple[str, bytes]] = set()
    with FakeModelServer(api_keys=(OPENAI_KEY,), latency=0.08) as server:
        for _kill in range(2):
            start = len(server.requests)
            target = start + rng.randint(6, 20)  # kill at a random point of the run
            proc = _cli(server, pairs, store, out)
            while len(server.requests) < target and proc.poll() is None:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            # a request the kill cut off mid-body reached no model (the fake server records it empty): not paid for
            mine = [_key(r) for r in server.requests[start:] if r.media]
            repeated.append(sum(1 for k in mine if k in seen))
            seen.update(mine)
        start = len(server.requests)
        proc = _cli(server, pairs, store, out)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        repeated.append(sum(1 for r in server.requests[start:] if _key(r) in seen))
        print(f"requests repeated after each kill: {repeated[1:]} (limit {CONCURRENCY})")
        assert all(n <= CONCURRENCY for n in repeated), repeated
        paid = [r for r in server.requests if r.media]
        assert len(paid) - len({_key(r) for r in paid}) == sum(repeated)
        _check_complete(server, out)
        assert ScoreStore(store).count() == N_IMAGES * len(TEXTS)


def test_two_runs_on_one_store_send_each_request_once(tmp_path: Path) -> None:
    pairs, store = _pairs(tmp_path), tmp_path / "s.sqlite"
    with FakeModelServer(api_keys=(OPENAI_KEY,), latency=0.08) as server:
        procs = [_cli(server, pairs, store, tmp_path / f"out{k}.csv") for k in range(2)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        paid = [r for r in server.requests if r.media]
        duplicated = len(paid) - len({_key(r) for r in paid})
        print(f"pairs requested by both runs: {duplicated}")
        assert duplicated == 0
        for k in range(2):
            _check_complete(server, tmp_path / f"out{k}.csv")


def test_one_reply_without_logprobs_is_retried(server: FakeModelServer) -> None:
    server.script(["no_logprobs"])
    score = build(server, "openai")
    images = random_images(2)
    out = score(images=images, texts=["a", "b"])
    assert len(server.requests) == 5 and server.requests[0].fault == "no_logprobs"
    truths = {_key(r): server.truth_of(r).yes for r in server.requests[1:]}
    assert sorted(float(v) for v in out.flatten()) == pytest.approx(sorted(truths.values()), rel=1e-6)
    # after a reply with log-probabilities, one without is a broken reply, retried too
    server.reset()
    server.script(["ok", "no_logprobs"])
    assert not score(images=images, texts=["c", "d"]).isnan().any()
    assert len(server.requests) == 5


def test_fake_server_is_quiet_when_a_client_vanishes(capfd: pytest.CaptureFixture[str]) -> None:
    with FakeModelServer(api_keys=(OPENAI_KEY,)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{\"mo")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
            s.close()
        time.sleep(0.3)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err


@pytest.mark.parametrize("option,value", [
    ("max_concurrency", 0), ("max_concurrency", True), ("max_retries", -1), ("max_retries", "5"),
    ("timeout", 0), ("timeout", "60"), ("backoff_base", -0.5), ("max_retry_wait", float("inf")),
    ("requests_per_minute", 0), ("top_logprobs", 0),
])
def test_bad_numeric_options_are_named(server: FakeModelServer, option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option) as e:
        build(server, "openai", **{option: value})
    assert repr(value) in str(e.value)
