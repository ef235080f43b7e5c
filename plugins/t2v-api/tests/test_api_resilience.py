"""Concurrency, retries, fail-fast errors, fault injection and resume, against the fake servers."""

from __future__ import annotations

import logging
import math
import time

import pytest
import torch
from _api_helpers import GEMINI_KEY, KEYS, OPENAI_KEY, build
from t2v_api.scorer import CredentialsError, LogprobsUnavailableError
from t2v_api.testing import FakeModelServer

import t2v_core
from t2v_core.testing import random_images

PROTOS = ["openai", "gemini"]


def _truths(server: FakeModelServer) -> dict[tuple[bytes, str], float]:
    return {(r.media[0][1], r.prompt): server.truth_of(r).yes for r in server.requests}


@pytest.mark.parametrize("protocol", PROTOS)
def test_64_pairs_run_concurrently(protocol) -> None:
    with FakeModelServer(api_keys=KEYS, latency=0.1) as server:
        score = build(server, protocol, max_concurrency=64)
        score(images=random_images(1), texts=["warm up"])  # imports and the first-reply check
        server.reset()
        t0 = time.perf_counter()
        out = score(images=random_images(8, seed=1), texts=[f"text {k}" for k in range(8)])
        elapsed = time.perf_counter() - t0
    assert torch.isfinite(out).all() and len(server.requests) == 64
    assert server.max_in_flight >= 32
    # one at a time takes >= 6.4 s; the bound leaves room for a loaded 2-core CI machine (typically ~1.5 s)
    assert elapsed < 0.75 * 64 * 0.1, f"64 pairs at 100 ms took {elapsed:.2f} s: not concurrent"


@pytest.mark.parametrize("protocol", PROTOS)
def test_429_honours_retry_after(make, server, protocol) -> None:
    server.retry_after = 0.4
    server.script(["429"])
    score = make(protocol)
    t0 = time.perf_counter()
    out = score(images=random_images(1), texts=["x"])
    assert time.perf_counter() - t0 >= 0.4
    assert len(server.requests) == 2 and score.model.last_usage.retries == 1
    assert float(out[0, 0]) == pytest.approx(server.truth_of(server.requests[-1]).yes, rel=1e-6)


@pytest.mark.parametrize("protocol", PROTOS)
def test_retry_after_beyond_the_limit_fails_the_pair_at_once(make, server, protocol) -> None:
    server.retry_after = 30
    server.script(["429"])
    score = make(protocol, max_retry_wait=1.0)
    t0 = time.perf_counter()
    out = score(images=random_images(1), texts=["x"], on_error="nan")
    assert time.perf_counter() - t0 < 10
    assert torch.isnan(out).all()
    f = score.failures[0]
    assert f.kind == "rate_limit" and "max_retry_wait" in f.error and f.detail["status"] == 429


@pytest.mark.parametrize("protocol", PROTOS)
def test_500s_are_retried_then_recorded(make, server, protocol) -> None:
    server.script(["500", "503"])
    score = make(protocol, max_retries=2, max_concurrency=1)  # one at a time: the script hits one pair
    out = score(images=random_images(1), texts=["x"])
    assert torch.isfinite(out).all() and len(server.requests) == 3
    # a pair that keeps failing: NaN plus a failure, and the front-end raises at the end of the call
    server.reset()
    server.script(["500", "500", "500"])
    with pytest.raises(t2v_core.ScoringError, match=r"1 of 2 pairs failed \(\{'server': 1\}\)") as ei:
        score(images=random_images(1, seed=9), texts=["a", "b"])
    s = ei.value.scores
    assert int(torch.isnan(s).sum()) == 1 and int(torch.isfinite(s).sum()) == 1
    f = ei.value.failures[0]
    assert f.kind == "server" and f.detail["attempts"] == 3 and f.detail["status"] == 500
    assert math.isnan(float(s[f.media_index, f.text_index]))


@pytest.mark.parametrize("protocol", PROTOS)
def test_timeouts(make, server, protocol) -> None:
    server.timeout_sleep = 1.5
    server.script(["timeout"])
    score = make(protocol, timeout=0.4)
    out = score(images=random_images(1), texts=["x"])
    assert torch.isfinite(out).all()
    server.script(["timeout"])
    score = make(protocol, timeout=0.4, max_retries=0)
    out = score(images=random_images(1), texts=["x"], on_error="nan")
    assert torch.isnan(out).all() and score.failures[0].kind == "timeout"


