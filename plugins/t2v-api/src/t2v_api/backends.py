"""One request to a hosted model: build it, send it through the official async client, read the reply.

A backend raises :class:`t2v_api.engine.CallFailed` for every failure, classified so the engine knows
whether to retry (429, 5xx, timeouts, malformed replies), to record the pair as failed (other 4xx), or to
stop the whole call (a rejected key, a model without log-probabilities, an unknown model).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

from .engine import CallFailed, Secret, parse_retry_after, redact


@dataclass
class MediaPart:
    """One encoded media item of a request: raw bytes and their MIME type, or a text part."""

    mime: str
    data: bytes
    fps: float | None = None  # for a native video part (Gemini)


@dataclass
class Reply:
    """What a scorer needs from a reply: the first output token's candidates and the token counts."""

    candidates: list[tuple[str, float]]
    input_tokens: int = 0
    output_tokens: int = 0


def _int(x: Any) -> int:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else 0


def _pairs(items: Any, token_key: str, logprob_key: str, where: str) -> list[tuple[str, float]]:
    if not isinstance(items, list):
        raise CallFailed("bad_reply", f"malformed reply: {where} is {type(items).__name__}, expected a list")
    out = []
    for c in items:
        if not isinstance(c, dict) or not isinstance(c.get(token_key), str) \
                or not isinstance(c.get(logprob_key), (int, float)) or isinstance(c.get(logprob_key), bool):
            raise CallFailed("bad_reply", f"malformed reply: a candidate in {where} lacks a string {token_key!r} "
                             f"and a numeric {logprob_key!r}: {str(c)[:120]}")
        out.append((c[token_key], float(c[logprob_key])))
    return out


