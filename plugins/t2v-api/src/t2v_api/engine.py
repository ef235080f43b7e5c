"""Concurrency, rate limiting, retries, usage accounting and secret redaction for hosted-model calls.

Nothing here knows a service: a backend turns one request into a reply or raises :class:`CallFailed`
saying what kind of failure it was, and :func:`run_requests` decides about retries.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

#: kinds of failure; retryable ones are retried with backoff, fatal ones stop the whole call.
#: ``missing_logprobs`` is one reply without log-probabilities: retried, and only a run of them before any
#: reply with log-probabilities (:data:`NO_LOGPROBS_AFTER`) says the model refuses them (``no_logprobs``)
RETRYABLE = frozenset({"rate_limit", "server", "timeout", "connection", "bad_reply", "missing_logprobs"})
#: how many replies without log-probabilities, before any with them, prove that a model does not return them
NO_LOGPROBS_AFTER = 3
FATAL = frozenset({"auth", "no_logprobs", "not_found", "quota"})


class CallFailed(Exception):
    """One request failed. ``kind`` decides what happens next (retry, record, or stop everything)."""

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL


# ---------------------------------------------------------------------------------------------- secrets
_KEY_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-*.]{4,}"),       # OpenAI keys, also partly masked ones
    re.compile(r"AIza[0-9A-Za-z_\-]{10,}"),       # Google API keys
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|\bkey|x-goog-api-key)['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9_\-.~+/]{8,}"),
)


def redact(text: str, secrets: Sequence[str | None] = ()) -> str:
    """``text`` with the given secrets and anything shaped like an API key replaced by ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    for p in _KEY_PATTERNS:
        text = p.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class Secret:
    """A string that never shows itself in ``repr``/``str``/logs; ``reveal()`` gives the value to a client."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value

    def reveal(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret(None)"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling a scorer must not write the key either
        raise TypeError("an API key is not picklable; pass it again (or set the environment variable)")


# ---------------------------------------------------------------------------------------------- retry-after
def parse_retry_after(headers: Any, body: Any = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date), or Google's RetryInfo."""
    get = (lambda k: headers.get(k)) if headers is not None else (lambda k: None)
    try:
        ms = get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
    except (TypeError, ValueError):
        pass
    ra = get("retry-after")
    if ra is not None:
        try:
            return max(0.0, float(ra))
        except (TypeError, ValueError):
            try:
                when = email.utils.parsedate_to_datetime(str(ra))
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                pass
    # Google puts the delay in the error body: {"error": {"details": [{"@type": ...RetryInfo, "retryDelay": "3s"}]}}
    err = body.get("error") if isinstance(body, dict) else None
    for d in (err or {}).get("details", []) if isinstance(err, dict) else []:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("RetryInfo"):
            m = re.fullmatch(r"([0-9.]+)s", str(d.get("retryDelay", "")))
            if m:
                return float(m.group(1))
    return None


# ---------------------------------------------------------------------------------------------- policy
@dataclass
class RetryPolicy:
    """How hard to try one request.

    Attributes:
        max_retries: retries after the first attempt for retryable failures (429, 5xx, timeouts, bad replies).
        backoff_base / backoff_max: exponential backoff ``min(max, base * 2**n)`` seconds, with "equal jitter"
            (half fixed, half random) so that concurrent requests do not retry in lockstep.
        max_retry_wait: the longest ``Retry-After`` honoured; a longer one fails the pair (kind rate_limit)
            instead of stalling the run.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_wait: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        cap = min(self.backoff_max, self.backoff_base * 2 ** attempt)
        backoff = cap / 2 + rng.uniform(0, cap / 2)
        if retry_after is not None:
            # honour the server's wait exactly, plus a little spread so waiting requests do not return at once
            return retry_after + rng.uniform(0, 0.1 * retry_after + 0.01)
        return backoff


class RateLimiter:
    """Spaces request starts at least ``60 / requests_per_minute`` apart, and pauses everyone after a 429.

    State is plain numbers on the monotonic clock, so one limiter serves successive event loops.
    """

    def __init__(self, requests_per_minute: float | None = None) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute!r}")
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request start for ``seconds`` (the service said it is overloaded)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        """Wait out any pause, then take the next start slot."""
        while True:
            with self._lock:
                now = time.monotonic()
                if now >= self._paused_until:
                    start = max(now, self._next)
                    self._next = start + self.interval
                    break
                wait = self._paused_until - now
            await asyncio.sleep(wait)
        if start > now:
            await asyncio.sleep(start - now)


# ---------------------------------------------------------------------------------------------- usage
@dataclass
class Usage:
    """Tokens, requests and an estimated cost, for one run or added up over many.

    ``cost_usd`` is an estimate from list prices (``price_per_mtok``: USD per million input / output
    tokens); ``None`` when the model's price is unknown.
    """

    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    price_per_mtok: tuple[float, float] | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float | None:
        if self.price_per_mtok is None:
            return None
        pin, pout = self.price_per_mtok
        return (self.input_tokens * pin + self.output_tokens * pout) / 1e6

    def add(self, other: Usage) -> None:
        """Add another run's counts into this one."""
        for f in ("requests", "succeeded", "failed", "retries", "input_tokens", "output_tokens"):
            setattr(self, f, getattr(self, f) + getattr(other, f))

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "succeeded": self.succeeded, "failed": self.failed,
                "retries": self.retries, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens, "cost_usd": self.cost_usd}

    def __str__(self) -> str:
        cost = "unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return (f"{self.requests} requests ({self.succeeded} ok, {self.failed} failed, {self.retries} retries), "
                f"{self.input_tokens} input + {self.output_tokens} output tokens, estimated cost {cost}")


