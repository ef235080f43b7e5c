"""VQAScore with LLaVA-1.5, ShareGPT4V and LLaVA-1.6, computed as the reference (t2v_metrics) does, M x N at a time.

The reference's prompt for question Q and answer A is ::

    SYSTEM + " USER: <image>\\n" + Q + " ASSISTANT: " + A + "</s>"

tokenized in two chunks around ``<image>`` (each chunk alone; the second chunk's BOS dropped), the image's
projected patch features in place of ``<image>``. The scored tokens are those after the question part (the
question part tokenized alone, minus its last token, the lone ``▁`` that the full prompt merges into A), i.e.
A's tokens and ``</s>``. score = exp(-mean cross-entropy over them) = their geometric-mean probability.

What the M x N path saves over scoring pairs one by one, with the same numbers (to float rounding):
- the vision tower and projector run once per image of the call;
- the prompt before the image, the image features and the tokens every text's suffix starts with (``▁\\n`` and
  the question template's head) run once per image; their KV cache is shared by all texts;
- each (image, text) pair then runs only its own suffix, batched, right-padded (pads come after every token
  that is read, so causal attention never sees them), and the vocabulary projection runs only where read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from PIL import Image as PILImage

from t2v_core.device import per_forward, to_device
from t2v_core.media import Media, expand_to_square
from t2v_core.progress import progress_bar
from t2v_core.scorer import ImageOnlyMixin, Scorer, generation_kwargs
from t2v_core.templates import Templates

from .modeling import load_llava, weights_revision

IMAGE_TOKEN = "<image>"
#: the vicuna_v1 conversation's system message (the reference's LLaVA-1.5 prompt)
SYSTEM_MSG = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
              "helpful, detailed, and polite answers to the user's questions.")
#: the vicuna_v1 conversation of the reference: (before the image, after it); ``{q}`` is the question
PROMPT_BEFORE = SYSTEM_MSG + " USER: "
PROMPT_AFTER = "\n{q} ASSISTANT: "


@dataclass
class _Text:
    """One text's tokens after the image: ``ids`` (question part, answer, ``</s>``); tokens ``ids[start:]`` are
    scored."""

    ids: list[int]
    start: int


class LlavaScorer(ImageOnlyMixin, Scorer):
    """LLaVA-1.5 / ShareGPT4V / LLaVA-1.6 VQAScore (VisualGPTScore with ``question_template="",
    answer_template="{}"``) on checkpoints in their original published layout.

    Options (from the model name's spec, overridable as keyword arguments of ``VQAScore``):
        checkpoint: a local folder or repo id to load instead of the spec's weights.
        revision: the Hub revision of the checkpoint.
        image_aspect_ratio: ``"pad"`` (pad to a square with the processor mean, one tile: the reference, also
            for LLaVA-1.6), ``"square"`` (no padding: resize and centre-crop), or ``"anyres"`` (LLaVA-1.6 as
            its authors run it: AnyRes tiles from the checkpoint's ``image_grid_pinpoints``, unpadded, with
            ``image_newline``; see :mod:`t2v_llava.anyres`).
    Call options: ``num_frames`` (frames of a video laid side by side with a 10 px black gap; default 8, as
    the reference).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 8}
    #: the conversation around the image: text before ``<image>``, and after it (``{q}`` is the question)
    prompt_before: ClassVar[str] = PROMPT_BEFORE
    prompt_after: ClassVar[str] = PROMPT_AFTER
    default_batch_size: ClassVar[int] = 16
    cpu_batch_size: ClassVar[int] = 8
    #: images per vision-tower / prefix forward on the CPU (``batch_size`` elsewhere): batching whole images
    #: there only costs (their activations no longer fit the caches: a batch of 8 images ran ~10-20% slower
    #: per image than 8 batches of 1 in benchmarks/bench_llava.py), while the texts' suffixes still batch;
    #: None: batch_size on the CPU too (the tests set it, to keep the batched path a GPU takes under test)
    cpu_image_block: ClassVar[int | None] = 1
    #: the reference concatenated video frames with a 10-pixel black gap
    frame_gap: ClassVar[int] = 10

    #: constructor options beyond the core's (the core refuses any other, naming these)
    init_options: ClassVar[dict[str, Any] | None] = {"checkpoint": None, "revision": None,
                                                     "image_aspect_ratio": "pad"}

    @classmethod
    def default_batch_size_for(cls, device: Any) -> int:
        """Smaller batches on CPU, where long padded batches gain nothing per pair."""
        return cls.cpu_batch_size if device.type == "cpu" else cls.default_batch_size

    # ------------------------------------------------------------------ loading
    def load(self) -> None:
        """Load the checkpoint (original layout), its tokenizer and the vision tower's image processor."""
        from transformers import AutoImageProcessor, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.image_aspect_ratio = self.options.get("image_aspect_ratio", "pad")
        if self.image_aspect_ratio not in ("pad", "square", "anyres"):
            raise ValueError(f"model {self.name!r}: image_aspect_ratio must be 'pad', 'square' or 'anyres', got "
                             f"{self.image_aspect_ratio!r}")
        weights = self.options.get("checkpoint") or self.spec.weights[0]
        revision = self.options.get("revision")
        self.model, self.config, self.unused_keys = load_llava(weights, dtype=self.dtype, device=self.device,
                                                               revision=revision)
        previous = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # share4v configs: "model type not recognised" is expected noise
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(weights, revision=revision)
        finally:
            hf_logging.set_verbosity(previous)
        self.bos_id = self.tokenizer.bos_token_id
        self.eos_id = self.tokenizer.eos_token_id
        # as the reference: the softmax runs over the tokenizer's tokens (resize_token_embeddings(len(tok)))
        self.vocab = min(len(self.tokenizer), self.model.language_model.lm_head.out_features)
        # the reference resized with PIL; transformers 5's torchvision backend lands ~4e-3 away
        self.processor = AutoImageProcessor.from_pretrained(self.config["mm_vision_tower"], backend="pil")
        self.pad_color = tuple(int(x * 255) for x in self.processor.image_mean)
        if self.image_aspect_ratio == "anyres":
            if not self.config.get("image_grid_pinpoints"):
                raise ValueError(f"model {self.name!r}: image_aspect_ratio='anyres' needs image_grid_pinpoints in "
                                 f"the checkpoint's config (LLaVA-1.6 has them; {weights!r} does not)")
            self.merge = self.config.get("mm_patch_merge_type", "flat")
            if self.merge == "spatial_unpad" and self.model.image_newline is None:
                raise ValueError(f"model {self.name!r}: {weights!r} has no model.image_newline, which "
                                 "image_aspect_ratio='anyres' with spatial_unpad needs")
        self.weights_revision = weights_revision(weights, revision)
        self._token_cache: dict[str, list[int]] = {}
        self._before = self._chunks(self.prompt_before + IMAGE_TOKEN)[0]

    # ------------------------------------------------------------------ tokens
    def _encode(self, text: str) -> list[int]:
        ids = self._token_cache.get(text)
        if ids is None:
            ids = list(self.tokenizer(text).input_ids)
            if len(self._token_cache) < 100_000:
                self._token_cache[text] = ids
        return ids

    def _chunks(self, prompt: str) -> list[list[int]]:
        """The reference's ``tokenizer_image_token``: each chunk between ``<image>`` tokenized alone; when the
        first chunk starts with BOS, BOS is kept once at the front and dropped from every chunk."""
        chunks = [self._encode(c) for c in prompt.split(IMAGE_TOKEN)]
        if chunks and chunks[0] and chunks[0][0] == self.bos_id:
            return [[self.bos_id] + chunks[0][1:]] + [c[1:] for c in chunks[1:]]
        return chunks

    def _text(self, question: str, answer: str) -> _Text:
        for what, s in (("question", question), ("answer", answer)):
            if IMAGE_TOKEN in s:
                raise ValueError(f"the {what} {s!r} contains {IMAGE_TOKEN!r}, which LLaVA reserves for the image; "
                                 "remove it from the text or the template")
        after_q = PROMPT_AFTER.replace("{q}", question)
        q_ids = self._chunks(PROMPT_BEFORE + IMAGE_TOKEN + after_q)[1]
        ids = self._chunks(PROMPT_BEFORE + IMAGE_TOKEN + after_q + answer + "</s>")[1]
        # the reference masks the question part's length minus one (its trailing lone "▁")
        start = max(len(q_ids) - 1, 1)
        if start >= len(ids):
            raise ValueError(f"answer {answer!r} leaves no token to score after the question {question!r}")
        return _Text(ids, start)

    # ------------------------------------------------------------------ images
    def _pixels(self, images: Sequence[PILImage.Image]) -> torch.Tensor:
        if self.image_aspect_ratio == "pad":
            images = [expand_to_square(im, self.pad_color) for im in images]
        return self.processor(images=list(images), return_tensors="pt")["pixel_values"]

    @torch.inference_mode()
    def encode_images(self, images: Sequence[PILImage.Image]) -> list[torch.Tensor]:
        """Projected image features, one ``(tokens, hidden)`` tensor per image (576 tokens for a 336 px tile)."""
        if self.image_aspect_ratio != "anyres":
            return list(self.model.encode_images(to_device(self._pixels(images), self.device, self.dtype)))
        from .anyres import pack, tiles

        pinpoints = self.config["image_grid_pinpoints"]
        side = self.processor.crop_size["height"]
        out = []
        for im in images:
            parts, grid = tiles(im, pinpoints, side)
            feats = self.model.encode_images(to_device(self._pixels(parts), self.device, self.dtype))
            out.append(pack(feats, grid, im.size, self.model.image_newline, self.merge))
        return out

    # ------------------------------------------------------------------ scoring
    @torch.inference_mode()
    def _score_index_pairs(self, images: Sequence[PILImage.Image], texts: Sequence[_Text],
                           pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
        """Scores of ``(images[i], texts[j])`` for each ``(i, j)`` in ``pairs``."""
        from transformers import DynamicCache

        # on the device until the call ends: no batch waits for the GPU, one copy to the host per call
        out = torch.empty(len(pairs), dtype=torch.float32, device=self.device)
        # tokens every text starts with go into the shared prefix; each text keeps its first scored token's
        # predecessor so its logits come from its own suffix
        common = _common_prefix_length([t.ids for t in texts], min(t.start for t in texts) - 1)
        head = texts[0].ids[:common]
        by_image: dict[int, list[int]] = {}
        for k, (i, _) in enumerate(pairs):
            by_image.setdefault(i, []).append(k)
        image_ids = list(by_image)
        lm = self.model.language_model
        before = self.model.embed(to_device(torch.tensor(self._before), self.device))
        head_emb = self.model.embed(to_device(torch.tensor(head, dtype=torch.long), self.device))
        step = per_forward(self.batch_size, self.device, self.cpu_image_block)
        blocks = range(0, len(image_ids), step)
        for s in progress_bar(blocks, enabled=self.progress, total=len(blocks), desc=self.name, unit="block"):
            block = image_ids[s:s + step]
            feats = self.encode_images([images[i] for i in block])
            # images with the same number of tokens (all of them, but for AnyRes) share one prefix forward
            groups: dict[int, list[int]] = {}
            for r, f in enumerate(feats):
                groups.setdefault(f.shape[0], []).append(r)
            for members in groups.values():
                b = len(members)
                img = torch.stack([feats[r] for r in members]).to(before.dtype)
                prefix = torch.cat([before.expand(b, -1, -1), img, head_emb.expand(b, -1, -1)], 1)
                cache = DynamicCache()
                lm.model(inputs_embeds=prefix, use_cache=True, **{_cache_kw(lm.model): cache})
                plen = prefix.shape[1]
                rows = [(g, k) for g, r in enumerate(members) for k in by_image[block[r]]]
                for cs in range(0, len(rows), self.batch_size):
                    chunk = rows[cs:cs + self.batch_size]
                    self._run_suffixes(cache, plen, common, [(g, texts[pairs[k][1]], k) for g, k in chunk], out)
        return out.cpu()

    def _run_suffixes(self, cache: Any, plen: int, common: int, rows: Sequence[tuple[int, _Text, int]],
                      out: torch.Tensor) -> None:
        from transformers import DynamicCache

        lm = self.model.language_model
        suffixes = [t.ids[common:] for _, t, _ in rows]
        width = max(len(x) for x in suffixes)
        ids = torch.full((len(rows), width), self.eos_id, dtype=torch.long)
        for r, x in enumerate(suffixes):
            ids[r, :len(x)] = torch.tensor(x)
        idx = to_device(torch.tensor([r for r, _, _ in rows]), self.device)
        rows_cache = DynamicCache()
        for layer_idx, layer in enumerate(cache.layers):
            rows_cache.update(layer.keys.index_select(0, idx), layer.values.index_select(0, idx), layer_idx)
        positions = torch.arange(plen, plen + width, device=self.device).expand(len(rows), -1)
        hidden = lm.model(input_ids=to_device(ids, self.device), position_ids=positions, use_cache=True,
                          **{_cache_kw(lm.model): rows_cache}).last_hidden_state
        # the logits that predict token t of a suffix sit at position t - 1
        where = [(r, p) for r, (_, t, _) in enumerate(rows) for p in range(t.start - common - 1, len(t.ids) - common - 1)]
        # index and target tensors are made on the host and copied without blocking; nothing read back here
        at = to_device(torch.tensor(where, dtype=torch.long).reshape(-1, 2), self.device)
        sel = hidden[at[:, 0], at[:, 1]]
        logits = lm.lm_head(sel)[:, :self.vocab].float()
        targets = to_device(ids[[r for r, _ in where], [p + 1 for _, p in where]], self.device)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None])[:, 0].double()
        pos = 0
        for _, t, k in rows:
            n = len(t.ids) - t.start
            out[k] = torch.exp(logp[pos:pos + n].mean())
            pos += n

    def _prepare(self, templates: Templates | None, texts: Sequence[str]) -> list[_Text]:
        if templates is None:
            raise ValueError("LLaVA is a VQA scorer: it needs question/answer templates")
        return [self._text(*templates.fill(t)) for t in texts]

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None, num_frames: int = 8) -> torch.Tensor:
        """The M x N matrix: each image encoded once, its prefix cache shared by every text."""
        prepared = self._prepare(templates, texts)
        images = [self.as_image(m, num_frames=num_frames, gap=self.frame_gap) for m in media]
        pairs = [(i, j) for i in range(len(images)) for j in range(len(texts))]
        return self._score_index_pairs(images, prepared, pairs).reshape(len(images), len(texts))

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None, num_frames: int = 8) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``; a media object repeated is encoded once."""
        prepared = self._prepare(templates, texts)
        uniq: dict[int, int] = {}
        images: list[PILImage.Image] = []
        index = []
        for m in media:
            if id(m) not in uniq:
                uniq[id(m)] = len(images)
                images.append(self.as_image(m, num_frames=num_frames, gap=self.frame_gap))
            index.append(uniq[id(m)])
        return self._score_index_pairs(images, prepared, [(i, k) for k, i in enumerate(index)])

    # ------------------------------------------------------------------ generation
    @torch.inference_mode()
    def generate_media(self, media: Sequence[Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Answer ``prompts[k]`` about ``media[k]`` in the vicuna_v1 conversation (``... ASSISTANT:``).

        Options: ``max_new_tokens`` (default 128), ``temperature`` (default 0: greedy), ``top_p``,
        ``num_beams`` (default 1), ``num_frames`` (videos, default 8).
        """
        gen = {**generation_kwargs(self.name, prompts, options), "eos_token_id": self.eos_id,
               "pad_token_id": self.eos_id}
        num_frames = int(options.get("num_frames", self.call_options["num_frames"]))
        answers = []
        for k, (m, p) in enumerate(zip(media, prompts)):
            if not isinstance(p, str) or IMAGE_TOKEN in p:
                raise ValueError(f"prompt {k} ({p!r}) must be a string without {IMAGE_TOKEN!r}")
            feats = self.encode_images([self.as_image(m, num_frames=num_frames, gap=self.frame_gap)])
            before, after = self._chunks(PROMPT_BEFORE + IMAGE_TOKEN + "\n" + p + " ASSISTANT:")
            emb = torch.cat([self.model.embed(torch.tensor(before, device=self.device)), feats[0].to(self.dtype),
                             self.model.embed(torch.tensor(after, device=self.device))])[None]
            ids = self.model.language_model.generate(inputs_embeds=emb, attention_mask=torch.ones(
                emb.shape[:2], dtype=torch.long, device=self.device), **gen)
            answers.append(self.tokenizer.decode(ids[0], skip_special_tokens=True).strip())
        return answers


def _cache_kw(model: Any) -> str:
    """The name under which this transformers version's forward takes a KV cache (``cache`` from 5.24 on)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _common_prefix_length(seqs: Sequence[list[int]], limit: int) -> int:
    """Length (at most ``limit``) of the token prefix every sequence shares."""
    n = 0
    while n < limit and all(len(x) > n and x[n] == seqs[0][n] for x in seqs):
        n += 1
    return n
