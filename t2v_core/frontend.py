"""The user-facing API, compatible with t2v_metrics: ``VQAScore(model=...)(images=..., texts=...)``."""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

from . import registry
from .errors import (
    DatasetError,
    MediaError,
    OptionError,
    ScoreNoteWarning,
    ScoringError,
    TextError,
    WeightsNotFoundError,
    missing_weights_repo,
)
from .media import Media
from .progress import run_bar
from .scorer import _DEFER_LOAD, PairFailure, PairNote, Scorer, check_batch_size
from .specs import load_object
from .store import ScoreStore, score_key


class SampleResult(NamedTuple):
    """One sample's ``M x N`` scores with the failures and notes of its pairs (indices local to the sample)."""

    scores: torch.Tensor
    failures: list[PairFailure]
    notes: list[PairNote]


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_text(j: int, t: Any) -> str:
    if isinstance(t, (bytes, bytearray)):
        raise TextError(f"text {j} is {type(t).__name__} ({_short(t)}), not a string; decode it first "
                        "(t.decode('utf-8'))")
    if not isinstance(t, str):
        raise TextError(f"text {j} is a {type(t).__name__} ({_short(t)}); every text must be a string")
    try:
        t.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate: no tokenizer or service can take it
        raise TextError(f"text {j} ({_short(t)}) has an invalid character {t[e.start]!r} at position {e.start} "
                        "(a lone surrogate, often from badly decoded bytes); clean it, e.g. "
                        "t.encode('utf-8', 'replace').decode('utf-8')") from None
    return t


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    elif texts is None:
        raise TextError("texts is missing: pass a string or a list of strings")
    elif isinstance(texts, (bytes, bytearray)):
        raise TextError(f"texts is {type(texts).__name__} ({_short(texts)}), not a string; decode it first "
                        "(texts.decode('utf-8'))")
    elif isinstance(texts, dict) or not hasattr(texts, "__iter__"):
        raise TextError(f"texts is a {type(texts).__name__} ({_short(texts)}); pass a string or a list of strings")
    texts = list(texts)
    if not texts:
        raise TextError("texts is empty: pass at least one text")
    return [_check_text(j, t) for j, t in enumerate(texts)]


def _as_video_items(items: Any) -> Any:
    """Under ``videos=``, one 4-D array or tensor (frames x H x W x C) is one video, not a list of images."""
    return [items] if getattr(items, "ndim", None) == 4 else items


