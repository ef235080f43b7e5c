"""VQAScore for chat-templated transformers vision-language models (image-text-to-text checkpoints).

The score of a (media, text) pair, with ``question, answer = templates.fill(text)``:

1. one user message holds ``[media, question]``; the processor's chat template is applied with the generation
   prompt (``add_generation_prompt=True``);
2. ONE forward pass of the model over that prompt (no ``generate``);
3. ``answer_likelihood="first"`` (default, the reference's definition): the softmax of the next-token logits
   after the prompt, taken at the first token of the answer (``tokenizer(answer, add_special_tokens=False)[0]``);
   ``answer_likelihood="full"``: the probability of every answer token in turn, ``prod_k P(a_k | prompt, a_<k)``,
   with the answer's tokens being the last tokens of ``tokenizer(prompt + answer)``.

For M media x N texts, each media item's prompt prefix (chat header + the media's tokens) is run once and its
key/value cache reused for the N question suffixes, batched; pairs that cannot share a prefix (one text per
item, or a family that opts out with ``prefix_reuse = False``) are batched whole with left padding.
Families subclass :class:`HFVLMScorer` and override the hooks documented on it.
"""

from __future__ import annotations

import copy
import inspect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from t2v_core.device import per_forward, preferred_attn_implementation, to_device
from t2v_core.media import Image, Media, Video, concat_frames
from t2v_core.scorer import Scorer
from t2v_core.templates import Templates

from .loading import from_pretrained, transformers_version, weights_revision
from .media_features import MediaFeatureMemo
from .processors import GENERATION_CONFIGS, ReadProcessors

ANSWER_LIKELIHOODS = ("first", "full")
# Stands for the question while the chat template is rendered, so that the text around it can be split off.
_SENTINEL = "@@t2v-question-7f3a@@"


@dataclass
class PreparedMedia:
    """A media item made ready for the processor.

    Attributes:
        kind: ``"image"`` or ``"video"``.
        data: what the processor receives for it: a PIL image, or a video's frames (PIL images or a tensor).
        metadata: for videos, what the processor needs to know about the sampling (``fps`` of the source,
            ``total_num_frames``, ``frames_indices``), as ``transformers.video_utils.VideoMetadata`` fields.
        extra: anything a family needs later (e.g. the sampling rate used for temporal positions).
        frame_labels: for a video given to the model as interleaved images (families without a video
            input): the text written before each frame (e.g. ``"Frame at 0.5s:"``); ``data`` is then the list
            of frames as PIL images. ``None``: the media goes in as one image or one native video.
    """

    kind: str
    data: Any
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    frame_labels: list[str] | None = None


@dataclass
class _Query:
    """One prompt to score: token ids after the shared prefix, and the (position, token) pairs to read."""

    ids: list[int]
    answer: list[int]


