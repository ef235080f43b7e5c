"""InstructBLIP-FlanT5 VQAScore, BLIP-2 ITMScore and BLIP-2 CLIPScore, computed as the reference (t2v_metrics
880a5b8 with its vendored LAVIS) does, on transformers' native classes, M x N at a time.

- InstructBLIP: score = exp(-mean cross-entropy of the answer tokens, ``</s>`` included), the T5 encoder
  reading ``[t5_proj(Q-Former(queries, question | image)), T5 embeddings of the question]``.
- BLIP-2 ITM: score = softmax(mean over the 32 queries of the ITM head's logits)[match].
- BLIP-2 ITC: score = max over the 32 projected queries of their cosine with the projected text ``[CLS]``.

What an M x N call shares, with the numbers of one pair at a time: every image goes through the ViT once
per call (the reference reruns it for every pair); ITC is M image encodes, N text encodes and one product;
ITM and InstructBLIP batch their pairs (their Q-Former reads the text, so nothing else is shared), and
InstructBLIP runs the Q-Former and T5 encoder once per distinct (image, question) and the decoder per answer.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image as PILImage

from t2v_core.device import to_device
from t2v_core.media import Media
from t2v_core.progress import progress_bar
from t2v_core.scorer import ImageOnlyMixin, Scorer, generation_kwargs
from t2v_core.templates import Templates

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
#: LAVIS's ``ln_vision`` is a plain ``nn.LayerNorm``; the conversions' ``post_layernorm`` says 1e-6
LAVIS_LN_EPS = 1e-5
#: the reference's video "concat" mode: frames side by side, 10 px of black between them
CONCAT_GAP = 10
NUM_FRAMES = 8
#: InstructBLIP (LAVIS ``blip2_t5_instruct``): Q-Former and T5 input length, answer (label) length
MAX_TXT_LEN = 128
MAX_OUTPUT_TXT_LEN = 256
#: BLIP-2 (LAVIS ``blip2_qformer``) text length for ITM and ITC
ITM_TXT_LEN = 35
IGNORE_INDEX = -100


# ---------------------------------------------------------------------- preprocessing
def resize_short_center_crop(img: PILImage.Image, size: int) -> PILImage.Image:
    """torchvision's ``Resize(size, BICUBIC)`` + ``CenterCrop(size)`` on a PIL image, as the reference's
    InstructBLIP preprocessing: the short side to ``size`` (long side ``int(size * long / short)``), then the
    centre ``size`` x ``size`` crop (offset ``int(round((L - size) / 2))``)."""
    w, h = img.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), PILImage.BICUBIC)
    left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def resize_square(img: PILImage.Image, size: int) -> PILImage.Image:
    """torchvision's ``Resize((size, size), BICUBIC)`` on a PIL image (a squash, no crop), as LAVIS."""
    return img if img.size == (size, size) else img.resize((size, size), PILImage.BICUBIC)


