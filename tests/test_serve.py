"""`t2v serve`: a live server on 127.0.0.1 with the example scorer, driven by concurrent clients."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from t2v_example.scorer import example_score  # noqa: E402

from t2v_core import get_score_model  # noqa: E402
from t2v_core.client import AsyncScoreClient, ScoreClient, ServerError  # noqa: E402
from t2v_core.errors import ScoringError  # noqa: E402
from t2v_core.serve import ScoringService, create_app  # noqa: E402

Q = 'Does this figure show "{}"?'


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 5, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _expected(value: int, text: str, question: str = Q, answer: str = "Yes") -> float:
    img = Image.fromarray(np.full((6, 5, 3), value, np.uint8))
    return example_score(img, question.format(text), answer)


class LiveServer:
    """uvicorn in a thread on a free loopback port; stops itself at the end of the test."""

    def __init__(self, service: ScoringService) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(create_app(service), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def scorer():
    return get_score_model("example-brightness", device="cpu")


def test_concurrent_clients_get_direct_scores_coalesced(scorer, tmp_path):
    service = ScoringService(scorer, tmp_path / "serve.sqlite", max_batch=64, max_wait_ms=80)
    values = [0, 40, 80, 120, 160, 200, 240, 255]
    texts = ["a cat", "two dogs", "a red cube", "the sea"]
    with LiveServer(service) as live:
        def one_client(k: int) -> list[float]:
            with ScoreClient(live.url) as client:
                return client.score([(_png(values[k]), t) for t in texts])

        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(one_client, range(8)))
        metrics = ScoreClient(live.url).metrics()
        health = ScoreClient(live.url).health()
    for k, row in enumerate(got):
        for j, t in enumerate(texts):
            assert row[j] == pytest.approx(_expected(values[k], t), rel=1e-6)
    assert health["status"] == "ok" and health["model"] == "example-brightness"
    assert metrics["requests"] == 8 and metrics["pairs"] == 32 and metrics["computed"] == 32
    # coalescing: 8 concurrent requests were scored in fewer scorer calls than requests
    assert metrics["batches"] < 8 and metrics["batch_size"]["max"] > 4
    assert metrics["latency_ms"]["p50"] is not None and metrics["latency_ms"]["p99"] >= metrics["latency_ms"]["p50"]


def test_identical_pairs_in_flight_computed_once_and_cached_after(scorer):
    service = ScoringService(scorer, max_wait_ms=100)
    with LiveServer(service) as live:
        def ask(_: int) -> list[float]:
            with ScoreClient(live.url) as client:
                return client.score([(_png(90), "a lighthouse"), (_png(90), "a lighthouse")])

        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(ask, range(6)))
        first = ScoreClient(live.url).metrics()
        again = ScoreClient(live.url).score([(_png(90), "a lighthouse")])
        second = ScoreClient(live.url).metrics()
    want = _expected(90, "a lighthouse")
    assert all(v == pytest.approx(want, rel=1e-6) for row in got for v in row)
    assert first["computed"] == 1 and first["deduplicated"] == 11
    assert again == [pytest.approx(want, rel=1e-6)]
    assert second["computed"] == 1 and second["cache_hits"] == 1  # asked again later: from the store


def test_full_queue_answers_429_with_retry_after(scorer):
    service = ScoringService(scorer, max_wait_ms=800, max_queue=4)
    with LiveServer(service) as live:
        client = ScoreClient(live.url, max_retries=0)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.score, [(_png(v), "x") for v in (1, 2, 3)])
            time.sleep(0.3)  # the first request's 3 pairs wait out max_wait in the queue
            body = {"pairs": [{"media_base64": base64.b64encode(_png(v)).decode(), "text": "y"} for v in (4, 5)]}
            response = client.raw(body)
            assert response.status_code == 429
            assert int(response.headers["Retry-After"]) >= 1 and "queue is full" in response.json()["detail"]
            assert len(first.result()) == 3
        # a client that retries gets through once the queue has drained
        retrying = ScoreClient(live.url, max_retries=3)
        assert len(retrying.score([(_png(9), "z")])) == 1
        assert retrying.metrics()["rejected"] == 1


def test_bad_requests_fail_alone(scorer, tmp_path):
    (tmp_path / "ok.png").write_bytes(_png(30))
    service = ScoringService(scorer, max_wait_ms=50, media_root=tmp_path)
    with LiveServer(service) as live:
        client = ScoreClient(live.url)
        # malformed bodies: 4xx with a reason, nothing scored
        assert client.raw({"pairs": []}).status_code == 422
        assert client.raw({"pairs": [{"media": "ok.png"}]}).status_code == 422  # no text
        bad_option = client.raw({"pairs": [{"media": "ok.png", "text": "a"}], "options": {"bogus": 1}})
        assert bad_option.status_code == 400 and "bogus" in bad_option.json()["detail"]
        bad_template = client.raw({"pairs": [{"media": "ok.png", "text": "a"}], "question_template": "{0}"})
        assert bad_template.status_code == 400
        with pytest.raises(ServerError, match="400"):
            client.score([("ok.png", "a")], options={"bogus": 1})
        # a pair with bad media fails with its own error; the others in the same request are scored
        scores = client.score([("ok.png", "a cat"), (b"not an image", "a cat"), ("../outside.png", "a cat"),
                               ("missing.png", "a cat")], on_error="nan")
        response = client.raw({"pairs": [{"media": "ok.png", "text": "a cat"},
                                          {"media_base64": "@@@", "text": "a cat"},
                                          {"media": "../outside.png", "text": "a cat"}]}).json()["results"]
        with pytest.raises(ScoringError, match="pair 1"):
            client.score([("ok.png", "a cat"), (b"not an image", "a cat")])
        # a good request right after is unaffected
        assert client.score([("ok.png", "two dogs")]) == [pytest.approx(_expected(30, "two dogs"), rel=1e-6)]
    assert scores[0] == pytest.approx(_expected(30, "a cat"), rel=1e-6)
    assert all(np.isnan(scores[1:]))
    assert "pair 1" in response[1]["error"] and "base64" in response[1]["error"]
    assert "outside the server's media root" in response[2]["error"]
    assert response[0]["score"] == pytest.approx(_expected(30, "a cat"), rel=1e-6)


def test_paths_refused_without_media_root_and_urls_switchable(scorer):
    service = ScoringService(scorer, allow_urls=False)
    results = asyncio.run(_submit(service, [{"media": "/etc/passwd", "text": "a"},
                                            {"media": "http://127.0.0.1:9/x.png", "text": "a"}]))
    assert "server-side paths are off" in results[0]["error"]
    assert "does not fetch URLs" in results[1]["error"]


def test_templates_and_options_keep_their_own_batches(scorer):
    service = ScoringService(scorer, max_wait_ms=50)
    pair = [{"media_base64": base64.b64encode(_png(70)).decode(), "text": "a boat"}]

    async def both():
        return await asyncio.gather(_submit(service, pair, close=False),
                                    _submit(service, pair, "Is it {}?", "No", close=False))

    plain, other = asyncio.run(_with_stop(service, both()))
    assert plain[0]["score"] == pytest.approx(_expected(70, "a boat"), rel=1e-6)
    assert other[0]["score"] == pytest.approx(_expected(70, "a boat", "Is it {}?", "No"), rel=1e-6)


def test_async_client(scorer):
    service = ScoringService(scorer, max_wait_ms=20)
    with LiveServer(service) as live:
        async def go():
            async with AsyncScoreClient(live.url) as client:
                return await asyncio.gather(*(client.score([(_png(v), "a tree")]) for v in (10, 20, 30)))

        got = asyncio.run(go())
    assert [g[0] for g in got] == [pytest.approx(_expected(v, "a tree"), rel=1e-6) for v in (10, 20, 30)]


async def _submit(service, pairs, q=None, a=None, close=True):
    try:
        return await service.submit(pairs, q, a, {})
    finally:
        if close:
            await service.stop()


async def _with_stop(service, coro):
    try:
        return await coro
    finally:
        await service.stop()


def test_benchmark_script_runs_and_agrees():
    from t2v_core.testing import run_benchmark_script

    out = run_benchmark_script("bench_scale.py", "--pairs", "60", "--requests", "16")
    assert "outputs identical: True" in out and "largest score difference 0.0e+00" in out
