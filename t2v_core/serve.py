"""``t2v serve``: an HTTP JSON scoring server for reward loops and services, on FastAPI + uvicorn.

One model per server. Requests that arrive close together are coalesced into whole-call batches (up to
``max_batch`` pairs, waiting at most ``max_wait_ms`` for more), the same (media, text) pair asked for twice
while it is in flight is computed once, and every score goes through a score store (an in-memory one unless
``store=`` names a file), so a pair asked again later costs nothing. A full queue answers 429 with
``Retry-After``; a pair whose media cannot be loaded fails alone, with the error naming it.

    t2v serve --model clip-flant5-xxl --port 8000 --store scores.sqlite

    POST /score   {"pairs": [{"media": "https://.../a.png", "text": "a cat"},
                             {"media_base64": "<png bytes>", "text": "a dog"}],
                   "question_template": null, "answer_template": null, "options": {}}
    ->            {"model": "...", "results": [{"score": 0.91, "error": null, "note": null}, ...]}
    GET /health, GET /models, GET /metrics

Needs ``pip install 't2v-core[serve]'`` (fastapi, uvicorn, httpx).
"""

# no `from __future__ import annotations`: FastAPI reads the request models of create_app from real annotations

import asyncio
import base64
import binascii
import collections
import concurrent.futures
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MediaError, T2VError
from .frontend import Score, _Run
from .media import Media
from .store import ScoreStore

#: the most pairs one request may carry
MAX_PAIRS_PER_REQUEST = 1024


@dataclass
class _Pending:
    """One distinct pair waiting to be scored, and every caller waiting for it."""

    settings: str
    media: Media
    text: str
    future: asyncio.Future[dict[str, Any]]
    enqueued: float = field(default_factory=time.perf_counter)


