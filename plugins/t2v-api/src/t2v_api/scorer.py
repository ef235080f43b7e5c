"""VQAScore with hosted models: P(answer) from the first output token's top log-probabilities.

``score`` sends every (media, text) pair of a call concurrently through the service's official async client,
retrying transient failures; a pair that still fails is NaN in the tensor plus a
:class:`t2v_core.scorer.PairFailure` (never a made-up number). See the README for the exact score rule.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from t2v_core.errors import OptionError, T2VError
from t2v_core.media import Image, Media, Video
from t2v_core.progress import enabled as progress_enabled
from t2v_core.scorer import PairFailure, PairNote, Scorer
from t2v_core.templates import Templates

from .backends import GeminiBackend, MediaPart, OpenAIBackend
from .engine import (
    NO_LOGPROBS_AFTER,
    CallFailed,
    RateLimiter,
    RetryPolicy,
    RunState,
    Secret,
    Usage,
    redact,
    run_requests,
    run_sync,
)
from .logprobs import AnswerProbability, answer_probability, check_answer
from .models import price_for


class HostedModelError(T2VError, RuntimeError):
    """The hosted model cannot score at all (bad credentials, no log-probabilities, unknown model)."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class LogprobsUnavailableError(HostedModelError):
    """The model does not return log-probabilities, so its VQAScore cannot be computed."""


class CredentialsError(HostedModelError):
    """No API key was found, or the service rejected it."""


_VIDEO_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mov", ".webm": "video/webm",
               ".avi": "video/avi", ".mpeg": "video/mpeg", ".mpg": "video/mpg", ".wmv": "video/wmv",
               ".flv": "video/x-flv", ".3gp": "video/3gpp"}
_GEMINI_INLINE_LIMIT = 19 * 1024 * 1024  # the service refuses requests above 20 MB of inline data


def _sniff_video_mime(data: bytes) -> str | None:
    if data[4:8] == b"ftyp":
        return "video/mov" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "video/avi"
    return None


