"""The user-facing API, compatible with t2v_metrics: ``VQAScore(model=...)(images=..., texts=...)``."""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch

from . import registry
from .errors import DatasetError, ScoreNoteWarning, ScoringError, WeightsNotFoundError, missing_weights_repo
from .media import Media
from .progress import run_bar
from .scorer import _DEFER_LOAD, PairFailure, PairNote, Scorer
from .store import ScoreStore, score_key


class SampleResult(NamedTuple):
    """One sample's ``M x N`` scores with the failures and notes of its pairs (indices local to the sample)."""

    scores: torch.Tensor
    failures: list[PairFailure]
    notes: list[PairNote]


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if texts is None:
        raise ValueError("texts is missing: pass a string or a list of strings")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: pass at least one text")
    for j, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"text {j} is a {type(t).__name__} ({t!r}); every text must be a string")
    return texts


class Score:
    """A scorer built from a model name. Call it with M media and N texts to get an M x N tensor.

    Args:
        model: a registered model name or alias (``t2v models`` lists them).
        device: ``"cuda"``, ``"cpu"``, ``"mps"``, ... (default: the best available).
        dtype: ``"bf16"``, ``"fp32"``, a ``torch.dtype`` (default: bf16 on GPU, fp32 on CPU).
        **kwargs: passed to the model's scorer (``batch_size``, ``checkpoint``, ``api_key``, ...).
    """

    kind: str | None = None

    def __init__(self, model: str, device: Any = None, dtype: Any = None, *, lazy: bool = False,
                 **kwargs: Any) -> None:
        spec = registry.get_spec(model)
        if self.kind is not None and spec.kind != self.kind:
            raise ValueError(
                f"model {model!r} is a {spec.kind!r} scorer, not {self.kind!r}: use "
                f"{ {'vqa': 'VQAScore', 'clip': 'CLIPScore', 'itm': 'ITMScore'}[spec.kind]}(model={model!r}) "
                f"or get_score_model(model={model!r})"
            )
        cls = spec.load_class()
        if not (isinstance(cls, type) and issubclass(cls, Scorer)):
            raise TypeError(f"plugin {spec.plugin!r} registered {spec.scorer!r} for {model!r}, which is not a t2v_core.Scorer")
        self.spec = spec
        options = {**spec.options, **kwargs}
        self._repos = tuple(str(options[k]) for k in ("checkpoint", "tokenizer") if options.get(k)) + spec.weights
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
                      answer_template: str | None, options: dict[str, Any]
                      ) -> tuple[list[torch.Tensor], list[PairFailure], list[PairNote]]:
        templates = self.model.templates(question_template, answer_template)
        self._record_call(question_template, answer_template, options)
        self.ensure_loaded()
        self.model.failures, self.model.notes = [], []
        results = self.model.score_groups(groups, templates=templates, **options)
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
        items = videos if videos is not None else images
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
        try:
            run = self.open_run(st, question_template, answer_template, options)
            bar = run_bar(len(samples) * n_m * n_t, desc=self.spec.name, enabled=progress)
            # Samples go to the scorer in chunks, so that a family can batch (or, for hosted models, run
            # concurrently) across samples; each chunk is stored as soon as it is scored.
            chunk_pairs = max(4 * self.model.batch_size, 32)
            s = 0
            while s < len(samples):
                chunk: list[tuple[list[Media], list[str]]] = []
                first = s
                while s < len(samples) and (not chunk or (s - first + 1) * n_m * n_t <= chunk_pairs):
                    items, texts = samples[s]
                    try:
                        chunk.append((self.model.load_media(items), texts))
                    except Exception as e:
                        raise DatasetError(f"sample {s}: {e}") from e
                    s += 1
                reused_before = run.reused
                for k, result in enumerate(run.score_many(chunk)):
                    out[first + k] = result.scores
                    records: list[PairFailure | PairNote] = [*result.failures, *result.notes]
                    for rec in records:
                        rec.detail = {**rec.detail, "sample": first + k}
                    failures.extend(result.failures)
                    notes.extend(result.notes)
                    bar.update(n_m * n_t, failed=len(result.failures), noted=len(result.notes),
                               scores={self.spec.name: result.scores[~torch.isnan(result.scores)].tolist()})
                bar.reused += run.reused - reused_before
            bar.close()
            if bar.drawn:
                print(bar.summary(), file=sys.stderr)
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
            items = [items] if isinstance(items, (str, Path)) else list(items)
            texts = [texts] if isinstance(texts, str) else list(texts)
            if not items or not texts:
                raise DatasetError(f"sample {s} has {len(items)} {has[0]} and {len(texts)} texts; both must be non-empty")
            bad = [j for j, t in enumerate(texts) if not isinstance(t, str)]
            if bad:
                raise DatasetError(f"sample {s}: text {bad[0]} is a {type(texts[bad[0]]).__name__}, not a string")
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