class Score:
    """A scorer built from a model name. Call it with M media and N texts to get an M x N tensor.

    Args:
        model: a registered model name or alias (``t2v models`` lists them).
        device: ``"cuda"``, ``"cpu"``, ``"mps"``, ... (default: the best available).
        dtype: ``"bf16"``, ``"fp32"``, a ``torch.dtype`` (default: bf16 on GPU, fp32 on CPU).
        isolated: run the scorer in its worker environment (:mod:`t2v_core.workers`); default: only when the
            model's declared requirements are not met by this environment.
        **kwargs: passed to the model's scorer (``batch_size``, ``checkpoint``, ``api_key``, ...).
    """

    kind: str | None = None
    #: set while a rank of a launched run scores its own share (so that batch_forward does not shard again)
    _sharded: bool = False

    def __init__(self, model: str, device: Any = None, dtype: Any = None, *, lazy: bool = False,
                 isolated: bool | None = None, **kwargs: Any) -> None:
        spec = registry.get_spec(model)
        if self.kind is not None and spec.kind != self.kind:
            raise ValueError(
                f"model {model!r} is a {spec.kind!r} scorer, not {self.kind!r}: use "
                f"{ {'vqa': 'VQAScore', 'clip': 'CLIPScore', 'itm': 'ITMScore'}[spec.kind]}(model={model!r}) "
                f"or get_score_model(model={model!r})"
            )
        from . import workers

        if isolated or (isolated is None and spec.requirements and workers.unsatisfied(spec.requirements)):
            from .isolated import WorkerScorer

            cls: Any = WorkerScorer  # the plugin's class is imported in the worker, never here
            lazy = False  # the worker's scorer says which call options it takes: build it now
            if spec.preflight:  # refuse here what the worker's scorer would refuse, before making its env
                load_object(spec.preflight)(spec, {**spec.options, **kwargs})
        else:
            cls = spec.load_class()
        if not (isinstance(cls, type) and issubclass(cls, Scorer)):
            raise TypeError(f"plugin {spec.plugin!r} registered {spec.scorer!r} for {model!r}, which is not a t2v_core.Scorer")
        self.spec = spec
        options = {**spec.options, **kwargs}
        # repo ids the build may ask the hub for: the spec's, and any option that overrides one (checkpoint=,
        # repo_id=, ...), so that the missing-weights error names the repo that was really asked for
        self._repos = tuple(v for v in options.values() if isinstance(v, str) and v.count("/") == 1
                            and not os.path.exists(v)) + spec.weights
        token = _DEFER_LOAD.set(lazy)  # lazy: load() waits until something is left to compute
        try:
            self.model: Scorer = self._translating(lambda: cls(spec=spec, device=device, dtype=dtype, **options))
        finally:
            _DEFER_LOAD.reset(token)
        self._last_call: dict[str, Any] = {}

    def _translating(self, build: Any) -> Any:
        """Run ``build``; weights missing offline or unreachable become one line, the same for every family."""
        try:
            return build()
        except Exception as e:
            missing, repo = missing_weights_repo(e, self._repos)
            if missing:
                raise WeightsNotFoundError(self.spec.name, repo, offline=hub_offline()) from e
            raise

    def ensure_loaded(self) -> None:
        """Load the model's weights now if a lazy build left them for later."""
        self._translating(self.model.ensure_loaded)

    def __repr__(self) -> str:
        m = self.model
        return (f"{type(self).__name__}(model={self.spec.name!r}, device={str(m.device)!r}, "
                f"dtype={str(m.dtype).replace('torch.', '')!r}, plugin={self.spec.plugin!r})")

    @property
    def provenance(self) -> dict[str, Any]:
        """How this scorer's results are made (model, weights, dtype, device, versions), with the templates and
        call options of the last call once there was one."""
        return {**self._translating(lambda: self.model.provenance), **self._last_call}

    def _record_call(self, question_template: str | None, answer_template: str | None,
                     options: dict[str, Any]) -> None:
        templates = self.model.templates(question_template, answer_template)
        self._last_call = {"question_template": templates.question if templates else None,
                           "answer_template": templates.answer if templates else None,
                           "call_options": dict(options)}

    def close(self) -> None:
        """Release what the scorer holds outside this process (a worker environment's process)."""
        close = getattr(self.model, "close", None)
        if callable(close):
            close()

    @property
    def failures(self) -> list[PairFailure]:
        """Pairs of the last call that could not be scored (their scores are NaN)."""
        return self.model.failures

    @property
    def notes(self) -> list[PairNote]:
        """Caveats on scores of the last call, such as upper bounds (the scores themselves are reported)."""
        return self.model.notes

    def _score_media(self, media: list[Media], texts: list[str], question_template: str | None,
                     answer_template: str | None, options: dict[str, Any]) -> torch.Tensor:
        return self._score_groups([(media, texts)], question_template, answer_template, options)[0][0]

    def _score_groups(self, groups: list[tuple[list[Media], list[str]]], question_template: str | None,
                      answer_template: str | None, options: dict[str, Any], on_pairs: Any = None
                      ) -> tuple[list[torch.Tensor], list[PairFailure], list[PairNote]]:
        templates = self.model.templates(question_template, answer_template)
        self._record_call(question_template, answer_template, options)
        self.ensure_loaded()
        self.model.failures, self.model.notes = [], []
        self.model.pair_sink = on_pairs  # pairs reported as they finish are stored at once
        try:
            results = self.model.score_groups(groups, templates=templates, **options)
        finally:
            self.model.pair_sink = None
        if len(results) != len(groups):
            raise RuntimeError(f"scorer of {self.spec.name!r} returned {len(results)} results for {len(groups)} "
                               f"groups: a bug in plugin {self.spec.plugin!r}")
        for r, (m, t) in zip(results, groups):
            if not isinstance(r, torch.Tensor) or tuple(r.shape) != (len(m), len(t)):
                raise RuntimeError(f"scorer of {self.spec.name!r} returned shape {getattr(r, 'shape', None)}, "
                                   f"expected {(len(m), len(t))}: a bug in plugin {self.spec.plugin!r}")
        return [r.float().cpu() for r in results], list(self.model.failures), list(self.model.notes)

    def forward(self, images: Any = None, texts: Any = None, question_template: str | None = None,
                answer_template: str | None = None, *, videos: Any = None, on_error: str = "raise",
                **kwargs: Any) -> torch.Tensor:
        """Score every media item against every text; ``scores[i][j]`` is media i with text j.

        Args:
            images: media items (paths, URLs, PIL images, arrays, tensors, bytes; videos too).
            texts: one string or a list of strings.
            question_template / answer_template: override the model's default templates (VQAScore).
            videos: alias of ``images`` for video inputs.
            on_error: ``"raise"`` (default) raises :class:`ScoringError` after the whole call if any pair
                failed (its ``scores`` keeps every computed value); ``"nan"`` returns NaN for failed pairs,
                listed in :attr:`failures`.
            **kwargs: model options such as ``num_frames`` or ``fps``.
        """
        if on_error not in ("raise", "nan"):
            raise ValueError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
        if images is not None and videos is not None:
            raise ValueError("pass images or videos, not both")
        items = _as_video_items(videos) if videos is not None else images
        if items is None:
            raise ValueError("images is missing: pass a media item or a list of them")
        media = self.model.load_media(items)
        text_list = _texts(texts)
        options = self.model.resolve_options(**kwargs)
        scores = self._score_media(media, text_list, question_template, answer_template, options)
        self._check_failures(scores, on_error)
        self._warn_notes(scores)
        return scores

    __call__ = forward

    def _check_failures(self, scores: torch.Tensor, on_error: str) -> None:
        nan = int(torch.isnan(scores).sum())
        if nan and not self.model.failures:
            raise RuntimeError(f"scorer of {self.spec.name!r} returned {nan} NaN scores without reporting failures")
        if self.model.failures and on_error == "raise":
            kinds = dict(Counter(f.kind for f in self.model.failures))
            first = self.model.failures[0]
            raise ScoringError(
                f"{len(self.model.failures)} of {scores.numel()} pairs failed ({kinds}); first: media "
                f"{first.media_index}, text {first.text_index}: {first.error}. The computed scores are on "
                "this exception's .scores (failed pairs are NaN); pass on_error='nan' to get them returned.",
                failures=list(self.model.failures), scores=scores)

    def _warn_notes(self, scores: torch.Tensor) -> None:
        if not self.model.notes:
            return
        kinds = dict(Counter(n.kind for n in self.model.notes))
        first = self.model.notes[0]
        warnings.warn(f"{self.spec.name}: {len(self.model.notes)} of {scores.numel()} scores are not exact values "
                      f"({kinds}); first: media {first.media_index}, text {first.text_index}: {first.message}. "
                      "They are listed in .notes", ScoreNoteWarning, stacklevel=3)

    def batch_forward(self, dataset: Sequence[dict[str, Any]], batch_size: int | None = None, *,
                      question_template: str | None = None, answer_template: str | None = None,
                      store: str | Path | ScoreStore | None = None, progress: bool | None = None,
                      on_error: str = "raise", **kwargs: Any) -> torch.Tensor:
        """Score a dataset of ``{'images' or 'videos': [...], 'texts': [...]}`` samples.

        Every sample must have the same number of media and of texts. Returns a tensor of shape
        ``(n_samples, n_media, n_texts)``. With ``store`` (a path or :class:`ScoreStore`), each sample's
        scores are written as soon as they are computed and pairs already stored are not recomputed.
        """
        if on_error not in ("raise", "nan"):
            raise ValueError(f"on_error must be 'raise' or 'nan', got {on_error!r}")
        if batch_size is not None:
            check_batch_size(batch_size)
        if store is not None and not isinstance(store, (str, Path, ScoreStore)):
            raise OptionError(f"store must be a path or a ScoreStore, got {type(store).__name__} ({_short(store)})")
        from . import distributed

        shard = None if self._sharded else distributed.current()
        if shard is not None:  # under torchrun / accelerate launch: this rank scores its share (see distributed)
            return distributed.sharded_batch_forward(
                self, shard, dataset, batch_size, store, on_error, question_template=question_template,  # type: ignore[arg-type]
                answer_template=answer_template, progress=progress, **kwargs)
        samples = self._validate_dataset(dataset)
        options = self.model.resolve_options(**kwargs)
        own_store = isinstance(store, (str, Path))
        st = ScoreStore(store) if isinstance(store, (str, Path)) else store
        old_bs = self.model.batch_size
        if batch_size is not None:
            self.model.batch_size = batch_size
        n_m, n_t = len(samples[0][0]), len(samples[0][1])
        out = torch.full((len(samples), n_m, n_t), float("nan"))
        failures: list[PairFailure] = []
        notes: list[PairNote] = []
        # (sample, media rows the scorer saw, its result); copied into ``out`` once every pair is settled
        done: list[tuple[int, list[int], SampleResult]] = []
        try:
            run = self.open_run(st, question_template, answer_template, options)
            bar = run_bar(len(samples) * n_m * n_t, desc=self.spec.name, enabled=progress)
            # Samples go to the scorer in chunks, so that a family can batch (or, for hosted models, run
            # concurrently) across samples; each pair is stored as soon as it is scored.
            chunk_pairs = max(4 * self.model.batch_size, 32)
            s = 0
            while s < len(samples):
                chunk: list[tuple[list[Media], list[str]]] = []
                where: list[tuple[int, list[int]]] = []
                n_pairs = 0
                first = s
                while s < len(samples) and (s == first or n_pairs + n_m * n_t <= chunk_pairs):
                    items, texts = samples[s]
                    media, rows, bad = self._load_sample(s, items, texts, on_error)
                    failures.extend(bad)
                    if media:
                        chunk.append((media, texts))
                        where.append((s, rows))
                        n_pairs += len(media) * len(texts)
                    s += 1
                if chunk:
                    reused_before = run.reused
                    for (k, rows), result in zip(where, run.score_many(chunk)):
                        done.append((k, rows, result))
                        bar.update(len(rows) * n_t, failed=len(result.failures), noted=len(result.notes),
                                   scores={self.spec.name: result.scores[~torch.isnan(result.scores)].tolist()})
                    bar.reused += run.reused - reused_before
                bar.update((s - first) * n_m * n_t - sum(len(rows) * n_t for k, rows in where),
                           failed=sum(1 for f in failures if f.detail.get("sample", -1) >= first))
            run.finish()  # pairs another process had claimed: their scores, or computed here if it died
            bar.close()
            if bar.drawn:
                print(bar.summary(), file=sys.stderr)
            for k, rows, result in done:
                out[k, rows] = result.scores
                records: list[PairFailure | PairNote] = [*result.failures, *result.notes]
                for rec in records:
                    rec.media_index = rows[rec.media_index]
                    rec.detail = {**rec.detail, "sample": k}
                failures.extend(result.failures)
                notes.extend(result.notes)
        finally:
            if "bar" in locals():
                bar.close()
            self.model.batch_size = old_bs
            if own_store and st is not None:
                st.close()
        self.model.failures, self.model.notes = failures, notes
        self._check_failures(out, on_error)
        self._warn_notes(out)
        return out

    def _load_sample(self, s: int, items: list[Any], texts: list[str], on_error: str
                     ) -> tuple[list[Media], list[int], list[PairFailure]]:
        """A sample's media that load, their rows, and (under ``on_error="nan"``) a failure for every pair of
        each item that does not; under ``"raise"`` the first bad item raises :class:`DatasetError`."""
        if on_error == "raise":
            try:
                return self.model.load_media(items), list(range(len(items))), []
            except MediaError as e:
                raise DatasetError(f"sample {s}: {e}") from e
        media: list[Media] = []
        rows: list[int] = []
        bad: list[PairFailure] = []
        for i, item in enumerate(items):
            try:
                media += self.model.load_media([item], first_index=i)
                rows.append(i)
            except MediaError as e:  # as in the CLI: this item's pairs fail, the rest of the run goes on
                bad += [PairFailure(i, j, f"sample {s}: {e}", kind="media", detail={"sample": s})
                        for j in range(len(texts))]
        return media, rows, bad

    def open_run(self, store: ScoreStore | None, question_template: str | None, answer_template: str | None,
                 options: dict[str, Any]) -> _Run:
        """A run that scores groups (media x texts), reading and writing ``store`` when given."""
        self._record_call(question_template, answer_template, options)
        return self._translating(lambda: _Run(self, store, question_template, answer_template, options))

    @staticmethod
    def _validate_dataset(dataset: Sequence[dict[str, Any]]) -> list[tuple[list[Any], list[str]]]:
        if not isinstance(dataset, Sequence) or isinstance(dataset, (str, bytes)) or not dataset:
            raise DatasetError("dataset must be a non-empty list of {'images': [...], 'texts': [...]} dicts")
        out: list[tuple[list[Any], list[str]]] = []
        first: tuple[int, int] | None = None
        for s, sample in enumerate(dataset):
            if not isinstance(sample, dict):
                raise DatasetError(f"sample {s} is a {type(sample).__name__}; expected a dict with 'images' (or "
                                   "'videos') and 'texts'")
            has = [k for k in ("images", "videos") if k in sample]
            if len(has) != 1:
                raise DatasetError(f"sample {s} must have exactly one of 'images' or 'videos', got keys {sorted(sample)}")
            if "texts" not in sample:
                raise DatasetError(f"sample {s} has no 'texts' (keys: {sorted(sample)})")
            items, texts = sample[has[0]], sample["texts"]
            if has[0] == "videos":
                items = _as_video_items(items)
            if isinstance(items, (str, Path, bytes, bytearray)) or getattr(items, "ndim", None) in (2, 3) or not hasattr(items, "__iter__"):
                items = [items]
            items = list(items)
            if isinstance(texts, (bytes, bytearray)) or not hasattr(texts, "__iter__") or isinstance(texts, dict):
                raise DatasetError(f"sample {s}: 'texts' is a {type(texts).__name__} ({_short(texts)}); pass a "
                                   "string or a list of strings")
            texts = [texts] if isinstance(texts, str) else list(texts)
            if not items or not texts:
                raise DatasetError(f"sample {s} has {len(items)} {has[0]} and {len(texts)} texts; both must be non-empty")
            for j, t in enumerate(texts):
                try:
                    _check_text(j, t)
                except TextError as e:
                    raise DatasetError(f"sample {s}: {e}") from None
            shape = (len(items), len(texts))
            if first is None:
                first = shape
            elif shape != first:
                raise DatasetError(
                    f"sample {s} has {shape[0]} {has[0]} and {shape[1]} texts, but sample 0 has {first[0]} and "
                    f"{first[1]}: every sample must have the same numbers (split the dataset by shape)")
            out.append((items, texts))
        return out