class APIScorer(Scorer):
    """Shared machinery of the hosted scorers; subclasses choose the backend.

    Options (constructor keyword arguments, also ``VQAScore(model=..., **options)``):
        api_key: the service key (default from the environment; never logged, stored or shown).
        served_model: the model name sent to the service (default: the registered name).
        base_url: another endpoint (an OpenAI-compatible server, a proxy, a fake server in tests).
        max_concurrency (16): requests in flight at once.
        requests_per_minute (None): cap on request starts per minute.
        max_retries (5), backoff_base (0.5 s), backoff_max (30 s), max_retry_wait (120 s): retry policy for
            429 / 5xx / timeouts / malformed replies; ``Retry-After`` is honoured.
        timeout (60 s): per-request timeout.
        top_logprobs (20): candidates asked for the first token.
        on_absent ("bound"): when the answer is not among the candidates, report the upper bound, flagged
            by a note of kind ``upper_bound`` (``.notes``; ``self.bounds`` lists them), or, with "fail",
            NaN plus a failure of kind ``answer_absent``.
        image_format ("png" or "jpeg"), temperature (None: the service default), price_per_mtok.
        video_preamble: text put before the frames of a video sent as images (``{n}`` = frame count).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": None, "fps": None}
    default_batch_size = 16
    env_keys: ClassVar[tuple[str, ...]] = ()
    service: ClassVar[str] = ""
    max_top_logprobs: ClassVar[int | None] = 20
    default_num_frames: ClassVar[int] = 8

    _common = {"served_model": None, "base_url": None, "max_concurrency": 16, "requests_per_minute": None,
               "max_retries": 5, "backoff_base": 0.5, "backoff_max": 30.0, "max_retry_wait": 120.0,
               "timeout": 60.0, "top_logprobs": 20, "on_absent": "bound", "image_format": "png",
               "temperature": None, "price_per_mtok": None,
               "video_preamble": "The following {n} images are frames sampled in order from one video."}
    _extra: ClassVar[dict[str, Any]] = {}

    def __init__(self, spec: Any, device: Any = None, dtype: Any = None, batch_size: int | None = None,
                 video_backend: str = "pyav", progress: bool | None = None, api_key: str | None = None,
                 **options: Any) -> None:
        # the key is kept out of self.options (which provenance and reprs may show)
        self._api_key = Secret(api_key if api_key else None)
        super().__init__(spec, device="cpu" if device is None else device, dtype=dtype, batch_size=batch_size,
                         video_backend=video_backend, progress=progress, **options)

    @classmethod
    def accepted_options(cls, spec: Any) -> dict[str, Any]:
        """The common and service options with their defaults (``api_key`` is a named keyword)."""
        return {**cls._common, **cls._extra}

    # ------------------------------------------------------------------ building
    def _opt(self, name: str) -> Any:
        defaults = {**self._common, **self._extra}
        return self.options.get(name, defaults[name])

    def load(self) -> None:
        allowed = {**self._common, **self._extra}
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise TypeError(f"model {self.name!r} got unexpected option(s) {unknown}; it accepts: "
                            f"api_key, {', '.join(sorted(allowed))}")
        self.served_model = self._opt("served_model") or self.name
        if not isinstance(self.served_model, str) or not self.served_model.strip():
            raise ValueError(f"model {self.name!r} needs served_model=, the model name the server knows, "
                             f"e.g. VQAScore(model={self.name!r}, base_url=..., served_model='Qwen/Qwen2.5-VL-7B-Instruct')")
        self.base_url = self._opt("base_url")
        k = self._opt("top_logprobs")
        if not isinstance(k, int) or k < 1 or (self.max_top_logprobs and k > self.max_top_logprobs):
            top = f"1..{self.max_top_logprobs}" if self.max_top_logprobs else ">= 1"
            raise ValueError(f"top_logprobs must be an integer in {top} for {self.service}, got {k!r}")
        if self._opt("on_absent") not in ("bound", "fail"):
            raise ValueError(f"on_absent must be 'bound' or 'fail', got {self._opt('on_absent')!r}")
        if self._opt("image_format") not in ("png", "jpeg"):
            raise ValueError(f"image_format must be 'png' or 'jpeg', got {self._opt('image_format')!r}")
        conc = self._opt("max_concurrency")
        if isinstance(conc, bool) or not isinstance(conc, int) or conc < 1:
            raise OptionError(f"max_concurrency must be a positive integer, got {conc!r}")
        retries = self._opt("max_retries")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise OptionError(f"max_retries must be a non-negative integer, got {retries!r}")
        for opt in ("backoff_base", "backoff_max", "max_retry_wait", "timeout", "requests_per_minute"):
            v = self._opt(opt)
            if v is None and opt == "requests_per_minute":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
                raise OptionError(f"{opt} must be a positive number (seconds{' per minute' if opt.endswith('minute') else ''}), "
                                  f"got {v!r}")
        self.policy = RetryPolicy(max_retries=int(self._opt("max_retries")), backoff_base=float(self._opt("backoff_base")),
                                  backoff_max=float(self._opt("backoff_max")),
                                  max_retry_wait=float(self._opt("max_retry_wait")))
        self.limiter = RateLimiter(self._opt("requests_per_minute"))
        price = self._opt("price_per_mtok")
        self.price = tuple(price) if price is not None else price_for(self.served_model)
        #: tokens, requests, retries and estimated cost, added up over every call of this scorer
        self.usage = Usage(price_per_mtok=self.price)  # type: ignore[arg-type]
        #: the same for the last call only
        self.last_usage = Usage(price_per_mtok=self.price)  # type: ignore[arg-type]
        self._verified = False  # a first reply with log-probabilities has been seen
        self._resolve_credentials()
        self.weights_revision = f"{self.service}:{self.served_model}" + (f"@{redact(str(self.base_url))}" if self.base_url else "")
        # the served model is part of every call's options, so that stored scores of two served models
        # never share a key (the core's score key holds the registered name and the call options only)
        self.call_options = {**type(self).call_options, "served_model": self.served_model}  # type: ignore[misc]

    def _resolve_credentials(self) -> None:
        if self._api_key:
            return
        for var in self.env_keys:
            if os.environ.get(var):
                self._api_key = Secret(os.environ[var])
                return
        raise CredentialsError(
            f"model {self.name!r} needs a {self.service} API key: pass api_key=... or set "
            f"{' or '.join(self.env_keys)}", kind="auth")

    def __repr__(self) -> str:
        where = f", base_url={redact(str(self.base_url))!r}" if self.base_url else ""
        return f"{type(self).__name__}(model={self.name!r}, served_model={self.served_model!r}{where})"

    __str__ = __repr__

    def make_backend(self) -> Any:  # pragma: no cover - subclasses
        raise NotImplementedError

    # ------------------------------------------------------------------ media
    def _image_part(self, img: Any) -> MediaPart:
        fmt = self._opt("image_format")
        buf = io.BytesIO()
        if fmt == "jpeg":
            img.convert("RGB").save(buf, format="JPEG", quality=95)
            return MediaPart("image/jpeg", buf.getvalue())
        img.save(buf, format="PNG")
        return MediaPart("image/png", buf.getvalue())

    def encode_media(self, item: Media, num_frames: int | None, fps: float | None) -> tuple[list[MediaPart], str | None]:
        """The parts sent for one media item, and the text put before them (for videos sent as frames)."""
        if isinstance(item, Image):
            return [self._image_part(item.image)], None
        return self._frames(item, num_frames, fps)

    def _frames(self, video: Video, num_frames: int | None, fps: float | None) -> tuple[list[MediaPart], str | None]:
        if num_frames is None and fps is None:
            num_frames = self.default_num_frames
        clip = video.sample(num_frames=num_frames, fps=fps)
        pre = self._opt("video_preamble")
        return [self._image_part(f) for f in clip.frames], (pre.format(n=len(clip.frames)) if pre else None)

    # ------------------------------------------------------------------ scoring
    def score(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
              **options: Any) -> torch.Tensor:
        pairs = [(i, j) for i in range(len(media)) for j in range(len(texts))]
        group = self._group
        flat = self._score(media, texts, pairs, templates, locate=lambda i, j: (group, i, j), **options)
        return flat.reshape(len(media), len(texts))

    def score_groups(self, groups: Sequence[tuple[Sequence[Media], Sequence[str]]], *,
                     templates: Templates | None, **options: Any) -> list[torch.Tensor]:
        """All groups' pairs in one concurrent run (``batch_forward`` hands many samples over at once)."""
        media: list[Media] = []
        texts: list[str] = []
        pairs: list[tuple[int, int]] = []
        spans: list[tuple[int, int, int, int]] = []
        owner: list[int] = []
        for g, (gm, gt) in enumerate(groups):
            m0, t0 = len(media), len(texts)
            media += list(gm)
            texts += list(gt)
            owner += [g] * len(gm)
            pairs += [(m0 + i, t0 + j) for i in range(len(gm)) for j in range(len(gt))]
            spans.append((m0, t0, len(gm), len(gt)))

        def locate(i: int, j: int) -> tuple[int, int, int]:
            g = owner[i]
            return g, i - spans[g][0], j - spans[g][1]

        flat = self._score(media, texts, pairs, templates, locate=locate, **options)
        for rec in [*self.failures, *self.notes]:  # global indices -> the group's own
            g = owner[rec.media_index]
            rec.media_index -= spans[g][0]
            rec.text_index -= spans[g][1]
            rec.group = g
        out, k = [], 0
        for _, _, nm, nt in spans:
            out.append(flat[k:k + nm * nt].reshape(nm, nt))
            k += nm * nt
        return out

    @property
    def bounds(self) -> list[PairNote]:
        """Pairs of the last call whose score is an upper bound (the answer was not among the candidates);
        ``detail`` holds ``bound``, ``min_returned`` (the smallest returned probability) and ``n_returned``."""
        return [n for n in self.notes if n.kind == "upper_bound"]

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    **options: Any) -> torch.Tensor:
        if len(media) != len(texts):
            raise ValueError(f"score_pairs needs as many media as texts, got {len(media)} and {len(texts)}")
        return self._score(media, texts, [(k, k) for k in range(len(texts))], templates, **options)

    def _settle(self, i: int, j: int, ap: AnswerProbability, answer: str
                ) -> tuple[float | None, PairNote | None, PairFailure | None]:
        """One answered pair's score and note, or its failure (the answer absent under ``on_absent="fail"``)."""
        if ap.exact:
            return ap.value, None, None
        if self._opt("on_absent") == "bound":
            return ap.value, PairNote(
                i, j, "upper_bound", f"the answer {answer!r} was not among the {ap.n_returned} "
                f"candidates returned, so the score {ap.value:.3g} is an upper bound of its probability",
                {"bound": ap.value, "min_returned": ap.min_returned, "n_returned": ap.n_returned,
                 "model": self.served_model}), None
        return None, None, PairFailure(i, j, f"the answer {answer!r} is not among the {ap.n_returned} candidates "
                                       f"returned (its probability is at most {ap.value:.3g})", kind="answer_absent",
                                       detail={"bound": ap.value, "model": self.served_model})

    def _score(self, media: Sequence[Media], texts: Sequence[str], pairs: list[tuple[int, int]],
               templates: Templates | None, num_frames: int | None = None, fps: float | None = None,
               served_model: str | None = None,
               locate: Callable[[int, int], tuple[int, int, int]] | None = None) -> torch.Tensor:
        if served_model is not None and served_model != self.served_model:
            raise ValueError(f"served_model is fixed when the scorer is built ({self.served_model!r}); build "
                             f"another scorer for {served_model!r}")
        if templates is None:
            raise ValueError(f"model {self.name!r} is a VQA scorer and needs question/answer templates")
        if num_frames is not None and fps is not None:
            raise ValueError("pass num_frames or fps, not both")
        filled = [templates.fill(t) for t in texts]
        for _q, a in filled:  # refuse multi-word answers before spending any request
            check_answer(a)
        encoded: dict[int, tuple[list[MediaPart], str | None]] = {}
        for i, _ in pairs:
            if i not in encoded:
                encoded[i] = self.encode_media(media[i], num_frames, fps)
        self.failures = []
        self.notes = []
        self.last_usage = Usage(price_per_mtok=self.price)  # type: ignore[arg-type]
        report: Callable[[Any], None] | None = None
        if self.pair_sink is not None and locate is not None:
            def report(oc: Any) -> None:  # each answered pair goes to the store as its reply arrives
                if oc.error is None:
                    i, j = pairs[oc.index]
                    value, note, _ = self._settle(i, j, oc.value, filled[j][1])
                    if value is not None:
                        self.report_scored([(*locate(i, j), value, note)])
        outcomes = run_sync(lambda: self._run(pairs, encoded, filled, report))
        out = torch.full((len(pairs),), float("nan"), dtype=torch.float32)
        fatal = None
        any_ok = False
        for k, ((i, j), oc) in enumerate(zip(pairs, outcomes)):
            if oc.error is None:
                any_ok = True
                value, note, failure = self._settle(i, j, oc.value, filled[j][1])
                if value is not None:
                    out[k] = value
                if note is not None:
                    self.notes.append(note)
                if failure is not None:
                    self.failures.append(failure)
                continue
            err = oc.error
            fatal = fatal or (err if err.fatal else None)
            msg = err.message if not oc.skipped else f"not sent: the call stopped after: {err.message}"
            self.failures.append(PairFailure(i, j, redact(msg, [self._api_key.reveal()]), kind=err.kind,
                                             detail={"status": err.status, "attempts": oc.attempts,
                                                     "model": self.served_model}))
        self.last_usage.failed = len(self.failures)
        self.usage.add(self.last_usage)
        if fatal is not None and not any_ok:
            cls = {"no_logprobs": LogprobsUnavailableError, "auth": CredentialsError}.get(fatal.kind, HostedModelError)
            reason = fatal.message
            if fatal.kind == "no_logprobs":
                reason = (f"model {self.served_model!r} ({self.service}) does not return log-probabilities, so its "
                          f"VQAScore cannot be computed: {fatal.message}. Use a model that returns logprobs "
                          f"(e.g. gpt-4o, gpt-4.1, gemini-2.0-flash) or, for an OpenAI-compatible server, enable them")
            raise cls(redact(reason, [self._api_key.reveal()]), kind=fatal.kind)
        return out

    def generate_media(self, media: Sequence[Media], prompts: Sequence[str],  # type: ignore[override]
                       max_new_tokens: int = 256, num_frames: int | None = None, fps: float | None = None) -> list[str]:
        """Answer ``prompts[k]`` about ``media[k]`` (concurrently, with the same retries as scoring).

        Raises :class:`t2v_core.ScoringError` if some prompts failed; its ``scores`` holds the answers, with
        ``None`` for the failed ones.
        """
        from t2v_core.errors import ScoringError

        if num_frames is not None and fps is not None:
            raise ValueError("pass num_frames or fps, not both")
        encoded = [self.encode_media(m, num_frames, fps) for m in media]
        self.last_usage = Usage(price_per_mtok=self.price)  # type: ignore[arg-type]

        async def run() -> list[Any]:
            backend = self.make_backend()
            await backend.open()
            state = RunState(usage=self.last_usage, verified=self._verified)

            def job(k: int) -> Any:
                async def go() -> str:
                    parts, pre = encoded[k]
                    text, reply = await backend.send_text(backend.build(parts, prompts[k], pre, int(max_new_tokens)))
                    state.usage.input_tokens += reply.input_tokens
                    state.usage.output_tokens += reply.output_tokens
                    state.usage.succeeded += 1
                    state.verified = True
                    return text
                return go

            try:
                return await run_requests([job(k) for k in range(len(prompts))],
                                          concurrency=self._opt("max_concurrency"), policy=self.policy,
                                          limiter=self.limiter, state=state)
            finally:
                await backend.close()

        outcomes = run_sync(run)
        answers = [oc.value if oc.error is None else None for oc in outcomes]
        failures = [PairFailure(k, k, redact(oc.error.message, [self._api_key.reveal()]), kind=oc.error.kind,
                                detail={"status": oc.error.status, "attempts": oc.attempts})
                    for k, oc in enumerate(outcomes) if oc.error is not None]
        self.last_usage.failed = len(failures)
        self.usage.add(self.last_usage)
        if failures:
            raise ScoringError(f"{len(failures)} of {len(prompts)} prompts failed; first: prompt "
                               f"{failures[0].media_index}: {failures[0].error}", failures=failures, scores=answers)
        return [str(a) for a in answers]

    async def _run(self, pairs: list[tuple[int, int]], encoded: dict[int, tuple[list[MediaPart], str | None]],
                   filled: list[tuple[str, str]], report: Callable[[Any], None] | None = None) -> list[Any]:
        backend = self.make_backend()
        await backend.open()
        state = RunState(usage=self.last_usage, verified=self._verified)

        def job(i: int, j: int) -> Any:
            parts, pre = encoded[i]
            question, answer = filled[j]

            async def go() -> AnswerProbability:
                try:
                    reply = await backend.send(backend.build(parts, question, pre))
                except CallFailed as e:
                    if e.kind == "missing_logprobs":
                        if state.verified:  # it returned log-probabilities before: this reply is broken
                            raise CallFailed("bad_reply", e.message, status=e.status) from None
                        state.missing_logprobs += 1
                        if state.missing_logprobs >= NO_LOGPROBS_AFTER:
                            raise CallFailed("no_logprobs", f"its first {state.missing_logprobs} replies all came "
                                             f"without log-probabilities (last: {e.message})", status=e.status) from None
                        raise  # one such reply may be a glitch: retried like a malformed reply
                    if e.kind == "no_logprobs" and state.verified:
                        # this model has returned log-probabilities before: a reply without them is broken
                        raise CallFailed("bad_reply", e.message, status=e.status) from None
                    raise
                state.usage.input_tokens += reply.input_tokens
                state.usage.output_tokens += reply.output_tokens
                try:
                    ap = answer_probability(reply.candidates, answer)
                except ValueError as e:
                    raise CallFailed("bad_reply", f"malformed reply: {e}") from None
                state.usage.succeeded += 1
                state.verified = True
                return ap
            return go

        bar = None
        if len(pairs) > 1 and progress_enabled(self.progress):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(pairs), desc=self.name, unit="pair")
        def on_done(oc: Any) -> None:
            if bar is not None:
                bar.update(1)
            if report is not None:
                report(oc)

        try:
            return await run_requests([job(i, j) for i, j in pairs], concurrency=self._opt("max_concurrency"),
                                      policy=self.policy, limiter=self.limiter, state=state, on_done=on_done)
        finally:
            self._verified = self._verified or state.verified
            if bar is not None:
                bar.close()
            await backend.close()