class OpenAIBackend:
    """OpenAI chat completions (also any OpenAI-compatible server such as vLLM)."""

    service = "OpenAI"

    def __init__(self, *, model: str, api_key: Secret, base_url: str | None, timeout: float, top_logprobs: int,
                 image_detail: str | None, temperature: float | None, max_tokens: int,
                 extra_body: dict[str, Any] | None = None) -> None:
        self.model = model
        self._key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.top_logprobs = top_logprobs
        self.image_detail = image_detail
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.extra_body = extra_body or {}
        self.client: Any = None

    async def open(self) -> None:
        import openai

        # max_retries=0: the engine retries (with Retry-After, jitter, a shared pause and a per-pair record)
        self.client = openai.AsyncOpenAI(api_key=self._key.reveal(), base_url=self.base_url, timeout=self.timeout,
                                         max_retries=0)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    def build(self, parts: list[MediaPart], question: str, preamble: str | None,
              generate_tokens: int | None = None) -> dict[str, Any]:
        """The request; with ``generate_tokens`` a plain text generation (no log-probabilities)."""
        content: list[dict[str, Any]] = []
        if preamble:
            content.append({"type": "text", "text": preamble})
        for p in parts:
            url = {"url": f"data:{p.mime};base64,{base64.b64encode(p.data).decode()}"}
            if self.image_detail:
                url["detail"] = self.image_detail
            content.append({"type": "image_url", "image_url": url})
        content.append({"type": "text", "text": question})
        kwargs: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": content}]}
        if generate_tokens is None:
            kwargs.update(logprobs=True, top_logprobs=self.top_logprobs, max_tokens=self.max_tokens)
        else:
            kwargs.update(max_tokens=generate_tokens)
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return kwargs

    async def send(self, request: dict[str, Any]) -> Reply:
        """Send a scoring request; the reply's first-token candidates and token counts."""
        return self.parse(await self._post(request))

    async def send_text(self, request: dict[str, Any]) -> tuple[str, Reply]:
        """Send a generation request; the generated text and the token counts."""
        body = await self._post(request)
        try:
            text = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise CallFailed("bad_reply", f"malformed reply: no choices[0].message.content in {str(body)[:120]}") from None
        usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
        return str(text or ""), Reply([], _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))

    async def _post(self, request: dict[str, Any]) -> Any:
        import openai

        try:
            raw = await self.client.chat.completions.with_raw_response.create(**request)
            body_bytes = raw.content
        except openai.APIStatusError as e:
            raise self._classify(e) from None
        except openai.APITimeoutError:
            raise CallFailed("timeout", f"{self.service} request timed out after {self.timeout:g} s") from None
        except openai.APIConnectionError as e:
            raise CallFailed("connection", f"cannot reach {self.base_url or 'api.openai.com'}: "
                             f"{redact(str(e.__cause__ or e), [self._key.reveal()])}") from None
        try:
            body = json.loads(body_bytes)
        except ValueError:
            raise CallFailed("bad_reply", f"malformed reply: not JSON ({body_bytes[:60]!r})") from None
        return body

    def parse(self, body: Any) -> Reply:
        """Read the first token's candidates; a well-formed reply without log-probabilities is ``missing_logprobs``."""
        try:
            choice = body["choices"][0]
        except (KeyError, IndexError, TypeError):
            raise CallFailed("bad_reply", f"malformed reply: no choices[0] in {str(body)[:120]}") from None
        if not isinstance(choice, dict):
            raise CallFailed("bad_reply", "malformed reply: choices[0] is not an object")
        logprobs = choice.get("logprobs")
        content = logprobs.get("content") if isinstance(logprobs, dict) else None
        if not content:
            raise CallFailed("missing_logprobs", f"the reply of {self.model!r} carries no log-probabilities "
                             "(choices[0].logprobs is empty although logprobs=true was requested)")
        first = content[0]
        if not isinstance(first, dict):
            raise CallFailed("bad_reply", "malformed reply: logprobs.content[0] is not an object")
        cands = _pairs(first.get("top_logprobs"), "token", "logprob", "logprobs.content[0].top_logprobs")
        cands += _pairs([first], "token", "logprob", "logprobs.content[0]")  # the sampled token, if not in top-k
        usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
        return Reply(cands, _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))

    def _classify(self, e: Any) -> CallFailed:
        status = int(e.status_code)
        body = e.body if isinstance(e.body, dict) else {}
        err = body.get("error", body) if isinstance(body, dict) else {}
        err = err if isinstance(err, dict) else {}
        msg = redact(str(err.get("message") or e.message), [self._key.reveal()])
        code, param = str(err.get("code") or ""), str(err.get("param") or "")
        where = f"{self.service} ({self.base_url or 'api.openai.com'}) answered {status} for model {self.model!r}"
        if status in (401, 403):
            return CallFailed("auth", f"{where}: the API key was rejected ({msg}). Pass a valid api_key= or set "
                              "OPENAI_API_KEY.", status=status)
        if status == 404:
            return CallFailed("not_found", f"{where}: {msg}. Check the model name (served_model=) and base_url.",
                              status=status)
        if status == 400 and ("logprob" in msg.lower() or "logprob" in param.lower()):
            return CallFailed("no_logprobs", f"{where}: {msg}", status=status)
        if status == 429 and code == "insufficient_quota":
            return CallFailed("quota", f"{where}: {msg}", status=status)
        if status == 429:
            return CallFailed("rate_limit", f"{where}: {msg}", status=status,
                              retry_after=parse_retry_after(e.response.headers, body))
        if status in (408,):
            return CallFailed("timeout", f"{where}: {msg}", status=status)
        if status == 409 or status >= 500:
            return CallFailed("server", f"{where}: {msg}", status=status,
                              retry_after=parse_retry_after(e.response.headers, body))
        return CallFailed("bad_request", f"{where}: {msg}", status=status)