class VQAScore(Score):
    """VQAScore: the probability that a vision-language model answers "Yes" to "Does this figure show ...?"."""

    kind = "vqa"


class CLIPScore(Score):
    """CLIPScore: cosine similarity of image and text embeddings."""

    kind = "clip"


class ITMScore(Score):
    """ITMScore: the probability from an image-text matching head."""

    kind = "itm"


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "").strip().upper() in ("1", "ON", "YES", "TRUE")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def get_score_model(model: str, device: Any = None, dtype: Any = None, **kwargs: Any) -> Score:
    """Build the scorer for any registered model, whatever its kind."""
    return Score(model, device=device, dtype=dtype, **kwargs)


class _Plan:
    """One sample of a run: its media, texts, score keys and the result being filled in."""

    __slots__ = ("media", "texts", "keys", "result")

    def __init__(self, media: list[Media], texts: list[str], keys: list[list[str]]) -> None:
        self.media, self.texts, self.keys = media, texts, keys
        self.result = SampleResult(torch.full((len(media), len(texts)), float("nan")), [], [])


class _Run:
    """Scores groups of one call's settings, skipping what a store already holds and storing what it computes.

    With a store, every pair is claimed in the store before it is computed (:meth:`ScoreStore.claim`), so
    that runs sharing a store share the work: a pair another run holds is left for later and :meth:`finish`
    collects it (or computes it, if that run died). Each pair is written as soon as the scorer reports it
    (:meth:`Scorer.report_scored`), so that a killed run loses at most the pairs in flight.
    """

    #: seconds between looks at the store while waiting for pairs another run holds
    poll_s = 0.2

    def __init__(self, score: Score, store: ScoreStore | None, question_template: str | None,
                 answer_template: str | None, options: dict[str, Any]) -> None:
        self.s = score
        self.store = store
        self.qt, self.at = question_template, answer_template
        self.options = options
        templates = score.model.templates(question_template, answer_template)
        self.q = templates.question if templates else None
        self.a = templates.answer if templates else None
        self.identity = score.model.identity
        self.prov_id = store.add_provenance({**score.provenance, "call_options": options}) if store else ""
        self.computed = 0
        self.reused = 0
        #: pairs another run had claimed: (sample, media row, text column), settled by :meth:`finish`
        self.pending: list[tuple[_Plan, int, int]] = []
        self._renewed = time.monotonic()

    def score_many(self, samples: list[tuple[list[Media], list[str]]]) -> list[SampleResult]:
        """Score several (media, texts) samples in one scorer call; only pairs missing from the store are asked
        for: media with every text missing go as one group, media with some texts missing as their own.
        A stored score comes back with its stored note, marked ``detail["stored"] = True``. Pairs another run
        is computing stay NaN (without a failure) until :meth:`finish`."""
        name = self.s.spec.name
        todo: list[tuple[_Plan, list[list[int]]]] = []
        for media, texts in samples:
            keys = [[score_key(name, self.q, self.a, self.options, m.hash, t, self.identity) for t in texts]
                    for m in media]
            plan = _Plan(media, texts, keys)
            if self.store:
                have, mine, _ = self.store.claim(k for row in keys for k in row)
            else:
                have, mine = {}, {k for row in keys for k in row}
            missing: list[list[int]] = []
            for i, row in enumerate(keys):
                for j, k in enumerate(row):
                    if k in have:
                        self._fill_stored(plan, i, j, have[k])
                    elif k not in mine:
                        self.pending.append((plan, i, j))
                missing.append([j for j, k in enumerate(row) if k in mine and k not in have])
            todo.append((plan, missing))
        self._compute(todo)
        return [plan.result for plan, _ in todo]

    def finish(self) -> None:
        """Wait for the pairs other runs had claimed: take their stored scores, or claim and compute the pairs
        whose claim lapsed (that run died or gave up on them)."""
        while self.pending and self.store is not None:
            time.sleep(self.poll_s)
            have, mine, _ = self.store.claim(plan.keys[i][j] for plan, i, j in self.pending)
            todo: dict[int, tuple[_Plan, list[list[int]]]] = {}
            still: list[tuple[_Plan, int, int]] = []
            for plan, i, j in self.pending:
                k = plan.keys[i][j]
                if k in have:
                    self._fill_stored(plan, i, j, have[k])
                elif k in mine:
                    todo.setdefault(id(plan), (plan, [[] for _ in plan.media]))[1][i].append(j)
                else:
                    still.append((plan, i, j))
            self.pending = still
            self._compute(list(todo.values()))

    def _fill_stored(self, plan: _Plan, i: int, j: int, entry: tuple[float, dict[str, Any] | None]) -> None:
        value, stored = entry
        plan.result.scores[i, j] = value
        if stored:
            plan.result.notes.append(PairNote(i, j, stored["kind"], stored["message"],
                                              {**stored.get("detail", {}), "stored": True}))
        self.reused += 1

    def _row(self, plan: _Plan, i: int, j: int, value: float, note: PairNote | None) -> dict[str, Any]:
        return {"key": plan.keys[i][j], "model": self.s.spec.name, "question_template": self.q,
                "answer_template": self.a, "options": self.options, "media_hash": plan.media[i].hash,
                "media_source": plan.media[i].source, "text": plan.texts[j], "score": value,
                "note": {"kind": note.kind, "message": note.message, "detail": note.detail} if note else None}

    def _compute(self, todo: list[tuple[_Plan, list[list[int]]]]) -> None:
        groups: list[tuple[list[Media], list[str]]] = []
        where: list[tuple[_Plan, list[int], list[int]]] = []  # group -> (sample, media rows, text columns)
        for plan, missing in todo:
            n_t = len(plan.texts)
            full = [i for i, cols in enumerate(missing) if len(cols) == n_t]
            if full:
                groups.append(([plan.media[i] for i in full], plan.texts))
                where.append((plan, full, list(range(n_t))))
            for i, cols in enumerate(missing):
                if cols and len(cols) < n_t:
                    groups.append(([plan.media[i]], [plan.texts[j] for j in cols]))
                    where.append((plan, [i], cols))
        if not groups:
            return
        written: set[tuple[int, int, int]] = set()  # (group, row, column) the scorer reported and we stored

        def sink(done: list[tuple[int, int, int, float, PairNote | None]]) -> None:
            rows_out = []
            for g, gi, gj, value, note in done:
                plan, rows, cols = where[g]
                if (g, gi, gj) not in written and math.isfinite(value):
                    written.add((g, gi, gj))
                    rows_out.append(self._row(plan, rows[gi], cols[gj], value, note))
            if rows_out and self.store is not None:
                self.store.put_many(rows_out, self.prov_id)
                if time.monotonic() - self._renewed > self.store.claim_ttl / 4:
                    self.store.renew()  # a long computation keeps its claims
                    self._renewed = time.monotonic()

        try:
            results, failures, notes = self.s._score_groups(groups, self.qt, self.at, self.options,
                                                            on_pairs=sink if self.store else None)
            for g, (plan, rows, cols) in enumerate(where):
                plan.result.scores[torch.tensor(rows).unsqueeze(1), torch.tensor(cols).unsqueeze(0)] = results[g]
                self.computed += len(rows) * len(cols)
            fresh: dict[tuple[int, int, int], PairNote] = {}
            new_failures: list[tuple[_Plan, PairFailure]] = []
            records: list[PairFailure | PairNote] = [*failures, *notes]
            for rec in records:  # group indices -> the sample's own
                g = rec.group
                plan, rows, cols = where[g]
                gi, gj = rec.media_index, rec.text_index
                rec.media_index, rec.text_index, rec.group = rows[gi], cols[gj], 0
                if isinstance(rec, PairFailure):
                    plan.result.failures.append(rec)
                    new_failures.append((plan, rec))
                    written.add((g, gi, gj))  # a failed pair is never stored as a score
                else:
                    plan.result.notes.append(rec)
                    fresh[(g, gi, gj)] = rec
            if self.store:
                rows_out = [self._row(plan, i, j, float(plan.result.scores[i, j]), fresh.get((g, gi, gj)))
                            for g, (plan, rows, cols) in enumerate(where)
                            for gi, i in enumerate(rows) for gj, j in enumerate(cols) if (g, gi, gj) not in written]
                self.store.put_many(rows_out, self.prov_id)
                fails_out = [{"key": plan.keys[f.media_index][f.text_index], "model": self.s.spec.name,
                              "media_source": plan.media[f.media_index].source, "text": plan.texts[f.text_index],
                              "error": f.error, "kind": f.kind}
                             for plan, f in new_failures]
                if fails_out:
                    self.store.put_failures(fails_out)
        finally:
            if self.store:
                self.store.release(plan.keys[i][j] for plan, rows, cols in where for i in rows for j in cols)