class OpenAIScorer(APIScorer):
    """OpenAI chat-completions models (gpt-4o, gpt-4.1, ...) and OpenAI-compatible servers (vLLM, ...).

    Videos are sent as ``num_frames`` sampled frames (default 8) or frames at ``fps``, each an image part.
    Extra options: ``image_detail`` ("auto", "low", "high"), ``compatible`` (set by the ``openai-compatible``
    spec: no limit on ``top_logprobs``, key optional), ``extra_body`` (sent as is, e.g. vLLM sampling params).
    """

    env_keys = ("OPENAI_API_KEY",)
    service = "OpenAI"
    _extra = {"image_detail": "auto", "compatible": False, "extra_body": None}

    def load(self) -> None:
        if self.options.get("compatible"):
            self.service = "OpenAI-compatible server"  # type: ignore[misc]
            self.max_top_logprobs = None  # type: ignore[misc]
            if not self.options.get("served_model"):
                raise ValueError(
                    "model 'openai-compatible' needs served_model=, the name the server serves, e.g. "
                    "VQAScore(model='openai-compatible', base_url='http://localhost:8000/v1', "
                    "served_model='Qwen/Qwen2.5-VL-7B-Instruct')")
        super().load()

    def _resolve_credentials(self) -> None:
        try:
            super()._resolve_credentials()
        except CredentialsError:
            if self.options.get("compatible") and self.base_url:
                self._api_key = Secret("EMPTY")  # self-hosted servers usually take any key
                return
            raise

    def make_backend(self) -> OpenAIBackend:
        return OpenAIBackend(model=self.served_model, api_key=self._api_key, base_url=self.base_url,
                             timeout=float(self._opt("timeout")), top_logprobs=self._opt("top_logprobs"),
                             image_detail=self._opt("image_detail"), temperature=self._opt("temperature"),
                             max_tokens=1, extra_body=self._opt("extra_body"))


