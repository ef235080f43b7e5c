"""The base class every scorer derives from. Importing this module imports torch.

A plugin's scorer receives ALL the media and texts of a call at once (:meth:`Scorer.score`), so that it
can encode each image once, batch pairs and share an image prefix across texts. The base class gives a
correct pairwise default, batched by ``batch_size``: a family implements :meth:`Scorer.score_pairs` and
overrides :meth:`Scorer.score` when it can do better.
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch

from . import media as media_mod
from .device import check_available, resolve_device, resolve_dtype
from .errors import OptionError, T2VError
from .progress import progress_bar
from .specs import ScorerSpec
from .templates import Templates, resolve

#: set while a front-end builds a scorer with ``lazy=True``: ``__init__`` then leaves :meth:`Scorer.load` for later
_DEFER_LOAD: contextvars.ContextVar[bool] = contextvars.ContextVar("t2v_defer_load", default=False)


@dataclass
class PairFailure:
    """One (media, text) pair that could not be scored; its score is NaN and this says why."""

    media_index: int
    text_index: int
    error: str
    kind: str = "error"  # e.g. "rate_limit", "timeout", "server", "bad_reply", "auth"
    detail: dict[str, Any] = field(default_factory=dict)
    #: in :meth:`Scorer.score_groups`, the group the pair belongs to (indices are local to the group)
    group: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return asdict(self)


@dataclass
class PairNote:
    """A caveat on one pair's score: the number is reported, but it is not an exact value of the metric.

    For example a hosted model's ``upper_bound``: the answer was not among the returned candidates, so
    only an upper bound of its probability is known. Notes travel with the score: they are listed on the
    scorer (``.notes``), kept in the score store beside the number (and given back when a run resumes from
    it), and written in the CLI's ``note`` column.
    """

    media_index: int
    text_index: int
    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: in :meth:`Scorer.score_groups`, the group the pair belongs to (indices are local to the group)
    group: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return asdict(self)


def _version(dist: str | None) -> str | None:
    if not dist:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _secret(option: str) -> bool:
    low = option.lower()
    return any(w in low for w in ("key", "token", "secret", "password", "credential"))


class Scorer:
    """Base class of all scorers.

    Subclasses set ``call_options`` (the keyword arguments a call accepts, with defaults), implement
    :meth:`load` (build the model; heavy imports go here), and :meth:`score_pairs` and/or :meth:`score`.
    """

    #: keyword arguments accepted at call time (besides templates), with their defaults
    call_options: ClassVar[dict[str, Any]] = {}
    default_batch_size: ClassVar[int] = 16
    #: what happens to transparency when images are loaded ("drop": as the reference; "white": composited);
    #: users override it with the ``alpha=`` option
    default_alpha: ClassVar[str] = "drop"
    #: the dtype used when the user gives none (``None``: bf16 on GPU, fp32 elsewhere)
    default_dtype: ClassVar[Any] = None
    #: dtypes this family refuses, with the reason shown to the user
    refused_dtypes: ClassVar[dict[Any, str]] = {}
    #: constructor options that do not change a score (left out of :attr:`identity` and the store key)
    runtime_options: ClassVar[frozenset[str]] = frozenset(
        {"progress", "batch_size", "video_backend", "max_concurrency", "requests_per_minute", "timeout",
         "max_retries", "max_retry_wait", "attn_implementation", "device_map"})
    #: constructor options this family accepts beyond the core's (device, dtype, batch_size, video_backend,
    #: progress, alpha), with their defaults; ``None``: it declares none, so only those its spec sets pass
    init_options: ClassVar[dict[str, Any] | None] = None

    #: set by the front-end while :meth:`score_groups` runs: receives the pairs handed to :meth:`report_scored`
    pair_sink: Callable[[list[tuple[int, int, int, float, PairNote | None]]], None] | None = None
    #: the group :meth:`score` is working on, when the default :meth:`score_groups` called it
    _group: int = 0

    def __init__(self, spec: ScorerSpec, device: Any = None, dtype: Any = None, batch_size: int | None = None,
                 video_backend: str = "pyav", progress: bool | None = None, **options: Any) -> None:
        self.spec = spec
        self.name = spec.name
        self.device = resolve_device(device)
        check_available(self.device)
        self.dtype = resolve_dtype(dtype if dtype is not None else self.default_dtype, self.device)
        if self.dtype in self.refused_dtypes:
            raise ValueError(f"model {spec.name!r} refuses dtype {self.dtype}: {self.refused_dtypes[self.dtype]}")
        if batch_size is not None:
            check_batch_size(batch_size)
        self.batch_size = batch_size or self.default_batch_size_for(self.device)
        self.video_backend = video_backend
        self.progress = progress
        self.options = dict(options)
        self.check_constructor_options(spec, self.options)
        if (self.options.get("alpha") or self.default_alpha) not in media_mod.ALPHA_MODES:
            raise ValueError(f"alpha must be one of {media_mod.ALPHA_MODES}, got {self.options.get('alpha')!r}")
        #: failures of the last call (empty when every pair was scored)
        self.failures: list[PairFailure] = []
        #: caveats on scores of the last call (e.g. upper bounds); empty when every score is exact
        self.notes: list[PairNote] = []
        #: the weights' revision (commit hash or local path), set by :meth:`load` when known
        self.weights_revision: str | None = None
        self._loaded = self._revision_known = False
        if not _DEFER_LOAD.get():
            self.ensure_loaded()

    def ensure_loaded(self) -> None:
        """Run :meth:`load` once. A scorer built with ``lazy=True`` loads here, when there is work left."""
        if not self._loaded:
            self.load()
            self._loaded = self._revision_known = True

    def peek_weights_revision(self) -> str | None:
        """The ``weights_revision`` that :meth:`load` will record, found without loading (a cache lookup), so
        that a rerun whose scores are all in a store never loads the weights. The default knows it only for a
        family with nothing to load; others raise :class:`NotImplementedError`, and are loaded first."""
        if type(self).load is Scorer.load:
            return None
        raise NotImplementedError

    def _know_revision(self) -> None:
        if self._revision_known:
            return
        try:
            self.weights_revision = self.peek_weights_revision()
            self._revision_known = True
        except NotImplementedError:
            self.ensure_loaded()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} model={self.name!r} kind={self.spec.kind} device={self.device} "
                f"dtype={str(self.dtype).replace('torch.', '')} plugin={self.spec.plugin!r}>")

    @classmethod
    def accepted_options(cls, spec: ScorerSpec) -> dict[str, Any]:
        """Constructor options (beyond the core's) with defaults, as ``t2v models MODEL`` shows them."""
        if cls.init_options is not None:
            return {"alpha": None, **cls.init_options}
        return {"alpha": None, **spec.options}

    @classmethod
    def check_constructor_options(cls, spec: ScorerSpec, options: dict[str, Any]) -> None:
        """Refuse options the family does not accept: a typo must not end up silently in the store key."""
        accepted = cls.accepted_options(spec)
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            core = "device, dtype, batch_size, video_backend, progress"
            raise TypeError(f"model {spec.name!r} got unexpected option(s) {unknown}; it accepts: "
                            f"{', '.join(sorted(accepted))} (and {core}). `t2v models {spec.name}` shows "
                            "them with their defaults")

    @classmethod
    def default_batch_size_for(cls, device: Any) -> int:
        """The batch size used when the user gives none; families may size it by device."""
        return cls.default_batch_size

    # ------------------------------------------------------------------ to implement
    def load(self) -> None:
        """Build the model (download or read weights). Called once, from ``__init__``."""

    def score_pairs(self, media: Sequence[media_mod.Media], texts: Sequence[str], *,
                    templates: Templates | None, **options: Any) -> torch.Tensor:
        """Score aligned pairs ``(media[k], texts[k])``; returns a float tensor of shape ``(len(texts),)``.

        A failure or note appended here names its pair by position: ``media_index = text_index = k``; the
        default :meth:`score` maps it to the pair's place in the ``M x N`` matrix.
        """
        raise NotImplementedError(f"{type(self).__name__} implements neither score_pairs nor score")

    def score(self, media: Sequence[media_mod.Media], texts: Sequence[str], *, templates: Templates | None,
              **options: Any) -> torch.Tensor:
        """Score every media item against every text; returns an ``M x N`` float tensor.

        The default scores the ``M*N`` pairs with :meth:`score_pairs` in batches of ``batch_size``.
        """
        m, n = len(media), len(texts)
        pairs = [(i, j) for i in range(m) for j in range(n)]
        check_batch_size(self.batch_size)
        # NaN, not torch.empty: an entry no batch wrote must never pass for a score
        out = torch.full((m * n,), float("nan"), dtype=torch.float32)
        written = 0
        starts = range(0, len(pairs), self.batch_size)
        for s in progress_bar(starts, enabled=self.progress, total=len(starts), desc=f"{self.name}", unit="batch"):
            chunk = pairs[s:s + self.batch_size]
            n_failures, n_notes = len(self.failures), len(self.notes)
            scores = self.score_pairs([media[i] for i, _ in chunk], [texts[j] for _, j in chunk],
                                      templates=templates, **options)
            flat = scores.detach().float().cpu().reshape(-1)
            if flat.numel() != len(chunk):
                raise RuntimeError(f"score_pairs of {self.name!r} returned {flat.numel()} scores for {len(chunk)} "
                                   f"pairs: a bug in plugin {self.spec.plugin!r}")
            out[s:s + len(chunk)] = flat
            written += len(chunk)
            added: list[PairFailure | PairNote] = [*self.failures[n_failures:], *self.notes[n_notes:]]
            for rec in added:
                rec.media_index, rec.text_index = chunk[rec.media_index]
            if self.pair_sink is not None:
                failed = {(f.media_index, f.text_index) for f in self.failures[n_failures:]}
                noted = {(n.media_index, n.text_index): n for n in self.notes[n_notes:]}
                self.report_scored([(self._group, i, j, float(flat[k]), noted.get((i, j)))
                                    for k, (i, j) in enumerate(chunk) if (i, j) not in failed])
        if written != m * n:
            raise RuntimeError(f"{type(self).__name__}.score wrote {written} of {m * n} scores")
        return out.reshape(m, n)

    def score_groups(self, groups: Sequence[tuple[Sequence[media_mod.Media], Sequence[str]]], *,
                     templates: Templates | None, **options: Any) -> list[torch.Tensor]:
        """Score several independent (media, texts) groups; one ``M_g x N_g`` tensor per group.

        ``batch_forward`` and the CLI hand over many samples at once through this method, so that a family
        can batch (or, for hosted models, run concurrently) across samples. The default scores each group
        with :meth:`score`; failures and notes it reports get ``group`` set. An override must set ``group``
        itself.
        """
        results: list[torch.Tensor] = []
        failures: list[PairFailure] = []
        notes: list[PairNote] = []
        for g, (media, texts) in enumerate(groups):
            self.failures, self.notes = [], []
            self._group = g
            try:
                results.append(self.score(media, texts, templates=templates, **options))
            finally:
                self._group = 0
            records: list[PairFailure | PairNote] = [*self.failures, *self.notes]
            for rec in records:
                rec.group = g
            failures.extend(self.failures)
            notes.extend(self.notes)
        self.failures, self.notes = failures, notes
        return results

    def report_scored(self, pairs: Sequence[tuple[int, int, int, float, PairNote | None]]) -> None:
        """Hand over scores as soon as they are computed, each ``(group, media_index, text_index, score,
        note)`` (indices as in :meth:`score_groups`; ``note`` the pair's :class:`PairNote` or ``None``).

        The front-end stores them at once, so that a run killed a moment later does not pay for them again.
        The default :meth:`score` reports each batch; a family that overrides it may call this as pairs
        finish (hosted models: as each request returns). Not calling it is correct, only later to store:
        the scores returned by :meth:`score_groups` are stored when it returns. A failed pair is not reported.
        """
        if self.pair_sink is not None and pairs:
            self.pair_sink(list(pairs))

    def generate_media(self, media: Sequence[media_mod.Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Answer ``prompts[k]`` about ``media[k]``; families that generate text override this."""
        raise NotImplementedError(f"model {self.name!r} does not generate text")

    # ------------------------------------------------------------------ provided
    def default_templates(self) -> tuple[str | None, str | None]:
        """The model's default question and answer templates."""
        return self.spec.question_template, self.spec.answer_template

    def templates(self, question_template: str | None = None, answer_template: str | None = None) -> Templates | None:
        """Validated templates for a call (``None`` for kinds that take none, such as CLIPScore)."""
        if self.spec.kind != "vqa":
            if question_template is not None or answer_template is not None:
                raise ValueError(f"model {self.name!r} is a {self.spec.kind} scorer and takes no question/answer template")
            return None
        dq, da = self.default_templates()
        return resolve(question_template, answer_template, dq, da)

    def resolve_options(self, **kwargs: Any) -> dict[str, Any]:
        """Call options with defaults filled in; an unknown option is an error naming the allowed ones."""
        unknown = sorted(set(kwargs) - set(self.call_options))
        if unknown:
            allowed = ", ".join(sorted(self.call_options)) or "none"
            raise TypeError(f"model {self.name!r} got unexpected option(s) {unknown}; it accepts: {allowed}")
        out = {**self.call_options, **{k: v for k, v in kwargs.items() if v is not None}}
        check_numeric_options(out, model=self.name)
        return out

    def load_media(self, items: Any, first_index: int = 0) -> list[media_mod.Media]:
        """Load user media items, checking each is a kind this model accepts (``first_index``: the index of
        ``items[0]`` in the caller's list, for error messages)."""
        return media_mod.load_all(items, video_backend=self.video_backend, accepted=self.spec.media, model=self.name,
                                  alpha=self.options.get("alpha") or self.default_alpha, first_index=first_index)

    def generate(self, images: Any, texts: Sequence[str] | str, **options: Any) -> list[str]:
        """Text generation, as the reference's ``model.generate(images=..., texts=...)``: one answer per pair."""
        self.ensure_loaded()
        media = self.load_media(images)
        prompts = [texts] if isinstance(texts, str) else list(texts)
        if len(media) != len(prompts):
            raise ValueError(f"generate pairs images with prompts one to one: got {len(media)} media and "
                             f"{len(prompts)} prompts")
        return self.generate_media(media, prompts, **options)

    def forward(self, images: Any, texts: Sequence[str], question_template: str | None = None,
                answer_template: str | None = None, **options: Any) -> torch.Tensor:
        """The reference's pairwise ``forward``: scores ``(images[k], texts[k])``, shape ``(K,)``."""
        self.ensure_loaded()
        media = self.load_media(images)
        if len(media) != len(texts):
            raise ValueError(f"forward pairs images with texts one to one: got {len(media)} and {len(texts)}")
        return self.score_pairs(media, list(texts), templates=self.templates(question_template, answer_template),
                                **self.resolve_options(**options))

    @property
    def identity(self) -> dict[str, Any]:
        """What, besides the model name, templates and call options, changes this scorer's numbers: the dtype,
        the weights' revision and the constructor options (secrets and :attr:`runtime_options` left out).
        It is part of every score-store key."""
        self._know_revision()
        return {
            "dtype": str(self.dtype).replace("torch.", ""),
            "weights_revision": self.weights_revision,
            "options": {k: v for k, v in sorted(self.options.items())
                        if k not in self.runtime_options and not _secret(k)
                        and isinstance(v, (str, int, float, bool, type(None), list, tuple))},
        }

    @property
    def provenance(self) -> dict[str, Any]:
        """How results of this scorer are made: model, weights, dtype, device and library versions."""
        self._know_revision()
        return {
            "model": self.name,
            "kind": self.spec.kind,
            "plugin": self.spec.plugin,
            "plugin_version": _version(self.spec.plugin),
            "weights": list(self.spec.weights),
            "weights_revision": self.weights_revision,
            "default_question_template": self.spec.question_template,
            "default_answer_template": self.spec.answer_template,
            "dtype": str(self.dtype).replace("torch.", ""),
            "device": str(self.device),
            "video_backend": self.video_backend,
            "options": {k: v for k, v in self.options.items() if isinstance(v, (str, int, float, bool, type(None)))
                        and not _secret(k)},
            "versions": {
                "t2v-core": _version("t2v-core"),
                "torch": torch.__version__,
                "transformers": _version("transformers"),
                "python": platform.python_version(),
            },
        }


def check_batch_size(batch_size: Any, name: str = "batch_size") -> int:
    """``batch_size`` if it is a positive integer; else an :class:`OptionError` naming it."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise OptionError(f"{name} must be a positive integer (1, 2, ...), got {batch_size!r}")
    return batch_size


def check_numeric_options(options: dict[str, Any], model: str = "") -> None:
    """Refuse bad values of the shared video options before any work: ``num_frames`` a positive integer,
    ``fps`` a positive number (or ``"dynamic"``, for families that take it)."""
    who = f" (model {model!r})" if model else ""
    nf = options.get("num_frames")
    if nf is not None and (isinstance(nf, bool) or not isinstance(nf, int) or nf < 1):
        raise OptionError(f"num_frames{who} must be a positive integer, got {nf!r}")
    fps = options.get("fps")
    if fps is not None and fps != "dynamic":
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0 or fps == float("inf"):
            raise OptionError(f"fps must be a positive number or 'dynamic' (for families that take it){who}, "
                              f"got {fps!r}")


#: what ``generate`` takes in the families that call a transformers model's ``generate`` themselves
GENERATE_OPTIONS = ("max_new_tokens", "temperature", "top_p", "num_beams", "num_frames")


def generation_kwargs(model: str, prompts: Sequence[Any], options: dict[str, Any]) -> dict[str, Any]:
    """Check ``generate``'s prompts and options (:data:`GENERATE_OPTIONS`) and turn them into keyword arguments
    of a transformers ``generate``: greedy unless ``temperature > 0`` (then sampling, with ``top_p`` if given),
    ``max_new_tokens`` 128 and ``num_beams`` 1 by default. ``num_frames`` is the caller's (video sampling)."""
    unknown = sorted(set(options) - set(GENERATE_OPTIONS))
    if unknown:
        raise TypeError(f"generate with model {model!r} got unexpected option(s) {unknown}; it accepts: "
                        f"{', '.join(GENERATE_OPTIONS)}")
    for k, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise ValueError(f"prompt {k} is a {type(prompt).__name__} ({prompt!r}); every prompt must be a string")
    temperature = float(options.get("temperature", 0.0))
    kwargs: dict[str, Any] = {"max_new_tokens": int(options.get("max_new_tokens", 128)),
                              "num_beams": int(options.get("num_beams", 1)), "do_sample": temperature > 0}
    if temperature > 0:
        kwargs["temperature"] = temperature
        if options.get("top_p") is not None:
            kwargs["top_p"] = float(options["top_p"])
    return kwargs


class ImageOnlyMixin:
    """For image-only families that still accept video.

    Two ways, as in the reference: ``"concat"`` lays ``num_frames`` sampled frames side by side into one
    image; ``"mean"`` scores every sampled frame as an image and averages the frame scores.
    """

    def as_image(self, item: media_mod.Media, num_frames: int = 4, gap: int = 0) -> Any:
        """The PIL image for an item; a video is sampled to ``num_frames`` frames laid side by side."""
        if isinstance(item, media_mod.Image):
            return item.image
        clip = item.sample(num_frames=num_frames)
        return media_mod.concat_frames(clip.frames, gap=gap)

    @staticmethod
    def expand_frames(media: Sequence[media_mod.Media], num_frames: int) -> tuple[list[media_mod.Image], list[int]]:
        """Every video replaced by its ``num_frames`` sampled frames (as images); ``owners[k]`` is the index
        of the media item that image ``k`` came from."""
        flat: list[media_mod.Image] = []
        owners: list[int] = []
        for i, item in enumerate(media):
            if isinstance(item, media_mod.Image):
                flat.append(item)
                owners.append(i)
            else:
                for f in item.sample(num_frames=num_frames).frames:
                    flat.append(media_mod.Image(f, source=f"{item.source} (frame)", index=i))
                    owners.append(i)
        return flat, owners

    @staticmethod
    def mean_by_owner(scores: torch.Tensor, owners: Sequence[int], num_media: int) -> torch.Tensor:
        """Average the rows of ``scores`` that belong to the same media item (see :meth:`expand_frames`)."""
        index = torch.tensor(list(owners), dtype=torch.long)
        total = torch.zeros(num_media, scores.shape[1], dtype=scores.dtype).index_add_(0, index, scores)
        counts = torch.bincount(index, minlength=num_media).to(scores.dtype).unsqueeze(1)
        return total / counts


__all__ = ["Scorer", "PairFailure", "ImageOnlyMixin", "T2VError"]