class GeminiBackend:
    """Google Gemini ``generateContent`` through google-genai (Gemini API key or Vertex AI)."""

    service = "Gemini"

    def __init__(self, *, model: str, api_key: Secret, base_url: str | None, timeout: float, top_logprobs: int,
                 temperature: float | None, max_output_tokens: int, thinking_budget: int | None,
                 vertexai: bool | None, project: str | None, location: str | None,
                 api_version: str | None) -> None:
        self.model = model
        self._key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.top_logprobs = top_logprobs
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.thinking_budget = thinking_budget
        self.vertexai = vertexai
        self.project = project
        self.location = location
        self.api_version = api_version
        self.client: Any = None

    async def open(self) -> None:
        from google import genai
        from google.genai import types

        http = types.HttpOptions(base_url=self.base_url, timeout=int(self.timeout * 1000),
                                 api_version=self.api_version)
        # the client object must stay referenced while requests run (calls fail once it is collected)
        if self.vertexai:
            self.client = genai.Client(vertexai=True, project=self.project, location=self.location,
                                       http_options=http)
        else:
            self.client = genai.Client(api_key=self._key.reveal(), http_options=http)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aio.aclose()
            self.client = None

    def build(self, parts: list[MediaPart], question: str, preamble: str | None,
              generate_tokens: int | None = None) -> dict[str, Any]:
        """The request; with ``generate_tokens`` a plain text generation (no log-probabilities)."""
        from google.genai import types

        gparts: list[Any] = []
        if preamble:
            gparts.append(types.Part.from_text(text=preamble))
        for p in parts:
            part = types.Part.from_bytes(data=p.data, mime_type=p.mime)
            if p.fps is not None:
                part.video_metadata = types.VideoMetadata(fps=p.fps)
            gparts.append(part)
        gparts.append(types.Part.from_text(text=question))
        scoring = generate_tokens is None
        config = types.GenerateContentConfig(
            response_logprobs=True if scoring else None, logprobs=self.top_logprobs if scoring else None,
            max_output_tokens=self.max_output_tokens if scoring else generate_tokens,
            temperature=self.temperature, candidate_count=1,
            thinking_config=None if self.thinking_budget is None else types.ThinkingConfig(
                thinking_budget=self.thinking_budget),
            # the raw body: we read it ourselves and can tell a malformed reply from a missing field
            should_return_http_response=True,
        )
        return {"model": self.model, "contents": [types.Content(role="user", parts=gparts)], "config": config}

    async def send(self, request: dict[str, Any]) -> Reply:
        """Send a scoring request; the reply's first-token candidates and token counts."""
        return self.parse(await self._post(request))

    async def send_text(self, request: dict[str, Any]) -> tuple[str, Reply]:
        """Send a generation request; the generated text (thought parts left out) and the token counts."""
        body = await self._post(request)
        try:
            parts = body["candidates"][0]["content"]["parts"]
            text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and not p.get("thought"))
        except (KeyError, IndexError, TypeError, AttributeError):
            raise CallFailed("bad_reply", f"malformed reply: no candidates[0].content.parts in {str(body)[:120]}") from None
        usage: dict[str, Any] = body["usageMetadata"] if isinstance(body.get("usageMetadata"), dict) else {}
        out = _int(usage.get("candidatesTokenCount")) + _int(usage.get("thoughtsTokenCount"))
        return text, Reply([], _int(usage.get("promptTokenCount")), out)

    async def _post(self, request: dict[str, Any]) -> dict[str, Any]:
        from google.genai import errors

        try:
            resp = await self.client.aio.models.generate_content(**request)
        except errors.APIError as e:
            raise self._classify(e) from None
        except Exception as e:  # transport errors come from the client's HTTP library (httpx or httpx2)
            name = type(e).__name__
            if "Timeout" in name:
                raise CallFailed("timeout", f"{self.service} request timed out after {self.timeout:g} s") from None
            if any(n in name for n in ("Connect", "Network", "Protocol", "Transport", "ReadError", "WriteError")):
                raise CallFailed("connection", f"cannot reach {self.base_url or 'the Gemini API'}: {name}: "
                                 f"{redact(str(e), [self._key.reveal()])}") from None
            if isinstance(e, ValueError):
                raise CallFailed("bad_reply", f"malformed reply ({name}: {redact(str(e))[:120]})") from None
            raise
        raw = getattr(getattr(resp, "sdk_http_response", None), "body", None)
        try:
            body = json.loads(raw) if isinstance(raw, (str, bytes)) else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CallFailed("bad_reply", f"malformed reply: not a JSON object ({str(raw)[:60]!r})")
        return body

    def parse(self, body: dict[str, Any]) -> Reply:
        """Read ``candidates[0].logprobsResult.topCandidates[0].candidates`` (camelCase, as the service sends)."""
        cands = body.get("candidates")
        if not isinstance(cands, list) or not cands or not isinstance(cands[0], dict):
            feedback = body.get("promptFeedback")
            if feedback:
                raise CallFailed("blocked", f"Gemini returned no candidate (prompt feedback: {str(feedback)[:160]})")
            raise CallFailed("bad_reply", f"malformed reply: no candidates[0] in {str(body)[:120]}")
        result = cands[0].get("logprobsResult")
        if not isinstance(result, dict) or not result.get("topCandidates"):
            finish = cands[0].get("finishReason")
            if finish in ("SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "RECITATION"):
                raise CallFailed("blocked", f"Gemini stopped with finishReason {finish} before answering")
            raise CallFailed("missing_logprobs", f"the reply of {self.model!r} carries no logprobsResult although "
                             f"responseLogprobs was requested (finishReason {finish!r}; a thinking model may have "
                             "spent max_output_tokens on thinking)")
        top = result["topCandidates"]
        first = top[0] if isinstance(top, list) and top else None
        if not isinstance(first, dict):
            raise CallFailed("bad_reply", "malformed reply: logprobsResult.topCandidates[0] is not an object")
        pairs = _pairs(first.get("candidates"), "token", "logProbability", "topCandidates[0].candidates")
        chosen = result.get("chosenCandidates")
        if isinstance(chosen, list) and chosen:
            pairs += _pairs(chosen[:1], "token", "logProbability", "chosenCandidates[0]")
        usage: dict[str, Any] = body["usageMetadata"] if isinstance(body.get("usageMetadata"), dict) else {}
        out_tokens = _int(usage.get("candidatesTokenCount")) + _int(usage.get("thoughtsTokenCount"))
        return Reply(pairs, _int(usage.get("promptTokenCount")), out_tokens)

    def _classify(self, e: Any) -> CallFailed:
        status = int(getattr(e, "code", 0) or 0)
        details = getattr(e, "details", None)
        raw = json.dumps(details, default=str) if details is not None else ""
        msg = redact(str(getattr(e, "message", "") or ""), [self._key.reveal()])
        where = f"{self.service} answered {status} for model {self.model!r}"
        headers = getattr(getattr(e, "response", None), "headers", None)
        if status in (401, 403) or "API_KEY_INVALID" in raw or "API key not valid" in msg:
            return CallFailed("auth", f"{where}: the credentials were rejected ({msg}). Pass a valid api_key=, "
                              "set GOOGLE_API_KEY / GEMINI_API_KEY, or use Vertex AI (project=, location=).",
                              status=status)
        if status == 404:
            return CallFailed("not_found", f"{where}: {msg}. Check the model name (served_model=).", status=status)
        if status == 400 and "logprob" in msg.lower():
            return CallFailed("no_logprobs", f"{where}: {msg}", status=status)
        if status == 429:
            return CallFailed("rate_limit", f"{where}: {msg}", status=status,
                              retry_after=parse_retry_after(headers, details))
        if status == 408:
            return CallFailed("timeout", f"{where}: {msg}", status=status)
        if status >= 500:
            return CallFailed("server", f"{where}: {msg}", status=status,
                              retry_after=parse_retry_after(headers, details))
        return CallFailed("bad_request", f"{where}: {msg}", status=status)
