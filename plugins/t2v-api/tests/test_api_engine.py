"""The service-independent pieces: Retry-After parsing, backoff, rate limiting, redaction, the key wrapper."""

from __future__ import annotations

import asyncio
import email.utils
import pickle
import random
import time

import pytest
from t2v_api.engine import RateLimiter, RetryPolicy, Secret, parse_retry_after, redact


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": date}) <= 31
    google = {"error": {"code": 429, "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                  "retryDelay": "7s"}]}}
    assert parse_retry_after({}, google) == 7.0
    assert parse_retry_after({}, {"error": {"message": "x"}}) is None
    assert parse_retry_after(None) is None


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    p = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    rng = random.Random(0)
    for n, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (5, 4.0)]:
        d = [p.delay(n, None, rng) for _ in range(50)]
        assert all(cap / 2 <= x <= cap for x in d) and len(set(d)) > 1
    assert all(2.0 <= p.delay(0, 2.0, rng) <= 2.21 for _ in range(20))


def test_rate_limiter_spaces_starts_and_pauses() -> None:
    lim = RateLimiter(requests_per_minute=1200)  # one start per 50 ms

    async def starts(n: int) -> list[float]:
        out = []
        for _ in range(n):
            await lim.acquire()
            out.append(time.monotonic())
        return out

    t = asyncio.run(starts(5))
    assert t[-1] - t[0] >= 4 * 0.05 * 0.95
    lim = RateLimiter()
    lim.pause(0.3)
    t0 = time.monotonic()
    asyncio.run(starts(1))
    assert time.monotonic() - t0 >= 0.29
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_redaction() -> None:
    key = "sk-proj-abcdefABCDEF0123456789"
    text = (f"Incorrect API key provided: {key}. Bearer {key}. url?key=AIzaSyABCDEFGHIJKLMNOP123 "
            "masked sk-proj-****6789; 'x-goog-api-key': 'AIzaSyQQQQQQQQQQQQQ'")
    out = redact(text, [key])
    for secret in (key, "AIzaSyABCDEFGHIJKLMNOP123", "sk-proj-****6789", "AIzaSyQQQQQQQQQQQQQ"):
        assert secret not in out
    assert redact("Pass a valid api_key= or set OPENAI_API_KEY.") == "Pass a valid api_key= or set OPENAI_API_KEY."


def test_secret_never_shows_itself() -> None:
    s = Secret("sk-live-123456789")
    assert "123456789" not in repr(s) + str(s) + f"{s}" + repr([s])
    assert s.reveal() == "sk-live-123456789"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_prices_of_snapshots() -> None:
    from t2v_api.models import price_for

    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o") == (2.5, 10.0)
    assert price_for("gemini-1.5-flash-002") == price_for("gemini-1.5-flash")
    assert price_for("gpt-4o-mini") == (0.15, 0.6)
    assert price_for("Qwen/Qwen2.5-VL-7B-Instruct") is None