class _Run:
    """Scores groups of one call's settings, skipping what a store already holds and storing what it computes."""

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

    def score_many(self, samples: list[tuple[list[Media], list[str]]]) -> list[SampleResult]:
        """Score several (media, texts) samples in one scorer call; only pairs missing from the store are asked
        for: media with every text missing go as one group, media with some texts missing as their own.
        A stored score comes back with its stored note, marked ``detail["stored"] = True``."""
        name = self.s.spec.name
        plans: list[tuple[list[Media], list[str], list[list[str]], SampleResult]] = []
        groups: list[tuple[list[Media], list[str]]] = []
        where: list[tuple[int, list[int], list[int]]] = []  # group -> (sample, media rows, text columns)
        for s, (media, texts) in enumerate(samples):
            keys = [[score_key(name, self.q, self.a, self.options, m.hash, t, self.identity) for t in texts]
                    for m in media]
            have = self.store.get_entries(k for row in keys for k in row) if self.store else {}
            result = SampleResult(torch.full((len(media), len(texts)), float("nan")), [], [])
            missing: list[list[int]] = []
            for i, row in enumerate(keys):
                for j, k in enumerate(row):
                    if k in have:
                        value, stored = have[k]
                        result.scores[i, j] = value
                        if stored:
                            result.notes.append(PairNote(i, j, stored["kind"], stored["message"],
                                                         {**stored.get("detail", {}), "stored": True}))
                missing.append([j for j, k in enumerate(row) if k not in have])
            self.reused += sum(len(texts) - len(m) for m in missing)
            full = [i for i, cols in enumerate(missing) if len(cols) == len(texts)]
            if full:
                groups.append(([media[i] for i in full], texts))
                where.append((s, full, list(range(len(texts)))))
            for i, cols in enumerate(missing):
                if cols and len(cols) < len(texts):
                    groups.append(([media[i]], [texts[j] for j in cols]))
                    where.append((s, [i], cols))
            plans.append((media, texts, keys, result))
        if groups:
            results, failures, notes = self.s._score_groups(groups, self.qt, self.at, self.options)
            for g, (s, rows, cols) in enumerate(where):
                plans[s][3].scores[torch.tensor(rows).unsqueeze(1), torch.tensor(cols).unsqueeze(0)] = results[g]
                self.computed += len(rows) * len(cols)
            fresh: dict[tuple[int, int, int], PairNote] = {}
            records: list[PairFailure | PairNote] = [*failures, *notes]
            for rec in records:  # group indices -> the sample's own
                s, rows, cols = where[rec.group]
                rec.media_index, rec.text_index, rec.group = rows[rec.media_index], cols[rec.text_index], 0
                if isinstance(rec, PairFailure):
                    plans[s][3].failures.append(rec)
                else:
                    plans[s][3].notes.append(rec)
                    fresh[(s, rec.media_index, rec.text_index)] = rec
            if self.store:
                rows_out = []
                for s, grows, gcols in where:
                    media, texts, keys, result = plans[s]
                    for i in grows:
                        for j in gcols:
                            note = fresh.get((s, i, j))
                            rows_out.append({
                                "key": keys[i][j], "model": name, "question_template": self.q,
                                "answer_template": self.a, "options": self.options, "media_hash": media[i].hash,
                                "media_source": media[i].source, "text": texts[j],
                                "score": float(result.scores[i, j]),
                                "note": {"kind": note.kind, "message": note.message, "detail": note.detail}
                                if note else None})
                self.store.put_many(rows_out, self.prov_id)
                fails_out = []
                for media, texts, keys, result in plans:
                    fails_out += [{"key": keys[f.media_index][f.text_index], "model": name,
                                   "media_source": media[f.media_index].source, "text": texts[f.text_index],
                                   "error": f.error, "kind": f.kind} for f in result.failures]
                if fails_out:
                    self.store.put_failures(fails_out)
        return [result for _, _, _, result in plans]