class GeminiScorer(APIScorer):
    """Google Gemini models through the Gemini API (key) or Vertex AI (``project=``, ``location=``).

    Videos go as the native video part (the file's bytes with its MIME type; ``fps`` becomes the part's
    sampling rate) when the video came from a file or bytes and ``num_frames`` is not given; otherwise as
    sampled frames. ``video_mode`` ("auto", "native", "frames") forces one. ``thinking_budget`` (0 where the
    model allows) keeps thinking models from spending the answer token on thinking.
    """

    env_keys = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the client's own order: GOOGLE_API_KEY wins
    service = "Gemini"
    _extra = {"thinking_budget": None, "max_output_tokens": 1, "vertexai": None, "project": None,
              "location": None, "api_version": None, "video_mode": "auto"}

    def load(self) -> None:
        super().load()
        if self._opt("video_mode") not in ("auto", "native", "frames"):
            raise ValueError(f"video_mode must be 'auto', 'native' or 'frames', got {self._opt('video_mode')!r}")

    @property
    def vertexai(self) -> bool:
        v = self.options.get("vertexai")
        if v is None:
            v = bool(self.options.get("project")) or os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true")
        return bool(v)

    def _resolve_credentials(self) -> None:
        if self.vertexai:
            return  # Vertex AI authenticates with application-default credentials, not a key
        try:
            super()._resolve_credentials()
        except CredentialsError as e:
            raise CredentialsError(f"{e} (or use Vertex AI: project=..., location=...)", kind="auth") from None

    def make_backend(self) -> GeminiBackend:
        return GeminiBackend(model=self.served_model, api_key=self._api_key, base_url=self.base_url,
                             timeout=float(self._opt("timeout")), top_logprobs=self._opt("top_logprobs"),
                             temperature=self._opt("temperature"), max_output_tokens=int(self._opt("max_output_tokens")),
                             thinking_budget=self._opt("thinking_budget"), vertexai=self.vertexai,
                             project=self._opt("project"), location=self._opt("location"),
                             api_version=self._opt("api_version"))

    def encode_media(self, item: Media, num_frames: int | None, fps: float | None) -> tuple[list[MediaPart], str | None]:
        if isinstance(item, Image):
            return [self._image_part(item.image)], None
        mode = self._opt("video_mode")
        native = self._native_video(item)
        if mode == "native" and native is None:
            raise ValueError(f"video {item.index} ({item.source}) has no file bytes to send natively "
                             "(it was built from frames): use video_mode='frames'")
        if native is not None and (mode == "native" or (mode == "auto" and num_frames is None)):
            mime, data = native
            if len(data) > _GEMINI_INLINE_LIMIT:
                if mode == "native":
                    raise ValueError(f"video {item.index} ({item.source}) is {len(data) / 2**20:.1f} MiB, above "
                                     "Gemini's 20 MB inline limit: use video_mode='frames'")
                return self._frames(item, num_frames, fps)
            return [MediaPart(mime, data, fps=fps)], None
        return self._frames(item, num_frames, fps)

    @staticmethod
    def _native_video(video: Video) -> tuple[str, bytes] | None:
        path = video.path
        data = None if path is not None else video.read_bytes()
        if path:
            ext = os.path.splitext(path)[1].lower()
            with open(path, "rb") as fh:
                data = fh.read()
            mime = _VIDEO_MIME.get(ext) or _sniff_video_mime(data)
        elif data:
            mime = _sniff_video_mime(data)
        else:
            return None
        return (mime, data) if mime else None