def to_normalized_tensor(images: Sequence[PILImage.Image]) -> torch.Tensor:
    """``ToTensor`` (``/255``) and ``Normalize`` with the CLIP mean and std, in float32: ``(B, 3, H, W)``."""
    arrays = [np.asarray(im.convert("RGB") if im.mode != "RGB" else im, dtype=np.uint8) for im in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div(255)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``seq`` of at most ``size`` items."""
    for s in range(0, len(seq), size):
        yield seq[s : s + size]


# ---------------------------------------------------------------------- shared base
class _BlipBase(ImageOnlyMixin, Scorer):
    """Loading, options, image encoding and video handling shared by the three kinds."""

    call_options: ClassVar[dict[str, Any]] = {"num_frames": NUM_FRAMES}
    default_batch_size: ClassVar[int] = 16
    #: constructor options this family accepts
    #: constructor options beyond the core's; the core refuses any other, naming these
    init_options: ClassVar[dict[str, Any] | None] = {"checkpoint": None, "revision": None, "cache_dir": None}

    def _weights(self) -> str:
        return str(self.options.get("checkpoint") or self.spec.weights[0])

    def preprocess(self, img: PILImage.Image) -> PILImage.Image:
        """The image at the model's input size (each family resizes its own way)."""
        raise NotImplementedError

    def pixels(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        """Normalised pixels of a batch of images, on the device in the model's dtype."""
        return to_device(to_normalized_tensor([self.preprocess(im) for im in images]), self.device, self.vision_dtype)

    @torch.inference_mode()
    def encode_images(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        """``ln_vision(ViT(pixels))`` of each image (all tokens), ``(len(images), tokens, width)``."""
        out = [
            self.vision_model(pixel_values=self.pixels(part)).last_hidden_state
            for part in chunks(images, self.batch_size)
        ]
        return torch.cat(out)

    def images_of(self, media: Sequence[Media], num_frames: int) -> list[PILImage.Image]:
        """One PIL image per media item; a video: ``num_frames`` frames side by side."""
        return [self.as_image(m, num_frames=num_frames, gap=CONCAT_GAP) for m in media]

    def unique_images(
        self, media: Sequence[Media], num_frames: int
    ) -> tuple[list[PILImage.Image], list[int]]:
        """The distinct media objects of aligned pairs as images, and each pair's index into them."""
        seen: dict[int, int] = {}
        images: list[PILImage.Image] = []
        index = []
        for m in media:
            if id(m) not in seen:
                seen[id(m)] = len(images)
                images.append(self.as_image(m, num_frames=num_frames, gap=CONCAT_GAP))
            index.append(seen[id(m)])
        return images, index


def _revision(weights: str, revision: str | None, cache_dir: str | None = None) -> str | None:
    """The snapshot commit of a Hub checkpoint in the local cache, or the folder's absolute path."""
    if os.path.isdir(weights):
        return os.path.abspath(weights)
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(weights, "config.json", revision=revision, cache_dir=cache_dir)
    except Exception:  # provenance is best effort; never fail a load over it
        return revision
    if isinstance(found, str):
        parts = os.path.normpath(found).split(os.sep)
        if "snapshots" in parts:
            return parts[parts.index("snapshots") + 1]
    return revision


def check_qformer_tokenizer(tokenizer: Any, t5_tokenizer: Any, qformer_vocab: int, where: str) -> None:
    """Refuse a Q-Former tokenizer that is not the BERT WordPiece one the Q-Former was trained with.

    transformers 5 silently substitutes the main (T5) tokenizer when it cannot load the ``qformer_tokenizer``
    subfolder; every score would then be computed on the wrong token ids.
    """
    vocab = tokenizer.get_vocab()
    problems = []
    if tokenizer.cls_token is None or tokenizer.sep_token is None:
        problems.append("it has no [CLS]/[SEP] tokens")
    if len(vocab) > qformer_vocab:
        problems.append(f"its {len(vocab)} tokens do not fit the Q-Former's {qformer_vocab} embeddings")
    if vocab == t5_tokenizer.get_vocab():
        problems.append("it is the T5 tokenizer")
    if problems:
        raise RuntimeError(
            f"the Q-Former tokenizer loaded from {where} is not a BERT tokenizer ({'; '.join(problems)}). "
            "transformers falls back to the main tokenizer when it cannot read the 'qformer_tokenizer' "
            "subfolder (offline, with an incomplete cache); download the full repo (hf download "
            "<repo>) or pass checkpoint=<a folder with qformer_tokenizer/>."
        )


# ---------------------------------------------------------------------- InstructBLIP
@dataclass
class _Job:
    """One Q-Former + T5 encoder pass: an image of the block with a question, and the answers asked."""

    image: int
    question: str
    t5_ids: list[int]
    answers: dict[tuple[int, ...], list[int]] = field(default_factory=dict)  # label ids -> pair positions


class InstructBLIPScorer(_BlipBase):
    """InstructBLIP-FlanT5 VQAScore (and VisualGPTScore with ``question_template="", answer_template="{}"``).

    Options: ``checkpoint`` (a local folder or repo id in the ``InstructBlipForConditionalGeneration``
    layout, instead of the spec's), ``revision``, ``cache_dir``. Call option: ``num_frames`` (a video's
    frames laid side by side, default 8).
    """

    default_batch_size: ClassVar[int] = 16
    refused_dtypes: ClassVar[dict[Any, str]] = {
        torch.float16: "T5 activations overflow float16 and the scores become NaN; use dtype='bf16' (GPU "
        "default, as the reference ran T5) or 'fp32'",
    }

    def load(self) -> None:
        """Load the checkpoint, its T5 tokenizer and its Q-Former tokenizer (``qformer_tokenizer/``)."""
        from transformers import AutoTokenizer, InstructBlipForConditionalGeneration

        weights, revision, cache_dir = (
            self._weights(),
            self.options.get("revision"),
            self.options.get("cache_dir"),
        )
        kw = {"revision": revision, "cache_dir": cache_dir}
        model = InstructBlipForConditionalGeneration.from_pretrained(weights, dtype=self.dtype, **kw)
        self.model = model.eval().to(self.device)
        self.config = model.config
        self.model.vision_model.post_layernorm.eps = LAVIS_LN_EPS
        self.vision_model = self.model.vision_model
        self.vision_dtype = self.model.vision_model.embeddings.patch_embedding.weight.dtype
        self.image_size = int(self.config.vision_config.image_size)
        self.num_query = int(self.config.num_query_tokens)
        # the tokenizer class the repo names (tokenizer.json); the reference used T5TokenizerFast
        t5 = AutoTokenizer.from_pretrained(weights, **kw)
        self.t5_tokenizer = copy.deepcopy(t5)
        self.t5_tokenizer.truncation_side = "left"
        self.t5_output_tokenizer = copy.deepcopy(t5)
        self.t5_output_tokenizer.truncation_side = "right"
        where = f"{weights!r}, subfolder 'qformer_tokenizer'"
        try:
            qformer = AutoTokenizer.from_pretrained(weights, subfolder="qformer_tokenizer", **kw)
        except (OSError, ValueError) as e:
            raise RuntimeError(
                f"model {self.name!r}: could not load the Q-Former tokenizer from {where}: {e}. "
                f"Download the full repo (`t2v download {self.name}`, or `hf download {weights}`) or pass "
                "checkpoint=<a folder with qformer_tokenizer/>."
            ) from e
        check_qformer_tokenizer(qformer, t5, int(self.config.qformer_config.vocab_size), where)
        qformer.truncation_side = "left"
        self.qformer_tokenizer = qformer
        self.weights_revision = _revision(weights, revision, cache_dir)

    def preprocess(self, img: PILImage.Image) -> PILImage.Image:
        """Short side to the input size (bicubic), centre crop: t2v_metrics' own InstructBLIP transform."""
        return resize_short_center_crop(img, self.image_size)

    # ------------------------------------------------------------------ tokens
    def _t5_question(self, question: str) -> list[int]:
        ids = self.t5_tokenizer(question, truncation=True, max_length=MAX_TXT_LEN).input_ids
        return list(ids)

    def _labels(self, answer: str) -> tuple[int, ...]:
        ids = self.t5_output_tokenizer(answer, truncation=True, max_length=MAX_OUTPUT_TXT_LEN).input_ids
        return tuple(ids)

    # ------------------------------------------------------------------ model pieces
    @torch.inference_mode()
    def _encode(self, jobs: Sequence[_Job], feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """T5 encoder states and mask of each job: Q-Former over (queries, question | image), projected,
        followed by the question's T5 embeddings; right-padded and masked."""
        m = self.model
        dev = self.device
        qf = self.qformer_tokenizer(
            [j.question for j in jobs],
            padding="longest",
            truncation=True,
            max_length=MAX_TXT_LEN,
            return_tensors="pt",
        )
        image_feats = feats[to_device(torch.tensor([j.image for j in jobs]), feats.device)]
        queries = m.query_tokens.expand(len(jobs), -1, -1)
        qmask = torch.cat([torch.ones(len(jobs), self.num_query, dtype=torch.long), qf.attention_mask], dim=1)
        q_out = m.qformer(
            input_ids=to_device(qf.input_ids, dev),
            attention_mask=to_device(qmask, dev),
            query_embeds=queries,
            encoder_hidden_states=image_feats,
            encoder_attention_mask=torch.ones(image_feats.shape[:2], dtype=torch.long, device=dev),
        ).last_hidden_state[:, : self.num_query]
        visual = m.language_projection(q_out)
        embed = m.language_model.get_input_embeddings()
        longest = self.num_query + max(len(j.t5_ids) for j in jobs)
        x = torch.zeros(len(jobs), longest, visual.shape[-1], dtype=visual.dtype, device=dev)
        mask = torch.zeros(len(jobs), longest, dtype=torch.long, device=dev)
        for r, job in enumerate(jobs):
            n = self.num_query + len(job.t5_ids)
            x[r, : self.num_query] = visual[r]
            x[r, self.num_query : n] = embed(to_device(torch.tensor(job.t5_ids), dev)).to(visual.dtype)
            mask[r, :n] = 1
        hidden = m.language_model.get_encoder()(inputs_embeds=x, attention_mask=mask).last_hidden_state
        return hidden, mask

    @torch.inference_mode()
    def _answer_scores(
        self, hidden: torch.Tensor, mask: torch.Tensor, labels: Sequence[Sequence[int]]
    ) -> torch.Tensor:
        """exp(-mean CE) of each label sequence given its encoder states (softmax over the full vocab)."""
        from transformers.modeling_outputs import BaseModelOutput

        lm = self.model.language_model
        lab = torch.full((len(labels), max(len(s) for s in labels)), IGNORE_INDEX, dtype=torch.long)
        for r, seq in enumerate(labels):
            lab[r, : len(seq)] = torch.tensor(seq)
        lab = to_device(lab, self.device)
        valid = lab.ne(IGNORE_INDEX)
        logits = lm(
            encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
            attention_mask=mask,
            decoder_input_ids=lm._shift_right(lab),
            decoder_attention_mask=valid.long(),
            use_cache=False,
        ).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        token_logp = logp.gather(-1, lab.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
        return torch.exp(token_logp.sum(-1) / valid.sum(-1))  # on the device: read back once per call

    # ------------------------------------------------------------------ scheduling
    def _score_index_pairs(
        self,
        images: Sequence[PILImage.Image],
        questions: Sequence[str],
        answers: Sequence[str],
        pairs: Sequence[tuple[int, int]],
    ) -> torch.Tensor:
        """Scores of ``(images[i], questions[j] -> answers[j])`` for each ``(i, j)`` in ``pairs``."""
        t5_q = {q: self._t5_question(q) for q in dict.fromkeys(questions)}
        labels = {a: self._labels(a) for a in dict.fromkeys(answers)}
        # on the device until the call ends: no batch waits for the GPU, one copy to the host per call
        out = torch.full((len(pairs),), float("nan"), device=self.device)
        by_image: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(pairs):
            by_image.setdefault(i, []).append(k)
        image_ids = list(by_image)
        blocks = list(chunks(image_ids, self.batch_size))
        for block in progress_bar(
            blocks, enabled=self.progress, total=len(blocks), desc=self.name, unit="block"
        ):
            feats = self.encode_images([images[i] for i in block])
            jobs: dict[tuple[int, str], _Job] = {}
            for b, i in enumerate(block):
                for k in by_image[i]:
                    q = questions[pairs[k][1]]
                    job = jobs.setdefault((b, q), _Job(b, q, t5_q[q]))
                    job.answers.setdefault(labels[answers[pairs[k][1]]], []).append(k)
            # similar lengths together: less padding (the scores do not depend on it)
            ordered = sorted(jobs.values(), key=lambda j: len(j.t5_ids))
            for part in chunks(ordered, self.batch_size):
                hidden, mask = self._encode(part, feats)
                rows = [(r, lab, ks) for r, job in enumerate(part) for lab, ks in job.answers.items()]
                for sub in chunks(rows, self.batch_size):
                    idx = to_device(torch.tensor([r for r, _, _ in sub]), self.device)
                    scores = self._answer_scores(
                        hidden.index_select(0, idx), mask.index_select(0, idx), [lab for _, lab, _ in sub]
                    )
                    dest = [k for _, _, ks in sub for k in ks]
                    src = [r for r, (_, _, ks) in enumerate(sub) for _ in ks]
                    out[to_device(torch.tensor(dest), self.device)] = scores[to_device(torch.tensor(src), self.device)]
        return out.cpu()

    def score(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """The M x N matrix: each image through the ViT once, (image, question) pairs batched."""
        templates = _require(templates, self.name)
        images = self.images_of(media, num_frames)
        filled = [templates.fill(t) for t in texts]
        pairs = [(i, j) for i in range(len(images)) for j in range(len(texts))]
        scores = self._score_index_pairs(images, [q for q, _ in filled], [a for _, a in filled], pairs)
        return scores.reshape(len(images), len(texts))

    def score_pairs(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``; a media object repeated is encoded once."""
        templates = _require(templates, self.name)
        images, index = self.unique_images(media, num_frames)
        filled = [templates.fill(t) for t in texts]
        return self._score_index_pairs(
            images, [q for q, _ in filled], [a for _, a in filled], [(i, k) for k, i in enumerate(index)]
        )

    # ------------------------------------------------------------------ generation
    @torch.inference_mode()
    def generate_media(self, media: Sequence[Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Answer ``prompts[k]`` about ``media[k]``: the prompt goes to the Q-Former and the T5 encoder, as
        when scoring. Options: ``max_new_tokens`` (default 128), ``temperature`` (default 0: greedy),
        ``top_p``, ``num_beams`` (default 1), ``num_frames`` (videos, default 8)."""
        from transformers.modeling_outputs import BaseModelOutput

        gen = generation_kwargs(self.name, prompts, options)
        images = self.images_of(media, int(options.get("num_frames", NUM_FRAMES)))
        answers: list[str] = []
        for s in range(0, len(images), self.batch_size):
            feats = self.encode_images(images[s : s + self.batch_size])
            jobs = [_Job(r, p, self._t5_question(p)) for r, p in enumerate(prompts[s : s + self.batch_size])]
            hidden, mask = self._encode(jobs, feats)
            ids = self.model.language_model.generate(
                encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=mask, **gen
            )
            answers += [t.strip() for t in self.t5_tokenizer.batch_decode(ids, skip_special_tokens=True)]
        return answers


def _require(templates: Templates | None, name: str) -> Templates:
    if templates is None:
        raise ValueError(f"model {name!r} is a VQA scorer: it needs question/answer templates")
    return templates


# ---------------------------------------------------------------------- BLIP-2
class _Blip2Base(_BlipBase):
    """BLIP-2 (``Blip2ForImageTextRetrieval``: ViT, Q-Former, ITM head and ITC projections)."""

    init_options: ClassVar[dict[str, Any] | None] = {"checkpoint": None, "revision": None, "cache_dir": None,
                                                     "tokenizer": None}

    def load(self) -> None:
        """Load the checkpoint: a Hub conversion (repo id or folder), or the LAVIS CLIP-L one by URL."""
        weights, revision, cache_dir = (
            self._weights(),
            self.options.get("revision"),
            self.options.get("cache_dir"),
        )
        if weights.startswith(("https://", "http://")) or weights.endswith(".pth"):
            from .vitl import load_lavis_vitl

            tokenizer_repo = self.options.get("tokenizer") or (
                self.spec.weights[1] if len(self.spec.weights) > 1 else "bert-base-uncased"
            )
            model, tokenizer, self.weights_revision = load_lavis_vitl(
                weights, tokenizer_repo, cache_dir=cache_dir
            )
            # as from_pretrained does (_keep_in_fp32_modules): Q-Former and queries stay in fp32
            model = model.to(self.dtype)
            model.qformer.float()
            model.query_tokens.data = model.query_tokens.data.float()
        else:
            from transformers import AutoTokenizer, Blip2ForImageTextRetrieval

            kw = {"revision": revision, "cache_dir": cache_dir}
            model = Blip2ForImageTextRetrieval.from_pretrained(weights, dtype=self.dtype, **kw)
            tokenizer = AutoTokenizer.from_pretrained(self.options.get("tokenizer") or weights, **kw)
            model.vision_model.post_layernorm.eps = LAVIS_LN_EPS
            self.weights_revision = _revision(weights, revision, cache_dir)
        self.model = model.eval().to(self.device)
        self.vision_model = self.model.vision_model
        self.vision_dtype = next(self.vision_model.parameters()).dtype
        self.image_size = int(self.model.config.vision_config.image_size)
        self.num_query = int(self.model.config.num_query_tokens)
        tokenizer.truncation_side = "right"
        self.tokenizer = tokenizer

    def preprocess(self, img: PILImage.Image) -> PILImage.Image:
        """A squash to the input size (224; 364 for the COCO fine-tune), bicubic: LAVIS's eval transform."""
        return resize_square(img, self.image_size)

    def tokens(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """BERT ids and mask, padded to and truncated at 35 tokens (right), as LAVIS's BLIP-2."""
        for k, t in enumerate(texts):
            if not isinstance(t, str):
                raise ValueError(f"text {k} is a {type(t).__name__} ({t!r}); every text must be a string")
        tok = self.tokenizer(
            list(texts), padding="max_length", truncation=True, max_length=ITM_TXT_LEN, return_tensors="pt"
        )
        return to_device(tok.input_ids, self.device), to_device(tok.attention_mask, self.device)

    def _image_mask(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.ones(feats.shape[:2], dtype=torch.long, device=feats.device)


class Blip2ITMScorer(_Blip2Base):
    """BLIP-2 ITMScore: the image-text matching head's probability of "match".

    Options: ``checkpoint``, ``revision``, ``cache_dir``, ``tokenizer`` (BERT tokenizer repo, default the
    checkpoint's). Call option: ``num_frames`` (a video's frames side by side, default 8).
    """

    @torch.inference_mode()
    def _itm(self, feats: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(match) of aligned rows: image features ``feats[k]`` with text ``ids[k]``."""
        m = self.model
        queries = m.query_tokens.expand(len(ids), -1, -1)
        emb = m.embeddings(input_ids=ids, query_embeds=queries)
        full_mask = torch.cat(
            [torch.ones(len(ids), self.num_query, dtype=mask.dtype, device=mask.device), mask], 1
        )
        hidden = m.qformer(
            query_embeds=emb,
            query_length=self.num_query,
            attention_mask=full_mask,
            encoder_hidden_states=feats,
            encoder_attention_mask=self._image_mask(feats),
        ).last_hidden_state[:, : self.num_query]
        logits = m.itm_head(hidden.to(m.itm_head.weight.dtype)).mean(dim=1)
        return torch.softmax(logits.float(), dim=-1)[:, 1]  # on the device: read back once per call

    def _score_index_pairs(
        self, images: Sequence[PILImage.Image], texts: Sequence[str], pairs: Sequence[tuple[int, int]]
    ) -> torch.Tensor:
        ids, mask = self.tokens(texts)
        out = torch.full((len(pairs),), float("nan"), device=self.device)
        by_image: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(pairs):
            by_image.setdefault(i, []).append(k)
        blocks = list(chunks(list(by_image), self.batch_size))
        for block in progress_bar(
            blocks, enabled=self.progress, total=len(blocks), desc=self.name, unit="block"
        ):
            feats = self.encode_images([images[i] for i in block])
            rows = [(b, k) for b, i in enumerate(block) for k in by_image[i]]
            for part in chunks(rows, self.batch_size):
                js = to_device(torch.tensor([pairs[k][1] for _, k in part]), self.device)
                bs = to_device(torch.tensor([b for b, _ in part]), feats.device)
                scores = self._itm(
                    feats.index_select(0, bs), ids.index_select(0, js), mask.index_select(0, js)
                )
                out[to_device(torch.tensor([k for _, k in part]), self.device)] = scores
        return out.cpu()

    def score(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None = None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """The M x N matrix: each image through the ViT once, the pairs through the Q-Former in batches."""
        images = self.images_of(media, num_frames)
        pairs = [(i, j) for i in range(len(images)) for j in range(len(texts))]
        return self._score_index_pairs(images, texts, pairs).reshape(len(images), len(texts))

    def score_pairs(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None = None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        images, index = self.unique_images(media, num_frames)
        return self._score_index_pairs(images, texts, [(i, k) for k, i in enumerate(index)])


class Blip2ITCScorer(_Blip2Base):
    """BLIP-2 CLIPScore (ITC): max over the 32 queries of the cosine between the projected query output and
    the projected text ``[CLS]`` (no temperature).

    Options: ``checkpoint``, ``revision``, ``cache_dir``, ``tokenizer``. Call option: ``num_frames``.
    """

    @torch.inference_mode()
    def image_embeddings(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        """L2-normalised projected query outputs of each image, ``(len(images), 32, D)``, float32."""
        m = self.model
        out = []
        for part in chunks(images, self.batch_size):
            feats = self.encode_images(part)
            hidden = m.qformer(
                query_embeds=m.query_tokens.expand(len(part), -1, -1),
                encoder_hidden_states=feats,
                encoder_attention_mask=self._image_mask(feats),
            ).last_hidden_state
            proj = m.vision_projection(hidden.to(m.vision_projection.weight.dtype))
            out.append(torch.nn.functional.normalize(proj.float(), dim=-1))
        return torch.cat(out)

    @torch.inference_mode()
    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised projected ``[CLS]`` of each text, ``(len(texts), D)``; each distinct text once."""
        m = self.model
        unique = list(dict.fromkeys(texts))
        out = []
        for part in chunks(unique, self.batch_size):
            ids, mask = self.tokens(part)
            hidden = m.qformer(
                query_embeds=m.embeddings(input_ids=ids), query_length=0, attention_mask=mask
            ).last_hidden_state[:, 0]
            proj = m.text_projection(hidden.to(m.text_projection.weight.dtype))
            out.append(torch.nn.functional.normalize(proj.float(), dim=-1))
        emb = torch.cat(out)
        where = {t: k for k, t in enumerate(unique)}
        return emb[torch.tensor([where[t] for t in texts], device=emb.device)]

    def score(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None = None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """The M x N matrix: M image encodes, N text encodes, one similarity product, max over queries."""
        img = self.image_embeddings(self.images_of(media, num_frames))
        txt = self.text_embeddings(texts)
        return torch.einsum("iqd,jd->ijq", img, txt).amax(dim=-1).cpu()

    def score_pairs(
        self,
        media: Sequence[Media],
        texts: Sequence[str],
        *,  # type: ignore[override]
        templates: Templates | None = None,
        num_frames: int = NUM_FRAMES,
    ) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        images, index = self.unique_images(media, num_frames)
        img = self.image_embeddings(images)[torch.tensor(index)]
        txt = self.text_embeddings(texts)
        return torch.einsum("kqd,kd->kq", img, txt).amax(dim=-1).cpu()