# ---------------------------------------------------------------------------------------------- running
@dataclass
class Outcome:
    """The result of one job: ``value`` on success, else ``error`` (a CallFailed) and attempts made."""

    value: Any = None
    error: CallFailed | None = None
    attempts: int = 0
    skipped: bool = False  # never sent, because a fatal error stopped the call
    index: int = -1  # the job's position in the list given to run_requests


@dataclass
class RunState:
    """Shared between the jobs of one call."""

    usage: Usage
    fatal: CallFailed | None = None
    verified: bool = False
    #: replies without log-probabilities seen while none with them had been (see NO_LOGPROBS_AFTER)
    missing_logprobs: int = 0
    rng: random.Random = field(default_factory=random.Random)


async def _attempt_job(send: Callable[[], Awaitable[T]], policy: RetryPolicy, limiter: RateLimiter,
                       state: RunState) -> Outcome:
    attempt = 0
    while True:
        if state.fatal is not None:
            return Outcome(error=state.fatal, attempts=attempt, skipped=attempt == 0)
        await limiter.acquire()
        state.usage.requests += 1
        try:
            value = await send()
        except CallFailed as e:
            attempt += 1
            if e.fatal:
                state.fatal = state.fatal or e
                return Outcome(error=e, attempts=attempt)
            if not e.retryable or attempt > policy.max_retries:
                return Outcome(error=e, attempts=attempt)
            if e.retry_after is not None and e.retry_after > policy.max_retry_wait:
                return Outcome(error=CallFailed(e.kind, f"{e.message} (the service asked to wait {e.retry_after:g} s, "
                                                f"more than max_retry_wait={policy.max_retry_wait:g} s)",
                                                status=e.status, retry_after=e.retry_after), attempts=attempt)
            if e.kind == "rate_limit" and e.retry_after is not None:
                limiter.pause(e.retry_after)
            state.usage.retries += 1
            await asyncio.sleep(policy.delay(attempt - 1, e.retry_after, state.rng))
            continue
        return Outcome(value=value, attempts=attempt + 1)


async def run_requests(jobs: Sequence[Callable[[], Awaitable[T]]], *, concurrency: int, policy: RetryPolicy,
                       limiter: RateLimiter, state: RunState,
                       on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every job with retries, at most ``concurrency`` at once, and return their outcomes in order.

    Until a first reply has been verified (``state.verified``, set by the backend's caller), jobs go one at a
    time: a rejected key or a model without log-probabilities is found with one request, not a burst.
    A fatal failure stops sending; jobs not yet sent come back ``skipped``. ``on_done`` sees each outcome
    as it arrives (``outcome.index`` says which job): a progress bar, or storing each result at once.
    """
    outcomes: list[Outcome | None] = [None] * len(jobs)
    done = on_done or (lambda oc: None)
    k = 0
    while k < len(jobs) and not state.verified and state.fatal is None:
        outcomes[k] = await _attempt_job(jobs[k], policy, limiter, state)
        outcomes[k].index = k  # type: ignore[union-attr]
        done(outcomes[k])  # type: ignore[arg-type]
        k += 1
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(idx: int) -> None:
        async with sem:
            outcomes[idx] = await _attempt_job(jobs[idx], policy, limiter, state)
            outcomes[idx].index = idx  # type: ignore[union-attr]
            done(outcomes[idx])  # type: ignore[arg-type]

    if k < len(jobs):
        await asyncio.gather(*(one(i) for i in range(k, len(jobs))))
    return [o if o is not None else Outcome(error=state.fatal, skipped=True) for o in outcomes]


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=1) as ex:  # a loop already runs in this thread: use another one
        return ex.submit(lambda: asyncio.run(factory())).result()  # type: ignore[arg-type]
