"""A fake hosted-model server for tests and benchmarks, speaking the real wire protocols on 127.0.0.1.

One server answers both OpenAI chat completions (``POST /v1/chat/completions`` with ``logprobs``) and
Gemini ``generateContent`` (``POST /{v1,v1beta}/models/{model}:generateContent`` with ``logprobsResult``),
so the official clients can be pointed at it unchanged::

    with FakeModelServer(latency=0.1) as server:
        score = t2v_core.VQAScore(model="gpt-4o", api_key="sk-test", base_url=server.openai_base_url)
        score = t2v_core.VQAScore(model="gemini-2.5-flash", api_key="test", base_url=server.url)

The answer distribution of every request is a deterministic function of the image bytes and the prompt text
(:func:`default_distribution`), so a test knows the true probability of "Yes" (:meth:`FakeModelServer.truth`)
without reading the scorer's code. Faults (429 with ``Retry-After``, 500, timeouts, malformed bodies) are
injected from a script (``server.script(["429", "ok"])``) or at random (``fault_rate``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: fault names understood by :meth:`FakeModelServer.script` and ``fault_kinds``
#: ("no_logprobs": one well-formed reply that carries no log-probabilities)
FAULTS = ("429", "500", "503", "timeout", "malformed", "401", "no_logprobs")

_FILLERS = ["I", "The", "This", "Maybe", "Sorry", "It", "There", "A", "In", "Based", "Looking", "Both",
            "Unfortunately", "Certainly", "Image", "Not", "Possibly", "Hmm", "Well", "From", "Here", "Given",
            "To", "As", "We"]


@dataclass
class Candidate:
    """One token of the fake model's first-token distribution."""

    token: str
    prob: float


@dataclass
class Truth:
    """What the fake model believes: the total probability of each answer family, by construction."""

    yes: float
    no: float
    candidates: list[Candidate]


def _unit(*parts: bytes) -> float:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return int.from_bytes(h.digest()[:8], "little") / 2.0 ** 64


def default_distribution(images: Sequence[bytes], prompt: str) -> Truth:
    """The first-token distribution for a request, fixed by the media bytes and the prompt text.

    P(yes family) lies in [0.02, 0.97] and is split over the tokens "Yes", " yes" and "YES" (which a scorer
    must add up); "Yes." is a decoy that differs by punctuation and does not count. P(no family) takes most
    of the rest ("No", " no"); 25 filler tokens share the remainder, so a request for the top 20 leaves some
    mass unreturned.
    """
    u = _unit(*images, prompt.encode())
    yes = 0.02 + 0.95 * u
    rest = 1.0 - yes
    decoy = 0.002 * rest
    no = 0.9 * rest
    filler_total = rest - no - decoy
    weights = [0.5 ** (k / 3) for k in range(len(_FILLERS))]
    cands = [Candidate("Yes", 0.7 * yes), Candidate(" yes", 0.2 * yes), Candidate("YES", 0.1 * yes),
             Candidate("No", 0.8 * no), Candidate(" no", 0.2 * no), Candidate("Yes.", decoy)]
    cands += [Candidate(t, filler_total * w / sum(weights)) for t, w in zip(_FILLERS, weights)]
    cands.sort(key=lambda c: -c.prob)
    return Truth(yes=yes, no=no, candidates=cands)


def absent_distribution(images: Sequence[bytes], prompt: str) -> Truth:
    """A distribution whose "Yes" family ranks below the 20th candidate (the answer is never returned)."""
    base = default_distribution(images, prompt)
    yes = 1e-6 * (1 + _unit(*images, prompt.encode()))
    others = [c for c in base.candidates if c.token.strip().lower() != "yes"]
    total = sum(c.prob for c in others)
    scale = (1.0 - yes) / total
    cands = [Candidate(c.token, c.prob * scale) for c in others] + [Candidate("Yes", yes)]
    cands.sort(key=lambda c: -c.prob)
    assert [c.token for c in cands].index("Yes") >= 20
    no = sum(c.prob for c in cands if c.token.strip().lower() == "no")
    return Truth(yes=yes, no=no, candidates=cands)


