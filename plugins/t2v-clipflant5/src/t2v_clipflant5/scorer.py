"""VQAScore with CLIP-FlanT5, computed as the reference (t2v_metrics) does, M x N at a time.

score(image, text) = exp(-mean cross-entropy of the answer tokens) = the geometric mean of the answer tokens'
probabilities, where the encoder reads ``[prompt before <image>] [image patch features] [prompt after]``.

What the M x N path saves over scoring pairs one by one, with identical numbers:
- the CLIP tower and projector run once per image of the call (the reference reruns them for every pair);
- the encoder runs once per distinct (image, question): a template whose question does not depend on the
  text (VisualGPTScore: empty question, answer ``{}``) encodes each image once for all texts;
- pairs are batched; sequences are right-padded and masked, so a pair's score does not depend on the batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from PIL import Image as PILImage

from t2v_core.device import to_device
from t2v_core.media import Media, expand_to_square
from t2v_core.progress import progress_bar
from t2v_core.scorer import ImageOnlyMixin, Scorer, generation_kwargs
from t2v_core.templates import Templates

from .modeling import CONTEXT_LEN, CONVERSATIONS, format_prompt, load_clip_t5, shrink_vocab

IGNORE_INDEX = -100


@dataclass
class _Job:
    """One encoder sequence: an image (index into the block) with a tokenized question."""

    image: int
    before: list[int]
    after: list[int]

    @property
    def length(self) -> int:
        return len(self.before) + len(self.after)


class CLIPFlanT5Scorer(ImageOnlyMixin, Scorer):
    """CLIP-FlanT5 VQAScore (and VisualGPTScore with ``question_template="", answer_template="{}"``).

    Options (from the model name's spec, overridable as keyword arguments of ``VQAScore``):
        conversation: prompt wrapping, one of ``t5_chat`` (default), ``t5_chat_no_system``,
            ``t5_chat_no_system_no_user``.
        tokenizer: tokenizer repo (default: the spec's second weights entry, ``google/flan-t5-xxl``).
        checkpoint: a local folder or repo id to load instead of the spec's weights.
        image_aspect_ratio: ``"pad"`` (pad to square with the processor mean, default) or ``"square"``.
        revision: the Hub revision of the checkpoint.
    Call options: ``num_frames`` (frames sampled from a video and laid side by side; default 4).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 4}
    init_options: ClassVar[dict[str, Any] | None] = {"conversation": "t5_chat", "tokenizer": None, "checkpoint": None,
                                                     "image_aspect_ratio": "pad", "revision": None, "alpha": None}
    default_batch_size: ClassVar[int] = 16
    #: on CPU, big batches of ~600-token sequences spill the caches (attention scores are batch x heads x L x L)
    #: and run slower per pair than small ones; measured: batch 4 was never slower than 16 there
    cpu_batch_size: ClassVar[int] = 4
    refused_dtypes: ClassVar[dict[Any, str]] = {
        torch.float16: "T5 activations overflow float16 and the scores become NaN; use dtype='bf16' (GPU "
                       "default) or 'fp32'",
    }

    @classmethod
    def default_batch_size_for(cls, device: Any) -> int:
        """Smaller batches on CPU: long padded batches were slower per pair than single pairs there."""
        return cls.cpu_batch_size if device.type == "cpu" else cls.default_batch_size

    # ------------------------------------------------------------------ loading
    def peek_weights_revision(self) -> str | None:
        """What :meth:`load` records, from the cache alone: a rerun served by the store skips the 11 GB load."""
        return _revision(self.options.get("checkpoint") or self.spec.weights[0], self.options.get("revision"))

    def load(self) -> None:
        """Load the CLIP-FlanT5 checkpoint, its tokenizer and the CLIP image processor."""
        from transformers import AutoImageProcessor, AutoTokenizer

        self.conversation = self.options.get("conversation", "t5_chat")
        if self.conversation not in CONVERSATIONS:
            raise ValueError(f"model {self.name!r}: conversation must be one of {sorted(CONVERSATIONS)}, got "
                             f"{self.conversation!r}")
        self.image_aspect_ratio = self.options.get("image_aspect_ratio", "pad")
        if self.image_aspect_ratio not in ("pad", "square"):
            raise ValueError(f"model {self.name!r}: image_aspect_ratio must be 'pad' or 'square', got "
                             f"{self.image_aspect_ratio!r}")
        weights = self.options.get("checkpoint") or self.spec.weights[0]
        tokenizer_repo = self.options.get("tokenizer") or (self.spec.weights[1] if len(self.spec.weights) > 1
                                                           else None)
        if not tokenizer_repo:
            raise ValueError(f"model {self.name!r}: no tokenizer repo given (option 'tokenizer')")
        revision = self.options.get("revision")
        self.model, self.config = load_clip_t5(weights, dtype=self.dtype, device=self.device, revision=revision)
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_repo, model_max_length=CONTEXT_LEN)
        # as the reference: the softmax runs over the tokenizer's tokens only
        shrink_vocab(self.model, len(self.tokenizer))
        # the reference resized with PIL; transformers 5's torchvision backend lands ~1e-3 away
        self.processor = AutoImageProcessor.from_pretrained(self.config.mm_vision_tower, backend="pil")
        self.pad_color = tuple(int(x * 255) for x in self.processor.image_mean)
        self.weights_revision = _revision(weights, revision)
        self._token_cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ pieces
    def _tokens(self, text: str) -> list[int]:
        """Token ids of one prompt chunk, ``</s>`` included (the reference tokenizes each chunk alone)."""
        ids = self._token_cache.get(text)
        if ids is None:
            ids = list(self.tokenizer(text).input_ids)
            if len(self._token_cache) < 100_000:
                self._token_cache[text] = ids
        return ids

    def _prompt_tokens(self, question: str) -> tuple[list[int], list[int]]:
        before, after = format_prompt(question, self.conversation)
        b, a = self._tokens(before), self._tokens(after)
        # the reference truncates the token sequence (the image counting as one token) to CONTEXT_LEN
        room = CONTEXT_LEN - len(b) - 1
        return b, a[:max(room, 0)]

    def _answer_tokens(self, answer: str) -> list[int]:
        if "<image>" in answer:
            raise ValueError(f"the answer {answer!r} contains '<image>', which CLIP-FlanT5 reserves for the image")
        return self._tokens(answer)[:CONTEXT_LEN]

    def _pixels(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        if self.image_aspect_ratio == "pad":
            images = [expand_to_square(im, self.pad_color) for im in images]
        return self.processor(images=list(images), return_tensors="pt")["pixel_values"]

    @torch.inference_mode()
    def encode_images(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        """Projected patch features of each image, ``(len(images), patches, d_model)``, in batches."""
        out = []
        for s in range(0, len(images), self.batch_size):
            pixels = to_device(self._pixels(images[s:s + self.batch_size]), self.device, self.dtype)
            out.append(self.model.encode_images(pixels))
        return torch.cat(out)

    def _encoder_inputs(self, jobs: Sequence[_Job], feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded encoder embeddings ``[before, image, after]`` and their mask."""
        embed = self.model.shared
        n_img = feats.shape[1]
        longest = max(j.length for j in jobs) + n_img
        d = feats.shape[-1]
        x = torch.zeros(len(jobs), longest, d, dtype=feats.dtype, device=self.device)
        mask = torch.zeros(len(jobs), longest, dtype=torch.long, device=self.device)
        for r, job in enumerate(jobs):
            nb, na = len(job.before), len(job.after)
            tok = embed(to_device(torch.tensor(job.before + job.after), self.device)).to(feats.dtype)
            x[r, :nb] = tok[:nb]
            x[r, nb:nb + n_img] = feats[job.image]
            x[r, nb + n_img:nb + n_img + na] = tok[nb:]
            mask[r, :nb + n_img + na] = 1
        return x, mask

    @torch.inference_mode()
    def _answer_scores(self, hidden: torch.Tensor, mask: torch.Tensor | None,
                       labels: Sequence[list[int]]) -> torch.Tensor:
        """exp(-mean CE) of each label sequence given its encoder states."""
        from transformers.modeling_outputs import BaseModelOutput

        longest = max(len(seq) for seq in labels)
        lab = torch.full((len(labels), longest), IGNORE_INDEX, dtype=torch.long)
        for r, seq in enumerate(labels):
            lab[r, :len(seq)] = torch.tensor(seq)
        lab = to_device(lab, self.device)
        out = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=mask,
                         decoder_input_ids=self.model._shift_right(lab), use_cache=False)
        logp = torch.log_softmax(out.logits.float(), dim=-1)
        valid = lab.ne(IGNORE_INDEX)
        token_logp = logp.gather(-1, lab.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
        mean_nll = -token_logp.sum(-1) / valid.sum(-1)
        return torch.exp(-mean_nll)  # on the device: read back once per call

    # ------------------------------------------------------------------ scoring
    def _score_index_pairs(self, images: Sequence[PILImage.Image], questions: Sequence[str],
                           answers: Sequence[str], pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
        """Scores of ``(images[i], questions[j] -> answers[j])`` for each ``(i, j)`` in ``pairs``."""
        q_tokens = {q: self._prompt_tokens(q) for q in dict.fromkeys(questions)}
        a_tokens = [self._answer_tokens(a) for a in answers]
        # on the device until the call ends: no batch waits for the GPU, one copy to the host per call
        out = torch.empty(len(pairs), dtype=torch.float32, device=self.device)
        by_image: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(pairs):
            by_image.setdefault(i, []).append(k)
        image_ids = list(by_image)
        # a block of images at a time: their features, then every pair that uses them
        blocks = range(0, len(image_ids), self.batch_size)
        for s in progress_bar(blocks, enabled=self.progress, total=len(blocks), desc=self.name, unit="block"):
            block = image_ids[s:s + self.batch_size]
            feats = self.encode_images([images[i] for i in block])
            # one encoder job per distinct (image, question); one decoder row per distinct answer of a job
            jobs: list[_Job] = []
            job_of: dict[tuple[int, str], int] = {}
            rows: dict[tuple[int, tuple[int, ...]], list[int]] = {}
            for b, i in enumerate(block):
                for k in by_image[i]:
                    q = questions[pairs[k][1]]
                    key = (b, q)
                    if key not in job_of:
                        job_of[key] = len(jobs)
                        jobs.append(_Job(b, *q_tokens[q]))
                    rows.setdefault((job_of[key], tuple(a_tokens[pairs[k][1]])), []).append(k)
            rows_of_job: dict[int, list[tuple[tuple[int, ...], list[int]]]] = {}
            for (job, ans), ks in rows.items():
                rows_of_job.setdefault(job, []).append((ans, ks))
            # similar lengths together: less padding (the scores do not depend on it)
            order = sorted(range(len(jobs)), key=lambda j: jobs[j].length)
            for js in range(0, len(order), self.batch_size):
                chunk = order[js:js + self.batch_size]
                self._run_jobs([jobs[j] for j in chunk], [rows_of_job[j] for j in chunk], feats, out)
        return out.cpu()

    @torch.inference_mode()
    def _run_jobs(self, jobs: Sequence[_Job], job_rows: Sequence[list[tuple[tuple[int, ...], list[int]]]],
                  feats: torch.Tensor, out: torch.Tensor) -> None:
        x, mask = self._encoder_inputs(jobs, feats)
        # jobs are sorted by length, so most batches have no padding: then no mask is needed, and T5 adds
        # its position bias without materializing a (batch, heads, L, L) mask (the same numbers, less work)
        padded = len({j.length for j in jobs}) > 1
        hidden = self.model.encoder(inputs_embeds=x, attention_mask=mask if padded else None).last_hidden_state
        flat = [(r, list(ans), ks) for r, rows in enumerate(job_rows) for ans, ks in rows]
        for s in range(0, len(flat), self.batch_size):
            part = flat[s:s + self.batch_size]
            idx = to_device(torch.tensor([r for r, _, _ in part]), self.device)
            scores = self._answer_scores(hidden.index_select(0, idx), mask.index_select(0, idx) if padded else None,
                                         [ans for _, ans, _ in part])
            # every pair of a row gets its score, by index tensors copied without blocking
            dest = [k for _, _, ks in part for k in ks]
            src = [r for r, (_, _, ks) in enumerate(part) for _ in ks]
            out[to_device(torch.tensor(dest), self.device)] = scores[to_device(torch.tensor(src), self.device)]

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None, num_frames: int = 4) -> torch.Tensor:
        """The M x N matrix: each image encoded once, pairs batched through the encoder-decoder."""
        templates = _require(templates)
        images = [self.as_image(m, num_frames=num_frames) for m in media]
        filled = [templates.fill(t) for t in texts]
        pairs = [(i, j) for i in range(len(images)) for j in range(len(texts))]
        scores = self._score_index_pairs(images, [q for q, _ in filled], [a for _, a in filled], pairs)
        return scores.reshape(len(images), len(texts))

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None, num_frames: int = 4) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``; a media object repeated is encoded once."""
        templates = _require(templates)
        uniq: dict[int, int] = {}
        images: list[PILImage.Image] = []
        index = []
        for m in media:
            if id(m) not in uniq:
                uniq[id(m)] = len(images)
                images.append(self.as_image(m, num_frames=num_frames))
            index.append(uniq[id(m)])
        filled = [templates.fill(t) for t in texts]
        return self._score_index_pairs(images, [q for q, _ in filled], [a for _, a in filled],
                                       [(i, k) for k, i in enumerate(index)])

    # ------------------------------------------------------------------ generation
    @torch.inference_mode()
    def generate_media(self, media: Sequence[Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Answer ``prompts[k]`` about ``media[k]`` with the scoring prompt format.

        Options: ``max_new_tokens`` (default 128), ``temperature`` (default 0: greedy; the reference samples
        at 0.2), ``top_p``, ``num_beams`` (default 1), ``num_frames`` (videos, default 4).
        """
        gen_kwargs = generation_kwargs(self.name, prompts, options)
        num_frames = int(options.get("num_frames", self.call_options["num_frames"]))
        images = [self.as_image(m, num_frames=num_frames) for m in media]
        answers: list[str] = []
        for s in range(0, len(images), self.batch_size):
            feats = self.encode_images(images[s:s + self.batch_size])
            jobs = [_Job(r, *self._prompt_tokens(p)) for r, p in enumerate(prompts[s:s + self.batch_size])]
            x, mask = self._encoder_inputs(jobs, feats)
            ids = self.model.generate(inputs_embeds=x, attention_mask=mask, **gen_kwargs)
            answers += [t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]
        return answers


def _require(templates: Templates | None) -> Templates:
    if templates is None:
        raise ValueError("CLIP-FlanT5 is a VQA scorer: it needs question/answer templates")
    return templates


def _revision(weights: str, revision: str | None) -> str | None:
    """The snapshot commit of a Hub checkpoint in the local cache, or the folder's absolute path."""
    if os.path.isdir(weights):
        return os.path.abspath(weights)
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(weights, "config.json", revision=revision)
    except Exception:  # provenance is best effort; never fail a load over it
        return revision
    if isinstance(found, str):
        parts = os.path.normpath(found).split(os.sep)
        if "snapshots" in parts:
            return parts[parts.index("snapshots") + 1]
    return revision