class HFVLMScorer(Scorer):
    """VQAScore with any chat-templated ``AutoModelForImageTextToText`` checkpoint.

    Constructor options (besides the core's ``device``, ``dtype``, ``batch_size``):
        checkpoint: hub repo id or local folder (default: the spec's first ``weights`` entry).
        revision: hub revision (branch, tag or commit) for a hub id.
        answer_likelihood: ``"first"`` (P of the answer's first token, the reference's score) or ``"full"``
            (the probability of the whole answer, token by token).
        prefix_reuse: run each media item's prefix once and reuse its KV cache for every text (default:
            the class's ``prefix_reuse``); ``False`` scores every pair with a whole forward pass.
        attn_implementation: passed to ``from_pretrained`` (``"sdpa"``, ``"eager"``, ``"flash_attention_2"``);
            default: :func:`t2v_core.device.preferred_attn_implementation` (flash attention 2 on CUDA where
            ``flash_attn`` is installed, else SDPA), falling back to transformers' own choice for a model that
            does not support it. The one used is ``self.attn_implementation``.
        generation_config: ``"reference"`` (default): read probabilities after the logits processors that the
            reference's ``generate`` ran from the checkpoint's generation config (see :mod:`t2v_hf.processors`);
            ``"none"``: the plain softmax of the model's logits.

    Hooks for families (override in a subclass; all have working defaults):
        model_class: a transformers class name (default ``AutoModelForImageTextToText``).
        load_kwargs(): extra ``from_pretrained`` kwargs for the model.
        processor_load_kwargs(): extra ``AutoProcessor.from_pretrained`` kwargs.
        prepare_image(pil, **call_options): an image's preprocessing before the processor (resize, ...).
        prepare_video(video, **call_options): sample and preprocess a video -> :class:`PreparedMedia`.
        media_content(prepared): the message content entry for a media item (``{"type": "image"}``).
        build_messages(question, prepared): the chat messages for a question about a media item.
        processor_inputs(texts, prepared): call the processor on rendered prompts (one media item each).
        video_processor_kwargs(prepared): extra processor kwargs for a batch of videos.
        next_position(inputs, length): the position id of the first token after a prefix (mrope models
            differ from ``length``).
        text_position_ids(start, batch, length): position ids of plain-text tokens from ``start`` on.
        generation_input: ``"input_ids"`` if the reference called ``generate(input_ids=...)`` (its processors
            saw the prompt's ids), ``"embeds"`` if it generated from ``inputs_embeds`` only (no prompt ids).
        generation_model(): the model whose ``generate`` (and generation config) the reference used.
        reference_generate_kwargs(): generation arguments the reference passed besides greedy, 1 new token.
        chat_template_kwargs(): extra keyword options for ``apply_chat_template`` (e.g.
            ``{"enable_thinking": False}``); default none.
        finish_prompt(text): amend the rendered template (default unchanged).
        render(question, prepared): the whole prompt text; families without a chat template override it
            (and set ``prefix_reuse = False`` unless the split around the question is exact).
        add_special_tokens(text): whether the tokenizer adds its special tokens to a rendered prompt;
            default: not when the prompt already starts with the tokenizer's BOS (chat templates that write
            ``{{ bos_token }}``), so that a prompt never starts with two BOS tokens.
        media_contents(prepared): the content entries of a media item; default one ``media_content``, or,
            for a video given as images (``frame_labels``), each label as text followed by an image.
        video_frame_label: a ``str.format`` pattern with ``{t}`` (seconds) or ``None`` (default: native
            video); when set, the default ``prepare_video`` gives videos as interleaved labelled images.
        frame_label(index, fps): the text written before one such frame.
        nested_images: pass images to the processor as one list per prompt (``[[im], [im]]``), as
            processors that take several images per prompt (Gemma 3, Mllama) require.
        logits_vocab_limit(): ``N`` to read scores from the first ``N`` logits only (the softmax and every
            read token run over rows ``0..N-1``); default ``None``, all rows. For conversions that padded
            the vocabulary (and ``lm_head``) with rows the original model never had.
        video_side_by_side: ``True`` for image-only families: the default ``prepare_video`` lays the sampled
            frames side by side, ``frame_gap`` pixels apart (black), into ONE image (the reference's "concat"
            video mode), which is then scored as that image.
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 8, "fps": None}
    default_batch_size: ClassVar[int] = 8
    #: transformers class that loads the weights; None: AutoModelForImageTextToText
    model_class: ClassVar[str | None] = None
    #: whether a media prefix's KV cache is computed once and reused across texts
    prefix_reuse: ClassVar[bool] = True
    #: what the reference's generate saw of the prompt: "input_ids" (its token ids) or "embeds" (none)
    generation_input: ClassVar[str] = "input_ids"
    #: None: videos go to the processor natively; a pattern such as "Frame at {t}s:": as labelled images
    video_frame_label: ClassVar[str | None] = None
    #: images as one list per prompt (processors that take several images per prompt)
    nested_images: ClassVar[bool] = False
    #: image-only families: a video becomes its sampled frames side by side in one image, frame_gap px apart
    video_side_by_side: ClassVar[bool] = False
    frame_gap: ClassVar[int] = 10
    #: batch whole prompts after their shared text head, run once (needs a forward that takes media tokens
    #: after a cache, with explicit position ids); off for families whose attention depends on more than
    #: causality (bidirectional image blocks, prefix-LM) until checked
    header_reuse: ClassVar[bool] = False
    #: whole-prompt families (no prefix reuse) whose media encoding sees only the pixels: where whole prompts
    #: run one per forward (CPU), each item's ``get_image_features`` runs once per call and its other texts
    #: reuse it (:mod:`t2v_hf.media_features`)
    media_feature_reuse: ClassVar[bool] = False
    #: the installed memo (:meth:`reuse_media_features`); None: every forward encodes its media
    _feature_memo: MediaFeatureMemo | None = None
    #: at most this many whole prompts per forward on CPU, whatever batch_size says: there a batch of whole
    #: prompts does the prompts' work plus padding and batch copies, so batching them loses (measured,
    #: Qwen2.5-VL 8 x 1 at one thread against the reference-shaped loop: 0.81-0.87x batched by 8, above 1x one
    #: by one); prefix reuse's suffix batches keep batch_size. None: batch_size everywhere (tests set it on an
    #: instance to run the batched path, which GPUs take, on a CPU)
    cpu_whole_prompt_batch: ClassVar[int | None] = 1
    #: constructor options this scorer accepts, with defaults (subclasses extend)
    init_options: ClassVar[dict[str, Any]] = {"checkpoint": None, "revision": None, "answer_likelihood": "first",
                                               "prefix_reuse": None, "attn_implementation": None, "alpha": None,
                                               "generation_config": "reference"}

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the processor and model from ``checkpoint`` (hub id or folder) and record the revision."""
        checkpoint = self.check_options()
        self.load_model_and_processor(checkpoint, self.options["revision"])
        self.init_scoring_state()
        if self.media_feature_reuse:
            self.reuse_media_features()

    def reuse_media_features(self) -> None:
        """Encode each media item once per call where whole prompts run one per forward (``media_feature_reuse``;
        a family that decides only after loading, such as Qwen3.5's, calls this itself). A model without
        ``get_image_features`` keeps encoding per forward."""
        memo = MediaFeatureMemo(self.model)
        self._feature_memo = memo if memo.installed else None

    def peek_weights_revision(self) -> str | None:
        """What :meth:`load` records, from the cache alone, so that a rerun the store serves whole never loads
        the weights. The options are checked and completed first, as :meth:`load` does, so that the store
        keys are the same whether the model was loaded or not."""
        checkpoint = self.check_options()
        return weights_revision(checkpoint, self.options["revision"])

    def check_options(self) -> str:
        """Validate the constructor options, fill in defaults, and return the checkpoint to load."""
        unknown = sorted(set(self.options) - set(self.init_options))
        if unknown:
            raise TypeError(f"model {self.name!r} got unexpected option(s) {unknown}; it accepts: "
                            f"{', '.join(sorted(self.init_options))} (plus device, dtype, batch_size)")
        self.options = {**self.init_options, **self.options}
        checkpoint = self.options["checkpoint"] or (self.spec.weights[0] if self.spec.weights else None)
        if not checkpoint or not isinstance(checkpoint, str):
            raise ValueError(f"model {self.name!r} needs checkpoint='org/repo' (a Hugging Face repo id) or "
                             f"checkpoint='/path/to/folder', got {checkpoint!r}")
        if self.options["answer_likelihood"] not in ANSWER_LIKELIHOODS:
            raise ValueError(f"answer_likelihood must be one of {ANSWER_LIKELIHOODS}, got "
                             f"{self.options['answer_likelihood']!r}")
        if self.options["generation_config"] not in GENERATION_CONFIGS:
            raise ValueError(f"generation_config must be one of {GENERATION_CONFIGS}, got "
                             f"{self.options['generation_config']!r}")
        self.checkpoint = checkpoint
        self.answer_likelihood = self.options["answer_likelihood"]
        reuse = self.options["prefix_reuse"]
        self.use_prefix_reuse = type(self).prefix_reuse if reuse is None else bool(reuse)
        return checkpoint

    def load_model_and_processor(self, checkpoint: str, revision: str | None) -> None:
        """Set ``self.processor``, ``self.tokenizer``, ``self.model`` (on the device, eval mode) and
        ``self.weights_revision``. Families whose checkpoints load another way override this."""
        import transformers

        self.processor = from_pretrained(transformers.AutoProcessor, checkpoint, revision=revision,
                                         what="processor", **self.processor_load_kwargs())
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        cls = getattr(transformers, self.model_class or "AutoModelForImageTextToText")
        kwargs = dict(self.load_kwargs())
        kwargs["dtype" if transformers_version() >= (4, 56) else "torch_dtype"] = self.dtype
        model = self._from_pretrained_attn(cls, checkpoint, revision, kwargs)
        self.model = model.to(self.device).eval()
        self.weights_revision = weights_revision(checkpoint, revision)

    def _from_pretrained_attn(self, cls: Any, checkpoint: str, revision: str | None, kwargs: dict[str, Any]) -> Any:
        """``from_pretrained`` with the asked attention kernel, or the preferred one for the device; a model
        class that refuses the preferred one (no SDPA / flash support) loads with transformers' default."""
        asked = self.options["attn_implementation"]
        attn = asked or preferred_attn_implementation(self.device)
        try:
            model = from_pretrained(cls, checkpoint, revision=revision, what="model", attn_implementation=attn,
                                    **kwargs)
        except (ValueError, ImportError) as e:
            if asked or "attn" not in str(e).lower() and "attention" not in str(e).lower():
                raise
            model = from_pretrained(cls, checkpoint, revision=revision, what="model", **kwargs)
        self.attn_implementation = getattr(model.config, "_attn_implementation", None)
        return model

    def init_scoring_state(self) -> None:
        """Derive what scoring needs from the loaded model's forward signature and tokenizer."""
        params = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        # transformers >= 4.50 also takes a 1-D tensor of sequence positions as logits_to_keep
        self._keep_accepts_indices = self._keep_kw == "logits_to_keep" and transformers_version() >= (4, 50)
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.tokenizer.eos_token_id or 0)
        self._splits: dict[Any, tuple[str, str] | None] = {}

    @property
    def read_processors(self) -> ReadProcessors:
        """The generation-config logits processors applied to read logits (inactive for ``"none"``)."""
        if getattr(self, "_read_processors", None) is None:
            reference = self.options.get("generation_config", "reference") == "reference"
            self._read_processors = ReadProcessors(self.generation_model() if reference else None,
                                                   type(self).generation_input, self.reference_generate_kwargs())
        return self._read_processors

    def generation_model(self) -> Any:
        """The model whose ``generate`` the reference called (its ``generation_config`` is the checkpoint's)."""
        return self.model

    def reference_generate_kwargs(self) -> dict[str, Any]:
        """Generation arguments the reference passed besides ``max_new_tokens=1, do_sample=False``."""
        return {}

    def load_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for the model's ``from_pretrained``."""
        return {}

    def processor_load_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for ``AutoProcessor.from_pretrained``."""
        return {}

    # ------------------------------------------------------------------ media hooks
    def prepare(self, item: Media, **options: Any) -> PreparedMedia:
        """Turn a loaded media item into what the processor receives (dispatches to the two hooks below)."""
        if isinstance(item, Image):
            return PreparedMedia("image", self.prepare_image(item.image, **options))
        if isinstance(item, Video):
            return self.prepare_video(item, **options)
        raise TypeError(f"expected a t2v_core Image or Video, got {type(item).__name__}")

    def prepare_image(self, image: Any, **options: Any) -> Any:
        """Preprocess an RGB PIL image before the processor (default: unchanged)."""
        return image

    def prepare_video(self, video: Video, num_frames: int | None = 8, fps: float | None = None,
                      **options: Any) -> PreparedMedia:
        """Sample a video (``fps`` if given, else ``num_frames`` uniformly) and describe the sampling; with
        ``video_frame_label`` set, label each frame with its time in the source, ``round(index / fps, 2)``;
        with ``video_side_by_side``, return the frames side by side as one image."""
        clip = video.sample(fps=fps) if fps is not None else video.sample(num_frames=num_frames or 8)
        meta = {"fps": clip.source_fps, "total_num_frames": clip.total_frames, "frames_indices": list(clip.indices)}
        if self.video_side_by_side:
            canvas = concat_frames([self.prepare_image(f, **options) for f in clip.frames], gap=self.frame_gap)
            return PreparedMedia("image", canvas, meta, {"side_by_side": len(clip.frames)})
        prepared = PreparedMedia("video", clip.frames, meta, {"sample_fps": clip.sample_fps})
        if self.video_frame_label is not None:
            prepared.data = [self.prepare_image(f, **options) for f in clip.frames]
            prepared.frame_labels = [self.frame_label(i, clip.source_fps) for i in clip.indices]
        return prepared

    def frame_label(self, index: int, fps: float | None) -> str:
        """The text before frame ``index`` of a video given as images: ``video_frame_label`` with ``{t}`` =
        ``round(index / fps, 2)`` seconds and ``{i}`` = the index; ``"Frame {index}:"`` when the video's frame
        rate is unknown (frames given without ``fps``)."""
        if not fps:
            return f"Frame {index}:"
        return (self.video_frame_label or "Frame at {t}s:").format(t=round(index / fps, 2), i=index)

    def media_content(self, prepared: PreparedMedia) -> dict[str, Any]:
        """The content entry that stands for the media item in the user message."""
        return {"type": prepared.kind}

    def media_contents(self, prepared: PreparedMedia) -> list[dict[str, Any]]:
        """The content entries of a media item: one ``media_content``, or for a video given as images
        (``frame_labels``), each frame's label as text followed by the frame as an image."""
        if prepared.frame_labels is None:
            return [self.media_content(prepared)]
        out: list[dict[str, Any]] = []
        for label in prepared.frame_labels:
            out += [{"type": "text", "text": label}, {"type": "image"}]
        return out

    def build_messages(self, question: str, prepared: PreparedMedia) -> list[dict[str, Any]]:
        """The chat: one user message with the media item, then the question."""
        return [{"role": "user", "content": [*self.media_contents(prepared), {"type": "text", "text": question}]}]

    def chat_template_kwargs(self) -> dict[str, Any]:
        """Extra keyword options for ``apply_chat_template`` (e.g. ``{"enable_thinking": False}``)."""
        return {}

    def add_special_tokens(self, text: str) -> bool:
        """Whether tokenizing the rendered prompt ``text`` should add the tokenizer's special tokens: not when
        the text already starts with the BOS token (templates that write ``{{ bos_token }}``)."""
        bos = getattr(self.tokenizer, "bos_token", None)
        return not (bos and text.startswith(bos))

    def render(self, question: str, prepared: PreparedMedia) -> str:
        """The prompt text for a question: the chat template with the generation prompt."""
        split = self._template_split(prepared)
        if split is not None:
            return split[0] + question + split[1]
        return self._apply_template(question, prepared)

    def _apply_template(self, question: str, prepared: PreparedMedia) -> str:
        return self.finish_prompt(self.processor.apply_chat_template(
            self.build_messages(question, prepared), tokenize=False, add_generation_prompt=True,
            **self.chat_template_kwargs()))

    def finish_prompt(self, text: str) -> str:
        """The rendered chat template, amended where a family needs it (e.g. closing a thinking block that
        the template always opens); default unchanged."""
        return text

    def _template_split(self, prepared: PreparedMedia) -> tuple[str, str] | None:
        # The template's text before and after the question; None if the question does not appear verbatim.
        key = (prepared.kind, *(prepared.frame_labels or ()))
        if key not in self._splits:
            text = self._apply_template(_SENTINEL, prepared)
            self._splits[key] = tuple(text.split(_SENTINEL)) if text.count(_SENTINEL) == 1 else None  # type: ignore[assignment]
        return self._splits[key]

    def video_processor_kwargs(self, prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """Processor kwargs for a batch of videos: frames are already sampled, so pass their metadata."""
        if transformers_version() < (4, 54):
            return {}
        return {"video_metadata": [p.metadata for p in prepared], "do_sample_frames": False}

    def processor_inputs(self, texts: Sequence[str], prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """Run the processor on prompts whose media are ``prepared`` (all of one kind), left padded."""
        kind = prepared[0].kind
        kwargs: dict[str, Any] = {"text": list(texts), "padding": True, "return_tensors": "pt"}
        if not self.add_special_tokens(texts[0]):
            kwargs["add_special_tokens"] = False
        if prepared[0].frame_labels is not None:
            kwargs["images"] = [list(p.data) for p in prepared]
        elif kind == "image":
            kwargs["images"] = [[p.data] if self.nested_images else p.data for p in prepared]
        else:
            kwargs["videos"] = [p.data for p in prepared]
            kwargs.update(self.video_processor_kwargs(prepared))
        self.tokenizer.padding_side = "left"
        return dict(self.processor(**kwargs))

    def _rope_owners(self) -> list[Any]:
        # mrope models (Qwen-VL family, GLM-4V, ...) keep the offset of text positions as `rope_deltas`
        return [m for m in (self.model, getattr(self.model, "model", None)) if hasattr(m, "rope_deltas")]

    def next_position(self, inputs: dict[str, Any], length: int) -> int:
        """Position id of the token that follows a prefix of ``length`` tokens, called right after the
        prefix's forward pass. 1-D rope: ``length``. mrope models (they record ``rope_deltas``): one more than
        the last prefix token's position, from the model's own ``get_rope_index`` over the prefix (its vision
        tokens take fewer positions than tokens, and text after a video need not start at max + 1)."""
        owners = self._rope_owners()
        if not owners:
            return length
        for owner in owners:
            fn = getattr(owner, "get_rope_index", None)
            if fn is None:
                continue
            params = inspect.signature(fn).parameters
            kwargs = {k: v for k, v in inputs.items() if k in params}
            if "input_ids" not in kwargs:
                continue
            with torch.inference_mode():
                positions = fn(**kwargs)[0]
            return int(positions[:, 0, -1].max()) + 1
        delta = next((o.rope_deltas for o in owners if isinstance(o.rope_deltas, torch.Tensor)), None)
        return length + (int(delta.reshape(-1)[0]) if delta is not None else 0)

    def text_position_ids(self, start: int, batch: int, length: int) -> torch.Tensor:
        """Position ids of ``length`` plain-text tokens from ``start``: ``(batch, length)``, or
        ``(3, batch, length)`` for mrope models (text tokens have equal temporal/height/width positions)."""
        pos = (torch.arange(length, device=self.device) + start).unsqueeze(0).expand(batch, -1)
        return pos.unsqueeze(0).expand(3, -1, -1) if self._rope_owners() else pos

    # ------------------------------------------------------------------ scoring
    def _answer_ids(self, answer: str) -> list[int]:
        ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"]
        if not ids:
            raise ValueError(f"answer template gives an empty answer {answer!r}: it must have at least one token")
        return list(ids)

    def _to_device(self, inputs: dict[str, Any]) -> dict[str, Any]:
        # pinned, non-blocking copies on CUDA (t2v_core.device.to_device); pixels follow the model's dtype,
        # other floats (e.g. seconds per video grid step) keep theirs, since bf16 would round the temporal
        # positions computed from them
        return {k: to_device(v, self.device, self.dtype if k.startswith("pixel_values") else None)
                if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    def logits_vocab_limit(self) -> int | None:
        """How many leading vocabulary rows the score's softmax runs over (``None``: all of them)."""
        return None

    def _forward(self, **kwargs: Any) -> torch.Tensor:
        # every read of logits goes through here, so the vocabulary limit applies to all scoring paths
        limit = self.logits_vocab_limit()
        with torch.inference_mode():
            logits = self.model(**kwargs).logits
        return (logits if limit is None else logits[..., :limit]).float()

    def score(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
              **options: Any) -> torch.Tensor:
        """``M x N`` scores: each media item's prefix once, its texts batched after it."""
        assert templates is not None, "VQA scorers always receive templates"
        return self._score_groups([(media, texts)], templates, **options)[0]

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    **options: Any) -> torch.Tensor:
        """Scores of aligned pairs ``(media[k], texts[k])``, batched whole with left padding."""
        assert templates is not None, "VQA scorers always receive templates"
        qa = [templates.fill(t) for t in texts]
        answers = [self._answer_ids(a) for _, a in qa]
        cache: dict[int, PreparedMedia] = {}
        rest = []
        for k, item in enumerate(media):
            if id(item) not in cache:
                cache[id(item)] = self.prepare(item, **options)
            rest.append((cache[id(item)], 0, k))
        out = torch.full((1, len(texts)), float("nan"), device=self.device)
        self._score_whole(rest, qa, answers, out)
        return out[0].cpu()

    def score_groups(self, groups: Sequence[tuple[Sequence[Media], Sequence[str]]], *,
                     templates: Templates | None, **options: Any) -> list[torch.Tensor]:
        """Several (media, texts) groups at once (``batch_forward``, ``t2v score --pairs``, ``t2v bench run``):
        media with several texts reuse their prefix as in :meth:`score`; every other pair (one text per
        item, the common case) joins one cross-group batch of whole prompts, sorted by length. A family
        that overrides :meth:`score` (e.g. to split calls by image shape) gets the core's group-by-group
        default, through its own ``score``."""
        assert templates is not None, "VQA scorers always receive templates"
        if type(self).score is not HFVLMScorer.score:
            return super().score_groups(groups, templates=templates, **options)
        return self._score_groups(groups, templates, **options)

    def _score_groups(self, groups: Sequence[tuple[Sequence[Media], Sequence[str]]], templates: Templates,
                      **options: Any) -> list[torch.Tensor]:
        # scores stay on the device until the call ends: no batch waits for the GPU, one copy per group
        outs: list[torch.Tensor] = []
        qa: list[tuple[str, str]] = []
        answers: list[list[int]] = []
        rest: list[tuple[PreparedMedia, int, int]] = []
        where: list[tuple[int, int, int]] = []  # flat index -> (group, row, text)
        for g, (media, texts) in enumerate(groups):
            group_qa = [templates.fill(t) for t in texts]
            group_answers = [self._answer_ids(a) for _, a in group_qa]
            out = torch.full((len(media), len(texts)), float("nan"), device=self.device)
            for i, item in enumerate(media):
                prepared = self.prepare(item, **options)
                row = None
                if self.use_prefix_reuse and len(texts) > 1:
                    row = self._score_shared_prefix(prepared, group_qa, group_answers)
                if row is not None:
                    out[i] = row
                    continue
                for j in range(len(texts)):
                    rest.append((prepared, 0, len(qa)))
                    where.append((g, i, j))
                    qa.append(group_qa[j])
                    answers.append(group_answers[j])
            outs.append(out)
        flat = torch.full((1, len(qa)), float("nan"), device=self.device)
        self._score_whole(rest, qa, answers, flat)
        for k, (g, i, j) in enumerate(where):
            outs[g][i, j] = flat[0, k]
        return [o.cpu() for o in outs]

    def _read(self, logp_rows: torch.Tensor, reads: list[tuple[int, int]]) -> torch.Tensor:
        # sum of log-probabilities at (position, token) pairs -> probability, a 0-d tensor where logp_rows is:
        # indexing by Python ints is a view, so nothing here waits for the device
        total = sum(logp_rows[pos, tok].double() for pos, tok in reads)
        return torch.exp(total)

    def _score_shared_prefix(self, prepared: PreparedMedia, qa: list[tuple[str, str]],
                             answers: list[list[int]]) -> torch.Tensor | None:
        """Run the media prefix once, then every question suffix on a copy of its cache; None if the
        prompts do not split cleanly into a shared prefix plus per-text token suffixes."""
        split = self._template_split(prepared)
        if split is None:
            return None
        pre, post = split
        tok = self.tokenizer
        special = self.add_special_tokens(pre)
        pre_ids = tok(pre, add_special_tokens=special)["input_ids"]
        full = self.answer_likelihood == "full"
        queries = []
        for (q, a), ans in zip(qa, answers):
            tail = q + post + (a if full else "")
            ids = tok(tail, add_special_tokens=False)["input_ids"]
            # the split is exact only if tokenizing the parts gives the tokens of the whole prompt
            if list(pre_ids) + list(ids) != list(tok(pre + tail, add_special_tokens=special)["input_ids"]):
                return None
            if full and list(ids[-len(ans):]) != ans:
                raise ValueError(self._answer_boundary_error(a))
            queries.append(_Query(list(ids), ans))

        # tokens every suffix starts with (the question template's head) join the prefix; one token is left
        # to each suffix so that its logits can be read
        common = _common_prefix_length([q.ids for q in queries])
        inputs = self.processor_inputs([pre], [prepared])
        if common:
            inputs = _extend_text(inputs, queries[0].ids[:common])
            for q in queries:
                q.ids = q.ids[common:]
        length = int(inputs["input_ids"].shape[1])
        prefix_ids = inputs["input_ids"][0].tolist()  # what generate's processors see (read on the host)
        inputs = self._to_device(inputs)
        for owner in self._rope_owners():
            owner.rope_deltas = None  # recomputed by this forward, never left over from an earlier call
        # only the cache is wanted from the prefix: skip its vocabulary projection (152k-wide for Qwen)
        keep = {self._keep_kw: 1} if self._keep_kw else {}
        with torch.inference_mode():
            prefix_out = self.model(**inputs, use_cache=True, **keep)
        cache = getattr(prefix_out, "cache", None) or prefix_out.past_key_values
        start = self.next_position(inputs, length)

        row = torch.empty(len(queries), dtype=torch.float64, device=self.device)
        for s in range(0, len(queries), self.batch_size):
            chunk = queries[s:s + self.batch_size]
            width = max(len(c.ids) for c in chunk)
            # right padding: pads come after every token that is read, so causal attention never sees them
            ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            for r, c in enumerate(chunk):
                ids[r, :len(c.ids)] = torch.tensor(c.ids)
            reads = []
            for c in chunk:
                n = len(c.ids)
                if full:
                    reads.append([(n - len(c.answer) - 1 + k, t) for k, t in enumerate(c.answer)])
                else:
                    reads.append([(n - 1, c.answer[0])])
            # logits only where they are read: the vocabulary projection is a large share of a short suffix
            keep = sorted({pos for r in reads for pos, _ in r})
            extra: dict[str, Any] = {}
            if self._keep_kw == "logits_to_keep" and self._keep_accepts_indices:
                extra["logits_to_keep"] = to_device(torch.tensor(keep), self.device)
                where = {pos: k for k, pos in enumerate(keep)}
            else:
                where = {pos: pos for pos in keep}
            batch_cache = copy.deepcopy(cache)
            batch_cache.batch_repeat_interleave(len(chunk))
            # no attention mask: nothing is padded before a read position, so the plain causal mask is exact
            logits = self._forward(input_ids=to_device(ids, self.device),
                                   position_ids=self.text_position_ids(start, len(chunk), width),
                                   use_cache=True, **{self._cache_kw: batch_cache}, **extra)
            logits = self.read_processors.suffix(logits, prefix_ids, [c.ids for c in chunk], where,
                                                 [len(c.answer) if full else 0 for c in chunk])
            logp = torch.log_softmax(logits, dim=-1)
            for r, read in enumerate(reads):
                row[s + r] = self._read(logp[r], [(where[pos], tok) for pos, tok in read])
            del batch_cache
        return row

    def _answer_boundary_error(self, answer: str) -> str:
        return (f"answer_likelihood='full': the answer {answer!r} tokenizes differently after the prompt than "
                "alone, so its tokens cannot be read off; change the answer template or use "
                "answer_likelihood='first'")

    def _score_whole(self, pairs: list[tuple[PreparedMedia, int, int]], qa: list[tuple[str, str]],
                     answers: list[list[int]], out: torch.Tensor) -> None:
        """Score (prepared media, row, text) triples with whole prompts, batched by media kind.

        Each kind's pairs are sorted by prompt size before batching (less padding; results go back to their
        ``(row, text)`` cell, so the caller's order is kept). Families with ``header_reuse`` run the prompt
        head that every pair shares (the chat header before the media) once and batch the rest after it."""
        full = self.answer_likelihood == "full"
        header: dict[tuple[int, ...], Any] = {}  # the shared head's cache, computed once per call
        for kind in ("image", "video"):
            todo = [(p, i, j, self.render(qa[j][0], p) + (qa[j][1] if full else "")) for p, i, j in pairs
                    if p.kind == kind]
            step = self.whole_prompt_batch()
            memo = self._feature_memo if step == 1 else None
            if memo is not None:
                memo.clear()  # keys are ids of this call's items: nothing of an earlier (failed) call may answer
                # one prompt per forward: no padding to save, so an item's pairs run back to back and its
                # features are held only while they do
                first = {id(t[0]): k for k, t in reversed(list(enumerate(todo)))}
                todo.sort(key=lambda t: (_media_size(t[0]), first[id(t[0])]))
                left = Counter(id(t[0]) for t in todo)
            else:
                todo.sort(key=lambda t: (_media_size(t[0]), len(t[3])))
            for s in range(0, len(todo), step):
                chunk = todo[s:s + step]
                if self.header_reuse and self.use_prefix_reuse and self._score_after_header(
                        chunk, qa, answers, out, header):
                    continue
                texts = [t for _, _, _, t in chunk]
                host = self.processor_inputs(texts, [p for p, _, _, _ in chunk])
                inputs = self._to_device(host)
                keep = 1 + (max(len(answers[j]) for _, _, j, _ in chunk) if full else 0)
                extra = {self._keep_kw: keep} if self._keep_kw else {}
                if memo is not None:
                    key = id(chunk[0][0])
                    with memo.using(key):
                        logits = self._forward(**inputs, **extra)
                    left[key] -= 1
                    if not left[key]:
                        memo.release(key)
                else:
                    logits = self._forward(**inputs, **extra)
                logits = self.read_processors.whole(logits[:, -keep:], host,
                                                    [len(answers[j]) if full else 0 for _, _, j, _ in chunk])
                logp = torch.log_softmax(logits, dim=-1)
                ids = host["input_ids"][:, -keep:]
                for r, (_, i, j, _) in enumerate(chunk):
                    ans = answers[j]
                    if full:
                        if ids[r, keep - len(ans):].tolist() != ans:
                            raise ValueError(self._answer_boundary_error(qa[j][1]))
                        reads = [(keep - len(ans) - 1 + k, t) for k, t in enumerate(ans)]
                    else:
                        reads = [(keep - 1, ans[0])]
                    out[i, j] = self._read(logp[r], reads)

    def whole_prompt_batch(self) -> int:
        """Whole prompts per forward: ``batch_size``; on CPU at most ``cpu_whole_prompt_batch`` (the batch size
        is an upper bound, and a CPU only loses by batching whole prompts)."""
        return per_forward(self.batch_size, self.device, self.cpu_whole_prompt_batch)

    def media_token_ids(self) -> set[int]:
        """Token ids that stand for media in a prompt (the shared head ends before the first of them)."""
        config = self.model.config
        found = {getattr(config, k, None) for k in ("image_token_id", "video_token_id", "image_token_index",
                                                    "video_token_index")}
        return {int(t) for t in found if isinstance(t, int)}

    def prompt_position_ids(self, inputs: dict[str, Any]) -> torch.Tensor:
        """Position ids of one unpadded prompt's tokens, as the model computes them for a plain forward:
        ``(1, length)``, or ``(3, 1, length)`` from the model's own ``get_rope_index`` for mrope models."""
        length = int(inputs["input_ids"].shape[1])
        for owner in self._rope_owners():
            fn = getattr(owner, "get_rope_index", None)
            if fn is None:
                continue
            params = inspect.signature(fn).parameters
            kwargs = {k: v for k, v in inputs.items() if k in params}
            with torch.inference_mode():
                return fn(**kwargs)[0]
        if self._rope_owners():
            raise NotImplementedError("an mrope model without get_rope_index: header_reuse needs its positions")
        return torch.arange(length, device=self.device).unsqueeze(0)

    def _score_after_header(self, chunk: list[tuple[PreparedMedia, int, int, str]], qa: list[tuple[str, str]],
                            answers: list[list[int]], out: torch.Tensor, header: dict[tuple[int, ...], Any]) -> bool:
        """Score a chunk of whole prompts as one batch after their shared text head (cached once per call).

        Every prompt goes through the processor alone (the ids and positions of a plain forward); the tokens
        after the head are right padded, so pads come after every read position and the plain causal mask
        is exact, and only the read positions' logits are computed. False (nothing scored) if the prompts
        share no text head."""
        full = self.answer_likelihood == "full"
        hosts = [self.processor_inputs([t], [p]) for p, _, _, t in chunk]
        items = [self._to_device(x) for x in hosts]
        rows = [x["input_ids"][0].tolist() for x in hosts]  # host ids: reading them waits for nothing
        media = self.media_token_ids()
        limit = min(next((k for k, t in enumerate(r) if t in media), len(r) - 1) for r in rows)
        h = _common_prefix_length(rows, limit)
        if h == 0:
            return False
        head = tuple(rows[0][:h])
        positions = [self.prompt_position_ids(x) for x in items]
        for owner in self._rope_owners():
            owner.rope_deltas = None  # positions are passed explicitly; never reuse an earlier call's offset
        if head not in header:
            keep = {self._keep_kw: 1} if self._keep_kw else {}
            with torch.inference_mode():
                res = self.model(input_ids=torch.tensor([list(head)], device=self.device),
                                 position_ids=positions[0][..., :h], use_cache=True, **keep)
            header.clear()
            header[head] = getattr(res, "cache", None) or res.past_key_values
        tails = [r[h:] for r in rows]
        width = max(len(t) for t in tails)
        batch = len(chunk)
        ids = torch.full((batch, width), self.pad_id, dtype=torch.long)
        pos = torch.zeros((*positions[0].shape[:-2], batch, width), dtype=positions[0].dtype, device=self.device)
        reads, answer_lengths = [], []
        for r, ((_, _, j, _), tail, p) in enumerate(zip(chunk, tails, positions)):
            n = len(tail)
            ids[r, :n] = torch.tensor(tail)
            pos[..., r, :n] = p[..., 0, h:]
            # pads continue the row's positions; they come after its reads, so no read sees them
            pos[..., r, n:] = p[..., 0, -1:] + torch.arange(1, width - n + 1, device=self.device)
            ans = answers[j]
            if full:
                if tail[-len(ans):] != ans:
                    raise ValueError(self._answer_boundary_error(qa[j][1]))
                reads.append([(n - len(ans) - 1 + k, t) for k, t in enumerate(ans)])
            else:
                reads.append([(n - 1, ans[0])])
            answer_lengths.append(len(ans) if full else 0)
        wanted = sorted({q for rd in reads for q, _ in rd})
        extra: dict[str, Any] = {}
        if self._keep_kw == "logits_to_keep" and self._keep_accepts_indices:
            extra["logits_to_keep"] = torch.tensor(wanted, device=self.device)
            where = {q: k for k, q in enumerate(wanted)}
        elif self._keep_kw:
            keep = width - wanted[0]
            extra[self._keep_kw] = keep
            where = {q: q - (width - keep) for q in range(wanted[0], width)}
        else:
            where = {q: q for q in range(width)}
        media_inputs = _merge_media_inputs(items)
        cache = copy.deepcopy(header[head])
        cache.batch_repeat_interleave(batch)
        logits = self._forward(input_ids=ids.to(self.device), position_ids=pos.to(self.device), use_cache=True,
                               **{self._cache_kw: cache}, **media_inputs, **extra)
        logits = self.read_processors.suffix(logits, list(head), tails, where, answer_lengths)
        logp = torch.log_softmax(logits, dim=-1)
        for r, (_, i, j, _) in enumerate(chunk):
            out[i, j] = self._read(logp[r], [(where[q], t) for q, t in reads[r]])
        del cache
        return True

    # ------------------------------------------------------------------ generation
    def generate_media(self, media: Sequence[Media], prompts: Sequence[str], max_new_tokens: int = 256,
                       **options: Any) -> list[str]:
        """Greedy answers to ``prompts[k]`` about ``media[k]`` (the prompt is the user message's text)."""
        gen_keys = {"do_sample", "temperature", "top_p", "top_k", "num_beams", "repetition_penalty"}
        gen_kwargs = {k: options.pop(k) for k in list(options) if k in gen_keys}
        gen_kwargs.setdefault("do_sample", False)
        call = self.resolve_options(**options)
        prepared = [self.prepare(m, **call) for m in media]
        answers: list[str | None] = [None] * len(media)
        for kind in ("image", "video"):
            todo = [k for k, p in enumerate(prepared) if p.kind == kind]
            for s in range(0, len(todo), self.batch_size):
                chunk = todo[s:s + self.batch_size]
                texts = [self.render(prompts[k], prepared[k]) for k in chunk]
                inputs = self._to_device(self.processor_inputs(texts, [prepared[k] for k in chunk]))
                with torch.inference_mode():
                    generated = self.model.generate(**inputs, max_new_tokens=max_new_tokens,
                                                    pad_token_id=self.pad_id, **gen_kwargs)
                new = generated[:, inputs["input_ids"].shape[1]:]
                for k, text in zip(chunk, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                    answers[k] = text.strip()
        return [a or "" for a in answers]


def _common_prefix_length(seqs: list[list[int]], limit: int | None = None) -> int:
    """Length of the token prefix shared by every sequence, leaving at least one token in the shortest
    (and at most ``limit``)."""
    limit = min([len(x) - 1 for x in seqs] + ([limit] if limit is not None else []))
    n = 0
    while n < limit and all(x[n] == seqs[0][n] for x in seqs):
        n += 1
    return n


def _media_size(prepared: PreparedMedia) -> int:
    """A sort key close to a media item's token count: its pixels (an image, or every frame)."""
    frames = prepared.data if isinstance(prepared.data, (list, tuple)) else [prepared.data]
    total = 0
    for f in frames:
        size = getattr(f, "size", None)
        if isinstance(size, tuple) and len(size) == 2:
            total += int(size[0]) * int(size[1])
        elif isinstance(f, torch.Tensor):
            total += int(f.numel())
        else:
            pixels = getattr(f, "pixels", None)
            total += int(pixels.numel()) if isinstance(pixels, torch.Tensor) else 0
    return total


def _merge_media_inputs(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The media inputs of single-prompt processor outputs for one batch: per-media tensors (pixels, grids,
    seconds per grid step) concatenated along their first axis in row order; per-token ones are left out."""
    out: dict[str, Any] = {}
    for key, value in items[0].items():
        if key in ("input_ids", "attention_mask") or key.endswith("token_type_ids"):
            continue
        if isinstance(value, torch.Tensor):
            # one prompt per forward is the CPU's batch: its pixels (MBs) go through uncopied
            out[key] = value if len(items) == 1 else torch.cat([x[key] for x in items], dim=0)
    return out


def _extend_text(inputs: dict[str, Any], ids: list[int]) -> dict[str, Any]:
    """Append plain-text tokens to a single prompt's processor outputs: ``input_ids`` gets ``ids``, the
    attention mask ones, and per-token type ids (``mm_token_type_ids``, ``token_type_ids``) zeros (text)."""
    length = inputs["input_ids"].shape[1]
    out = dict(inputs)
    for key, value in inputs.items():
        if not (isinstance(value, torch.Tensor) and value.dim() == 2 and value.shape == (1, length)):
            continue
        if key == "input_ids":
            tail = torch.tensor([ids], dtype=value.dtype, device=value.device)
        elif key == "attention_mask":
            tail = torch.ones(1, len(ids), dtype=value.dtype, device=value.device)
        elif key.endswith("token_type_ids"):
            tail = torch.zeros(1, len(ids), dtype=value.dtype, device=value.device)
        else:
            continue
        out[key] = torch.cat([value, tail], dim=1)
    return out