@pytest.mark.parametrize("protocol", PROTOS)
def test_malformed_bodies_are_never_scores(make, server, protocol) -> None:
    server.script(["malformed"])
    score = make(protocol)
    out = score(images=random_images(1), texts=["x"])
    assert float(out[0, 0]) == pytest.approx(server.truth_of(server.requests[-1]).yes, rel=1e-6)
    server.script(["malformed"] * 3)
    score = make(protocol, max_retries=2)
    out = score(images=random_images(1), texts=["x"], on_error="nan")
    assert torch.isnan(out).all() and score.failures[0].kind == "bad_reply"


@pytest.mark.parametrize("protocol", PROTOS)
def test_rejected_key_fails_fast_without_retry_storm(server, protocol, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bad = "sk-proj-WRONGkey987654321zyx" if protocol == "openai" else "AIzaSyWRONGkey98765432100000"
    url = server.openai_base_url if protocol == "openai" else server.url
    score = t2v_core.VQAScore(model="gpt-4o" if protocol == "openai" else "gemini-2.5-flash", api_key=bad,
                              base_url=url)
    t0 = time.perf_counter()
    with pytest.raises(CredentialsError) as ei:
        score(images=random_images(4), texts=["a", "b", "c", "d"])
    assert time.perf_counter() - t0 < 5
    assert len(server.requests) == 0 or len(server.requests) == 1  # the fake rejects before recording
    msg = str(ei.value)
    assert "rejected" in msg and ("gpt-4o" in msg or "gemini-2.5-flash" in msg)
    assert bad not in msg and bad not in caplog.text and bad not in repr(ei.value)
    assert ei.value.__cause__ is None and ei.value.__context__ is None or bad not in str(ei.value.__context__)


def test_rejected_key_is_one_request(server) -> None:
    hits = []
    orig = server._next_fault
    server._next_fault = lambda: hits.append(1) or orig()  # counts every request, even rejected ones
    score = t2v_core.VQAScore(model="gpt-4o", api_key="sk-nope-000000", base_url=server.openai_base_url)
    with pytest.raises(CredentialsError):
        score(images=random_images(8), texts=["a", "b", "c", "d"])
    assert len(hits) == 1


@pytest.mark.parametrize("mode", ["error", "silent"])
@pytest.mark.parametrize("protocol", PROTOS)
def test_model_without_logprobs_is_named(server, protocol, mode) -> None:
    model = "gpt-4o" if protocol == "openai" else "gemini-2.5-pro"
    server.refuse_logprobs = {model}
    server.refuse_mode = mode
    score = build(server, protocol, model)
    with pytest.raises(LogprobsUnavailableError, match=model) as ei:
        score(images=random_images(4), texts=["a", "b"])
    assert "log-probabilities" in str(ei.value)
    if mode == "error":  # the service said so: one request
        assert len(server.requests) == 1
    else:  # replies without them: concluded from the first three only, and the message says so
        assert len(server.requests) == 3 and "first 3 replies all came without" in str(ei.value)


@pytest.mark.parametrize("protocol", PROTOS)
def test_random_faults_are_reported_never_silently_wrong(protocol) -> None:
    with FakeModelServer(api_keys=KEYS, fault_rate=0.2, seed=7, timeout_sleep=0.6,
                         fault_kinds=("429", "500", "timeout", "malformed")) as server:
        score = build(server, protocol, max_retries=1, timeout=0.3, max_concurrency=32)
        images, texts = random_images(8, seed=2), [f"t{k}" for k in range(8)]
        out = score(images=images, texts=texts, on_error="nan")
        truths = {}
        for r in server.requests:
            if r.fault is None:
                truths[(r.media[0][1], r.prompt)] = server.truth_of(r).yes
        failed = {(f.media_index, f.text_index) for f in score.failures}
        assert int(torch.isnan(out).sum()) == len(failed)
        ok_values = sorted(float(v) for v in out.flatten() if not math.isnan(float(v)))
        # every finite score is the truth of a request that was answered normally
        for v in ok_values:
            assert any(abs(v - t) <= 1e-6 * max(t, 1e-12) for t in truths.values()), v
        assert len(ok_values) + len(failed) == 64


@pytest.mark.parametrize("protocol", PROTOS)
def test_resume_from_the_store_requests_only_what_is_missing(protocol, tmp_path) -> None:
    store = tmp_path / "scores.sqlite"
    data = [{"images": random_images(2, seed=s), "texts": ["a cat", "a dog"]} for s in range(4)]
    with FakeModelServer(api_keys=KEYS, fault_rate=0.35, seed=3, fault_kinds=("500",)) as server:
        score = build(server, protocol, max_retries=0)
        first = score.batch_forward(data, store=store, on_error="nan")
        n_nan = int(torch.isnan(first).sum())
        assert 0 < n_nan < 16 and len(score.failures) == n_nan
        server.fault_rate = 0.0
        server.reset()
        second = score.batch_forward(data, store=store)
        # the rerun asks for exactly the pairs that failed, nothing else
        assert len(server.requests) == n_nan
    assert torch.isfinite(second).all()
    keep = ~torch.isnan(first)
    assert torch.equal(second[keep], first[keep])
    text = store.read_bytes()
    assert not any(k.encode() in text for k in KEYS)


@pytest.mark.parametrize("protocol", PROTOS)
def test_batch_forward_runs_requests_concurrently_across_samples(protocol) -> None:
    data = [{"images": random_images(1, seed=s), "texts": ["a cat"]} for s in range(16)]
    with FakeModelServer(api_keys=KEYS, latency=0.1) as server:
        score = build(server, protocol, max_concurrency=16)
        score(images=random_images(1), texts=["warm"])  # the first reply is verified alone
        t0 = time.perf_counter()
        out = score.batch_forward(data)
        elapsed = time.perf_counter() - t0
    assert out.shape == (16, 1, 1) and torch.isfinite(out).all()
    assert elapsed < 16 * 0.1 * 0.5, elapsed  # one sample at a time would take 1.6 s


def test_requests_per_minute_cap(make, server) -> None:
    score = make("openai", requests_per_minute=600, max_concurrency=8)
    score(images=random_images(1), texts=["warm"])
    t0 = time.perf_counter()
    score(images=random_images(1), texts=[f"t{k}" for k in range(6)])
    assert time.perf_counter() - t0 >= 0.5  # 6 starts at most one per 0.1 s


def test_mid_run_key_revocation_keeps_computed_scores(make, server) -> None:
    score = make("openai", max_concurrency=1)
    score(images=random_images(1), texts=["warm"])
    server.reset()
    server.script(["ok", "ok", "401"])
    with pytest.raises(t2v_core.ScoringError) as ei:
        score(images=random_images(1, seed=4), texts=["a", "b", "c", "d", "e"])
    s = ei.value.scores
    assert int(torch.isfinite(s).sum()) == 2
    kinds = {f.kind for f in ei.value.failures}
    assert kinds == {"auth"} and len(ei.value.failures) == 3
    assert len(server.requests) == 2  # nothing sent after the rejection (the fake records only accepted ones)


@pytest.mark.parametrize("protocol", PROTOS)
def test_keys_never_leak(server, protocol, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = OPENAI_KEY if protocol == "openai" else GEMINI_KEY
    score = build(server, protocol, max_retries=0)
    server.script(["500"])
    score(images=random_images(2), texts=["a"], on_error="nan")
    texts = [repr(score), str(score.model), repr(score.model), str(score.provenance), str(score.model.options),
             str(score.failures), str(vars(score.model)), caplog.text]
    server.script(["401"] * 4)
    with pytest.raises(t2v_core.T2VError) as ei:
        score(images=random_images(1, seed=5), texts=["b"])
    texts += [str(ei.value), repr(ei.value)]
    server.reset()
    store = tmp_path / "s.sqlite"
    score.batch_forward([{"images": random_images(1), "texts": ["c"]}], store=store)
    texts.append(store.read_bytes().decode("latin-1"))
    for t in texts:
        assert key not in t and key[:12] not in t