@dataclass
class RecordedRequest:
    """A request the fake server received, decoded (the API key is not kept)."""

    protocol: str  # "openai" or "gemini"
    model: str
    prompt: str
    media: list[tuple[str, bytes]]  # (mime type, raw bytes)
    top_logprobs: int | None
    body: dict[str, Any]
    fault: str | None = None
    time: float = field(default_factory=time.monotonic)


class FakeModelServer:
    """A threaded HTTP server on 127.0.0.1 that fakes OpenAI and Gemini VQA replies with log-probabilities.

    Args:
        latency: seconds every request waits before answering (models the service's latency).
        api_keys: keys accepted; any other key gets the service's real "invalid key" reply.
        distribution: ``fn(media_bytes, prompt) -> Truth``; :func:`default_distribution` by default.
        refuse_logprobs: model names that refuse log-probabilities; ``refuse_mode`` "error" answers 400 as
            the services do, "silent" answers 200 without any log-probabilities.
        fault_rate / fault_kinds / seed: inject a random fault from ``fault_kinds`` into that share of requests.
        retry_after: the ``Retry-After`` seconds sent with a 429 (``None`` to send none).
        timeout_sleep: how long a "timeout" fault keeps the client waiting.
        echo_key_in_errors: put the rejected key in the 401 message, as some services do (to test redaction).
    """

    def __init__(self, *, latency: float = 0.0, api_keys: Iterable[str] = ("test-key",),
                 distribution: Callable[[Sequence[bytes], str], Truth] = default_distribution,
                 refuse_logprobs: Iterable[str] = (), refuse_mode: str = "error", fault_rate: float = 0.0,
                 fault_kinds: Sequence[str] = ("429", "500", "timeout", "malformed"), seed: int = 0,
                 retry_after: float | None = 0.05, timeout_sleep: float = 3.0,
                 echo_key_in_errors: bool = True) -> None:
        bad = [k for k in fault_kinds if k not in FAULTS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; expected some of {FAULTS}")
        self.latency = latency
        self.api_keys = set(api_keys)
        self.distribution = distribution
        self.refuse_logprobs = set(refuse_logprobs)
        self.refuse_mode = refuse_mode
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        self.retry_after = retry_after
        self.timeout_sleep = timeout_sleep
        self.echo_key_in_errors = echo_key_in_errors
        self.requests: list[RecordedRequest] = []
        #: requests the fake could not parse (a test asserts this stays empty)
        self.errors: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._rng = random.Random(seed)
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeModelServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        server = self

        class Handler(_Handler):
            fake = server

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 256  # the default 5 refuses bursts of concurrent connects

            def handle_error(self, request: Any, client_address: Any) -> None:
                # a client killed or timed out mid-request (the kill tests do it on purpose): nothing to report
                if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    return
                super().handle_error(request, client_address)

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (Gemini's ``base_url``)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` (OpenAI's ``base_url``)."""
        return self.url + "/v1"

    # ------------------------------------------------------------------ behaviour
    def script(self, faults: Iterable[str]) -> None:
        """Queue faults for the next requests, in arrival order; ``"ok"`` answers normally."""
        for f in faults:
            if f != "ok" and f not in FAULTS:
                raise ValueError(f"unknown fault {f!r}; expected 'ok' or one of {FAULTS}")
            self._script.append(f)

    def reset(self) -> None:
        """Forget recorded requests and queued faults."""
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self.max_in_flight = 0

    def truth(self, media: Sequence[bytes], prompt: str) -> Truth:
        """The distribution the server uses for these media bytes and prompt."""
        return self.distribution(media, prompt)

    def truth_of(self, request: RecordedRequest) -> Truth:
        """The distribution the server used for a recorded request."""
        return self.distribution([b for _, b in request.media], request.prompt)

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._script:
                f = self._script.popleft()
                return None if f == "ok" else f
            if self.fault_rate and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -------------------------------------------------------------- plumbing
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        fake = self.fake
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "request body is not JSON", "code": 400}})
                return
            m = re.fullmatch(r"/(v1|v1beta|v1alpha)/models/([^/:]+):generateContent", self.path.split("?")[0])
            try:
                if self.path.split("?")[0] == "/v1/chat/completions":
                    self._openai(body)
                elif m:
                    self._gemini(m.group(2), body)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "code": 404}})
            except Exception as e:  # a request the fake cannot read: say so, and keep it for the test to see
                fake.errors.append(f"{type(e).__name__}: {e}")
                self._send(400, {"error": {"message": f"fake server cannot read the request: {e}", "code": 400}})
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _common_fault(self, fault: str | None, protocol: str) -> bool:
        """Answer a transient fault; True when the request has been answered."""
        fake = self.fake
        if fault == "timeout":
            time.sleep(fake.timeout_sleep)
            self._send(504, {"error": {"message": "late", "code": 504}})
            return True
        if fault in ("429", "500", "503"):
            status = int(fault)
            headers: dict[str, str] = {}
            body: dict[str, Any]
            if protocol == "openai":
                if status == 429 and fake.retry_after is not None:
                    headers["Retry-After"] = f"{fake.retry_after:g}"
                body = {"error": {"message": "Rate limit reached" if status == 429 else "The server had an error",
                                  "type": "rate_limit_error" if status == 429 else "server_error",
                                  "param": None, "code": None}}
            else:
                # Google sends the wait in the body (google.rpc.RetryInfo), not in a Retry-After header
                body = {"error": {"code": status, "message": "Resource has been exhausted" if status == 429
                                  else "Internal error encountered.",
                                  "status": "RESOURCE_EXHAUSTED" if status == 429 else "INTERNAL"}}
                if status == 429 and fake.retry_after is not None:
                    body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                 "retryDelay": f"{fake.retry_after:g}s"}]
            self._send(status, body, headers)
            return True
        if fault == "malformed":
            # a proxy's truncated reply: valid status and content type, body not JSON
            self._send(200, b'{"choices": [{"index": 0, "logprobs": {"content": [{"tok')
            return True
        return False

    # -------------------------------------------------------------- OpenAI
    def _openai(self, body: dict[str, Any]) -> None:
        fake = self.fake
        auth = self.headers.get("Authorization", "")
        key = auth[7:] if auth.startswith("Bearer ") else ""
        fault = fake._next_fault()
        if fault == "401" or key not in fake.api_keys:
            shown = key if fake.echo_key_in_errors else "***"
            self._send(401, {"error": {"message": f"Incorrect API key provided: {shown}.",
                                       "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
            return
        model = str(body.get("model", ""))
        prompt, media = _openai_content(body.get("messages", []))
        k = body.get("top_logprobs")
        rec = RecordedRequest("openai", model, prompt, media, k, body, fault)
        with fake._lock:
            fake.requests.append(rec)
        time.sleep(fake.latency)
        if self._common_fault(fault, "openai"):
            return
        if model in fake.refuse_logprobs and fake.refuse_mode == "error" and body.get("logprobs"):
            self._send(400, {"error": {"message": f"This model ({model}) does not support the 'logprobs' parameter.",
                                       "type": "invalid_request_error", "param": "logprobs",
                                       "code": "unsupported_parameter"}})
            return
        truth = fake.truth_of(rec)
        chosen = truth.candidates[0]
        top = truth.candidates[: int(k or 0)]
        logprobs: Any = None
        if body.get("logprobs") and model not in fake.refuse_logprobs and fault != "no_logprobs":
            logprobs = {"content": [{"token": chosen.token, "logprob": math.log(chosen.prob),
                                     "bytes": list(chosen.token.encode()),
                                     "top_logprobs": [{"token": c.token, "logprob": math.log(c.prob),
                                                       "bytes": list(c.token.encode())} for c in top]}],
                        "refusal": None}
        n_prompt = 10 + len(prompt.split()) + 85 * len(media)
        self._send(200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": chosen.token, "refusal": None},
                         "logprobs": logprobs, "finish_reason": "length"}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": 1, "total_tokens": n_prompt + 1},
            "system_fingerprint": "fp_fake",
        })

    # -------------------------------------------------------------- Gemini
    def _gemini(self, model: str, body: dict[str, Any]) -> None:
        fake = self.fake
        key = self.headers.get("x-goog-api-key", "")
        fault = fake._next_fault()
        if fault == "401" or key not in fake.api_keys:
            # Google answers an invalid key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID
            self._send(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                       "status": "INVALID_ARGUMENT",
                                       "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                    "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                                                    "metadata": {"service": "generativelanguage.googleapis.com",
                                                                 "key": key if fake.echo_key_in_errors else ""}}]}})
            return
        config = body.get("generationConfig") or body.get("generation_config") or {}
        want = _get(config, "responseLogprobs", "response_logprobs")
        k = _get(config, "logprobs")
        prompt, media = _gemini_content(body.get("contents", []))
        rec = RecordedRequest("gemini", model, prompt, media, k, body, fault)
        with fake._lock:
            fake.requests.append(rec)
        time.sleep(fake.latency)
        if self._common_fault(fault, "gemini"):
            return
        if model in fake.refuse_logprobs and fake.refuse_mode == "error" and want:
            self._send(400, {"error": {"code": 400, "message": f"Logprobs is not enabled for models/{model}",
                                       "status": "INVALID_ARGUMENT"}})
            return
        truth = fake.truth_of(rec)
        chosen = truth.candidates[0]
        cand: dict[str, Any] = {"content": {"parts": [{"text": chosen.token}], "role": "model"},
                                "finishReason": "MAX_TOKENS", "index": 0}
        if want and model not in fake.refuse_logprobs and fault != "no_logprobs":
            top = truth.candidates[: int(k or 0)]
            cand["avgLogprobs"] = math.log(chosen.prob)
            cand["logprobsResult"] = {
                "topCandidates": [{"candidates": [{"token": c.token, "tokenId": i, "logProbability": math.log(c.prob)}
                                                  for i, c in enumerate(top)]}],
                "chosenCandidates": [{"token": chosen.token, "tokenId": 0, "logProbability": math.log(chosen.prob)}],
            }
        n_prompt = 10 + len(prompt.split()) + 258 * len(media)
        self._send(200, {"candidates": [cand],
                         "usageMetadata": {"promptTokenCount": n_prompt, "candidatesTokenCount": 1,
                                           "totalTokenCount": n_prompt + 1},
                         "modelVersion": model, "responseId": "fake"})


def _get(d: dict[str, Any], *names: str) -> Any:
    # the google-genai client mixes camelCase and snake_case in nested objects
    for n in names:
        if n in d:
            return d[n]
    return None


def _b64(data: str) -> bytes:
    # google-genai sends URL-safe base64; accept both alphabets, with or without padding
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)


def _decode_data_url(url: str) -> tuple[str, bytes]:
    m = re.fullmatch(r"data:([^;,]+);base64,(.*)", url, flags=re.S)
    if not m:
        raise ValueError(f"image url is not a base64 data URL: {url[:40]!r}")
    return m.group(1), base64.b64decode(m.group(2), validate=True)


def _openai_content(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[str, bytes]]]:
    texts: list[str] = []
    media: list[tuple[str, bytes]] = []
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        for part in content or []:
            if part.get("type") == "text":
                texts.append(part["text"])
            elif part.get("type") == "image_url":
                media.append(_decode_data_url(part["image_url"]["url"]))
    return "\n".join(texts), media


def _gemini_content(contents: list[dict[str, Any]]) -> tuple[str, list[tuple[str, bytes]]]:
    texts: list[str] = []
    media: list[tuple[str, bytes]] = []
    for content in contents:
        for part in content.get("parts", []):
            if "text" in part:
                texts.append(part["text"])
            blob = _get(part, "inlineData", "inline_data")
            if blob:
                mime = _get(blob, "mimeType", "mime_type")
                media.append((str(mime), _b64(blob["data"])))
    return "\n".join(texts), media


__all__ = ["FakeModelServer", "RecordedRequest", "Truth", "Candidate", "default_distribution",
           "absent_distribution", "FAULTS"]
