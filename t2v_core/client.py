"""A small client for ``t2v serve``: sync (:class:`ScoreClient`) and async (:class:`AsyncScoreClient`).

    from t2v_core.client import ScoreClient
    client = ScoreClient("http://127.0.0.1:8000")
    client.score([("a.png", "a red cube"), ("https://example.com/b.jpg", "two dogs")])   # [0.93, 0.12]

Media: ``bytes``, a PIL image or a :class:`pathlib.Path` are sent as bytes (the file is read here); a ``str``
is an http(s) URL or a path on the server (under its ``--media-root``). A 429 is retried after the server's
``Retry-After``, up to ``max_retries`` times. Needs httpx (``pip install 't2v-core[serve]'``).
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ScoringError, T2VError


class ServerError(T2VError, RuntimeError):
    """The server refused a request (``status`` is the HTTP status; the message is the server's detail)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as e:
        raise ModuleNotFoundError("the t2v client needs httpx: pip install 't2v-core[serve]'") from e
    return httpx


def encode_pair(media: Any, text: str) -> dict[str, Any]:
    """One pair as the server takes it (see the module docstring for how media are sent)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if isinstance(media, str):
        return {"media": media, "text": text}
    if isinstance(media, Path):
        media = media.read_bytes()
    elif hasattr(media, "save") and hasattr(media, "mode"):  # a PIL image
        buf = io.BytesIO()
        media.save(buf, format="PNG")
        media = buf.getvalue()
    if not isinstance(media, (bytes, bytearray)):
        raise TypeError(f"media must be bytes, a PIL image, a Path or a str (URL or server path), got "
                        f"{type(media).__name__}")
    return {"media_base64": base64.b64encode(bytes(media)).decode(), "text": text}


def _body(pairs: Sequence[tuple[Any, str]], question_template: str | None, answer_template: str | None,
          options: dict[str, Any] | None) -> dict[str, Any]:
    return {"pairs": [encode_pair(m, t) for m, t in pairs], "question_template": question_template,
            "answer_template": answer_template, "options": dict(options or {})}


def _results(response: Any, on_error: str) -> list[float]:
    if response.status_code != 200:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        raise ServerError(f"the server answered {response.status_code}: {detail}", response.status_code)
    results = response.json()["results"]
    scores = [float("nan") if r["score"] is None else float(r["score"]) for r in results]
    failed = [(k, r["error"]) for k, r in enumerate(results) if r["error"] is not None]
    if failed and on_error == "raise":
        raise ScoringError(f"{len(failed)} of {len(results)} pairs failed; first: pair {failed[0][0]}: "
                           f"{failed[0][1]}", failures=failed, scores=scores)
    return scores


class ScoreClient:
    """Blocking client. ``score`` returns one float per pair (NaN for a failed pair with ``on_error="nan"``)."""

    def __init__(self, url: str = "http://127.0.0.1:8000", timeout: float = 300.0, max_retries: int = 5) -> None:
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        self._client = _httpx().Client(timeout=timeout)

    def score(self, pairs: Sequence[tuple[Any, str]], question_template: str | None = None,
              answer_template: str | None = None, options: dict[str, Any] | None = None,
              on_error: str = "raise") -> list[float]:
        """Score ``(media, text)`` pairs on the server."""
        body = _body(pairs, question_template, answer_template, options)
        for attempt in range(self.max_retries + 1):
            response = self._client.post(f"{self.url}/score", json=body)
            if response.status_code != 429 or attempt == self.max_retries:
                return _results(response, on_error)
            time.sleep(float(response.headers.get("Retry-After", 1)))
        raise AssertionError("unreachable")

    def raw(self, body: dict[str, Any]) -> Any:
        """POST a hand-made body to ``/score`` and return the httpx response (for tests and debugging)."""
        return self._client.post(f"{self.url}/score", json=body)

    def health(self) -> dict[str, Any]:
        """``GET /health``."""
        return dict(self._client.get(f"{self.url}/health").json())

    def metrics(self) -> dict[str, Any]:
        """``GET /metrics``."""
        return dict(self._client.get(f"{self.url}/metrics").json())

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> ScoreClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncScoreClient:
    """The same as :class:`ScoreClient`, for asyncio code (an RL loop's reward function, for example)."""

    def __init__(self, url: str = "http://127.0.0.1:8000", timeout: float = 300.0, max_retries: int = 5) -> None:
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        self._client = _httpx().AsyncClient(timeout=timeout)

    async def score(self, pairs: Sequence[tuple[Any, str]], question_template: str | None = None,
                    answer_template: str | None = None, options: dict[str, Any] | None = None,
                    on_error: str = "raise") -> list[float]:
        """Score ``(media, text)`` pairs on the server."""
        body = _body(pairs, question_template, answer_template, options)
        for attempt in range(self.max_retries + 1):
            response = await self._client.post(f"{self.url}/score", json=body)
            if response.status_code != 429 or attempt == self.max_retries:
                return _results(response, on_error)
            await asyncio.sleep(float(response.headers.get("Retry-After", 1)))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> AsyncScoreClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