class Metrics:
    """Counters of a running server (what ``GET /metrics`` returns)."""

    def __init__(self, window: int = 2048) -> None:
        self.requests = 0
        self.rejected = 0
        self.pairs = 0
        self.computed = 0
        self.cache_hits = 0
        self.deduplicated = 0
        self.failed = 0
        self.batches = 0
        self.batch_sizes: collections.deque[int] = collections.deque(maxlen=window)
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=window)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly snapshot, with batch-size and latency summaries over the recent window."""
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, math.ceil(p / 100 * len(lat)) - 1)], 3) if lat else None

        sizes = list(self.batch_sizes)
        return {
            "requests": self.requests, "rejected": self.rejected, "pairs": self.pairs, "computed": self.computed,
            "cache_hits": self.cache_hits, "deduplicated": self.deduplicated, "failed": self.failed,
            "batches": self.batches,
            "batch_size": {"mean": round(sum(sizes) / len(sizes), 3) if sizes else None,
                           "max": max(sizes) if sizes else None},
            "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99)},
        }


class RequestError(T2VError, ValueError):
    """A request the server refuses as a whole (HTTP 400): bad templates or options, too many pairs."""


class QueueFullError(T2VError, RuntimeError):
    """The queue has no room for a request (HTTP 429); ``retry_after`` is the suggested wait in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ScoringService:
    """The batching engine behind the server, usable without HTTP (tests, notebooks, custom servers).

    Args:
        score: a built scorer (``t2v_core.get_score_model(...)``).
        store: a :class:`ScoreStore` or a path; ``None`` keeps scores in memory for the server's lifetime.
        max_batch: the most pairs handed to the scorer at once.
        max_wait_ms: how long the first pair of a batch waits for others to join it.
        max_queue: the most distinct pairs waiting; a request that would exceed it gets 429.
        media_root: a folder under which requests may name server-side paths; ``None`` refuses paths.
        allow_urls: whether requests may give http(s) URLs for the server to fetch.
    """

    def __init__(self, score: Score, store: ScoreStore | str | Path | None = None, *, max_batch: int = 64,
                 max_wait_ms: float = 5.0, max_queue: int = 4096, media_root: str | Path | None = None,
                 allow_urls: bool = True) -> None:
        for name, value, low in (("max_batch", max_batch, 1), ("max_queue", max_queue, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if not isinstance(max_wait_ms, (int, float)) or max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be a number >= 0, got {max_wait_ms!r}")
        self.score = score
        self.store = store if isinstance(store, ScoreStore) else ScoreStore(store if store is not None else ":memory:")
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.media_root = Path(media_root).resolve() if media_root is not None else None
        self.allow_urls = allow_urls
        self.metrics = Metrics()
        self._runs: dict[str, tuple[_Run, dict[str, Any]]] = {}
        self._inflight: dict[tuple[str, str, str], _Pending] = {}
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        # the model runs in one thread: a scorer is not made to be called from several at once
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="t2v-score")
        self._pairs_per_s = 0.0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the batching loop (on the running event loop)."""
        if self._worker is None:
            self._wakeup = asyncio.Event()
            self._worker = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the batching loop; pairs still queued fail with a shutdown error."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._queue:
            p = self._queue.popleft()
            if not p.future.done():
                p.future.set_result({"score": None, "error": "the server shut down before scoring this pair",
                                     "note": None})
        self._executor.shutdown(wait=False)

    # ------------------------------------------------------------------ requests
    def _settings(self, question_template: str | None, answer_template: str | None,
                  options: dict[str, Any]) -> str:
        """Validate a request's templates and options; returns the key of its run (same key: same batch)."""
        try:
            self.score.model.templates(question_template, answer_template)
            resolved = self.score.model.resolve_options(**options)
        except (T2VError, TypeError, ValueError) as e:
            raise RequestError(str(e)) from e
        key = json.dumps([question_template, answer_template, resolved], sort_keys=True, default=str)
        if key not in self._runs:
            self._runs[key] = (self.score.open_run(self.store, question_template, answer_template, resolved), resolved)
        return key

    def _load(self, index: int, pair: dict[str, Any]) -> Media:
        """Load the media of request pair ``index``; a :class:`MediaError` names the pair."""
        given = [k for k in ("media", "media_base64") if pair.get(k) is not None]
        if len(given) != 1:
            raise MediaError(f"pair {index}: give exactly one of 'media' (a URL or server-side path) or "
                             f"'media_base64' (the file's bytes, base64), got {sorted(given) or 'neither'}")
        if given[0] == "media_base64":
            try:
                item: Any = base64.b64decode(pair["media_base64"], validate=True)
            except (binascii.Error, ValueError, TypeError) as e:
                raise MediaError(f"pair {index}: 'media_base64' is not valid base64 ({e})") from e
        else:
            item = pair["media"]
            if not isinstance(item, str) or not item.strip():
                raise MediaError(f"pair {index}: 'media' must be a non-empty string (a URL or server-side path)")
            if item.startswith(("http://", "https://")):
                if not self.allow_urls:
                    raise MediaError(f"pair {index}: this server does not fetch URLs ({item!r}); send the file's "
                                     "bytes as 'media_base64'")
            else:
                if self.media_root is None:
                    raise MediaError(f"pair {index}: server-side paths are off ({item!r}); send the file's bytes "
                                     "as 'media_base64', or start the server with --media-root DIR")
                path = (self.media_root / item).resolve()
                if not path.is_relative_to(self.media_root):
                    raise MediaError(f"pair {index}: path {item!r} is outside the server's media root")
                item = str(path)
        try:
            return self.score.model.load_media([item])[0]
        except MediaError as e:
            raise MediaError(f"pair {index}: {e}") from e

    async def submit(self, pairs: list[dict[str, Any]], question_template: str | None = None,
                     answer_template: str | None = None, options: dict[str, Any] | None = None
                     ) -> list[dict[str, Any]]:
        """Score a request's pairs; one ``{"score", "error", "note"}`` per pair, in order.

        Raises :class:`RequestError` for a request refused as a whole and :class:`QueueFullError` when the
        queue cannot take it; a pair whose media cannot be loaded gets its error, the others are scored.
        """
        await self.start()
        t0 = time.perf_counter()
        self.metrics.requests += 1
        if not isinstance(pairs, list) or not pairs:
            raise RequestError("'pairs' must be a non-empty list of {'media' or 'media_base64', 'text'}")
        if len(pairs) > MAX_PAIRS_PER_REQUEST:
            raise RequestError(f"a request may carry at most {MAX_PAIRS_PER_REQUEST} pairs, got {len(pairs)}")
        for k, p in enumerate(pairs):
            if not isinstance(p, dict) or not isinstance(p.get("text"), str):
                raise RequestError(f"pair {k} must be an object with a string 'text', got {p!r:.200}")
        settings = self._settings(question_template, answer_template, dict(options or {}))
        fresh = len(pairs)  # an upper bound: duplicates and stored pairs take no room in the end
        if len(self._queue) + fresh > self.max_queue:
            self.metrics.rejected += 1
            wait = max(1, math.ceil((len(self._queue) + fresh) / self._pairs_per_s)) if self._pairs_per_s else 1
            raise QueueFullError(f"the queue is full ({len(self._queue)} pairs waiting, limit {self.max_queue}); "
                                 f"retry in {wait} s", retry_after=wait)
        self.metrics.pairs += len(pairs)
        loaded = await asyncio.gather(*(asyncio.to_thread(self._load, k, p) for k, p in enumerate(pairs)),
                                      return_exceptions=True)
        waits: list[asyncio.Future[dict[str, Any]] | dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        for pair, media in zip(pairs, loaded):
            if isinstance(media, BaseException):
                if not isinstance(media, MediaError):
                    raise media
                self.metrics.failed += 1
                waits.append({"score": None, "error": str(media), "note": None})
                continue
            key = (settings, media.hash, pair["text"])
            pending = self._inflight.get(key)
            if pending is not None:
                self.metrics.deduplicated += 1
            else:
                pending = _Pending(settings, media, pair["text"], loop.create_future())
                self._inflight[key] = pending
                self._queue.append(pending)
            waits.append(pending.future)
        assert self._wakeup is not None
        self._wakeup.set()
        results = [w if isinstance(w, dict) else await asyncio.shield(w) for w in waits]
        self.metrics.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
        return results

    # ------------------------------------------------------------------ batching loop
    async def _loop(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # give the first pair's neighbours max_wait to arrive, unless a full batch is already there
            deadline = self._queue[0].enqueued + self.max_wait_s
            while len(self._queue) < self.max_batch and (left := deadline - time.perf_counter()) > 0:
                self._wakeup.clear()
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=left)
                except asyncio.TimeoutError:
                    break
            settings = self._queue[0].settings
            batch: list[_Pending] = []
            kept: collections.deque[_Pending] = collections.deque()
            while self._queue:
                p = self._queue.popleft()
                (batch if p.settings == settings and len(batch) < self.max_batch else kept).append(p)
            self._queue = kept
            t0 = time.perf_counter()
            try:
                outcomes = await loop.run_in_executor(self._executor, self._score_batch, settings, batch)
            except Exception as e:  # a scorer crash fails this batch's pairs, the server goes on
                outcomes = [{"score": None, "error": f"scoring failed: {type(e).__name__}: {e}", "note": None}
                            for _ in batch]
            elapsed = max(time.perf_counter() - t0, 1e-6)
            self._pairs_per_s = 0.8 * self._pairs_per_s + 0.2 * (len(batch) / elapsed) if self._pairs_per_s \
                else len(batch) / elapsed
            for p, outcome in zip(batch, outcomes):
                self._inflight.pop((p.settings, p.media.hash, p.text), None)
                if outcome["error"] is not None:
                    self.metrics.failed += 1
                if not p.future.done():
                    p.future.set_result(outcome)

    def _score_batch(self, settings: str, batch: list[_Pending]) -> list[dict[str, Any]]:
        """Score one batch (in the scoring thread): pairs grouped by media, through the store-aware run."""
        run, _ = self._runs[settings]
        by_media: dict[str, tuple[Media, list[str]]] = {}
        for p in batch:
            by_media.setdefault(p.media.hash, (p.media, []))[1].append(p.text)
        samples = [([m], list(dict.fromkeys(texts))) for m, texts in by_media.values()]
        computed, reused = run.computed, run.reused
        results = run.score_many(samples)
        run.finish()  # pairs another process sharing the store was computing
        self.metrics.computed += run.computed - computed
        self.metrics.cache_hits += run.reused - reused
        self.metrics.batches += 1
        self.metrics.batch_sizes.append(run.computed - computed)
        where: dict[tuple[str, str], dict[str, Any]] = {}
        for (media, texts), result in zip(samples, results):
            failed = {f.text_index: f.error for f in result.failures}
            noted = {n.text_index: {"kind": n.kind, "message": n.message} for n in result.notes}
            for j, text in enumerate(texts):
                error = failed.get(j)
                value = float(result.scores[0, j])
                where[(media[0].hash, text)] = {"score": None if error or math.isnan(value) else value,
                                                "error": error, "note": noted.get(j)}
        return [where[(p.media.hash, p.text)] for p in batch]


def create_app(service: ScoringService) -> Any:
    """The FastAPI application serving ``service``."""
    try:
        from fastapi import FastAPI, HTTPException
        from fastapi.responses import JSONResponse
        from pydantic import BaseModel, Field
    except ImportError as e:
        raise ModuleNotFoundError("t2v serve needs fastapi and uvicorn: pip install 't2v-core[serve]'") from e
    from contextlib import asynccontextmanager

    class PairIn(BaseModel):
        media: str | None = Field(None, description="an http(s) URL, or a path under the server's --media-root")
        media_base64: str | None = Field(None, description="the media file's bytes, base64-encoded")
        text: str

    class ScoreRequest(BaseModel):
        pairs: list[PairIn] = Field(..., min_length=1, max_length=MAX_PAIRS_PER_REQUEST)
        question_template: str | None = None
        answer_template: str | None = None
        options: dict[str, Any] = Field(default_factory=dict)

    @asynccontextmanager
    async def lifespan(app: Any):  # type: ignore[no-untyped-def]
        await service.start()
        yield
        await service.stop()

    app = FastAPI(title="t2v", description="Score how well images and videos match texts.", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": service.score.spec.name, "queued": len(service._queue)}

    @app.get("/models")
    async def models() -> dict[str, Any]:
        spec = service.score.spec
        return {"models": [{**spec.as_dict(), "provenance": service.score.provenance}]}

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        return {**service.metrics.as_dict(), "queued": len(service._queue)}

    @app.post("/score")
    async def score(req: ScoreRequest) -> Any:
        try:
            results = await service.submit([p.model_dump() for p in req.pairs], req.question_template,
                                           req.answer_template, req.options)
        except QueueFullError as e:
            return JSONResponse(status_code=429, content={"detail": str(e)},
                                headers={"Retry-After": str(e.retry_after)})
        except RequestError as e:
            raise HTTPException(status_code=400, detail=str(e)) from e
        return {"model": service.score.spec.name, "results": results}

    return app


def serve(score: Score, *, host: str = "127.0.0.1", port: int = 8000, store: str | Path | None = None,
          max_batch: int = 64, max_wait_ms: float = 5.0, max_queue: int = 4096,
          media_root: str | Path | None = None, allow_urls: bool = True, log_level: str = "info") -> None:
    """Run the server until interrupted (what ``t2v serve`` calls)."""
    try:
        import uvicorn
    except ImportError as e:
        raise ModuleNotFoundError("t2v serve needs fastapi and uvicorn: pip install 't2v-core[serve]'") from e
    service = ScoringService(score, store, max_batch=max_batch, max_wait_ms=max_wait_ms, max_queue=max_queue,
                             media_root=media_root, allow_urls=allow_urls)
    uvicorn.run(create_app(service), host=host, port=port, log_level=log_level)
