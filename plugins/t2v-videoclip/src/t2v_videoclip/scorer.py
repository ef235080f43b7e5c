"""Video CLIPScore scorers. Importing this module imports torch.

A call encodes each of its M media items once and each distinct text once (in batches of ``batch_size``;
on the CPU, media one at a time: :data:`CPU_MEDIA_BATCH`), L2-normalises the embeddings, and takes one matrix
product for the M x N scores.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from t2v_core.device import per_forward, to_device
from t2v_core.media import Image, Media
from t2v_core.progress import progress_bar
from t2v_core.scorer import Scorer
from t2v_core.templates import Templates

#: videos per vision-tower forward on the CPU (``batch_size`` elsewhere). One video is already thousands of
#: tokens (8 frames x 257 for LanguageBind), so batching more only adds memory traffic: in
#: benchmarks/bench_videoclip.py a batch of 8 videos ran ~15% slower per video than 8 batches of 1
#: (None: ``batch_size`` on the CPU too; the tests set it, to keep the batched path a GPU takes under test)
CPU_MEDIA_BATCH: int | None = 1


def media_step(device: torch.device, batch_size: int) -> int:
    """Media items per vision-tower forward: at most :data:`CPU_MEDIA_BATCH` on the CPU, else ``batch_size``."""
    return per_forward(batch_size, device, CPU_MEDIA_BATCH)


#: OpenAI CLIP's pixel statistics (LanguageBind's processor)
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class CaptionTruncationWarning(UserWarning):
    """A text was longer than the text encoder's context and was cut (the reference cuts silently)."""


def linspace_indices(total: int, num_frames: int) -> list[int]:
    """``np.linspace(0, total - 1, num_frames)`` cast to int (truncated), the reference's frame choice."""
    return [int(i) for i in np.linspace(0, total - 1, num_frames).astype(int)]


def video_frames(item: Media, num_frames: int) -> list[Any]:
    """The ``num_frames`` RGB PIL frames standing for one media item.

    A video gives the frames at :func:`linspace_indices` (repeats when it is shorter than ``num_frames``);
    an image is a still video: the image repeated ``num_frames`` times (these models need exactly
    ``num_frames`` frames, their temporal embeddings are sized for it).
    """
    if isinstance(item, Image):
        return [item.image] * num_frames
    return item.frames(linspace_indices(item.info.num_frames, num_frames))


def hub_file(repo_or_path: str, filenames: Sequence[str], *, revision: str | None = None,
             cache_dir: str | None = None) -> Path:
    """The first of ``filenames`` found in a local folder or a Hugging Face repo (downloaded or cached)."""
    if os.path.isdir(repo_or_path):
        for name in filenames:
            if (Path(repo_or_path) / name).is_file():
                return Path(repo_or_path) / name
        raise FileNotFoundError(f"folder {repo_or_path!r} holds none of {list(filenames)}; pass path='<folder>' "
                                "holding the checkpoint as its hub repo lays it out")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    last: Exception | None = None
    for name in filenames:
        try:
            return Path(hf_hub_download(repo_or_path, name, revision=revision, cache_dir=cache_dir))
        except (EntryNotFoundError, LocalEntryNotFoundError) as e:
            last = e
    raise FileNotFoundError(
        f"none of {list(filenames)} found for {repo_or_path!r} (offline, or not in the repo): {last}. Run "
        f"`t2v download` with network access, or pass path='<folder>' holding the checkpoint") from last


def snapshot_revision(path: Path) -> str:
    """The snapshot commit of a cached hub file, or the file's folder."""
    parts = path.resolve().parts if "snapshots" not in path.parts else path.parts
    if "snapshots" in parts:
        return parts[parts.index("snapshots") + 1]
    return str(path.parent.resolve())


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors: safetensors, or a torch pickle read with ``weights_only=True``."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("model", "module", "state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return dict(state)


def _accepted(spec: Any, *extra: str) -> dict[str, Any]:
    """The options a video CLIP / ITM scorer reads: its spec's (repo ids, sizes), where to load from, and ``extra``."""
    return {"alpha": None, "path": None, "revision": None, "cache_dir": None, **{k: None for k in extra},
            **spec.options}


class VideoEmbeddingScorer(Scorer):
    """Shared machinery: media and texts encoded once each, one similarity product per call.

    A subclass sets ``context_length`` and ``num_frames`` and implements :meth:`media_frames`,
    :meth:`encode_media_batch` (``(B, K, D)``: K embeddings per item, whose cosines with a text are averaged;
    K = 1 for one pooled video embedding), :meth:`encode_text_batch` and :meth:`token_lengths`.
    """

    @classmethod
    def accepted_options(cls, spec: Any) -> dict[str, Any]:
        """Constructor options: the spec's, plus ``path`` (a local checkpoint), ``revision`` and ``cache_dir``."""
        return _accepted(spec)

    call_options: ClassVar[dict[str, Any]] = {"num_frames": None}
    default_batch_size = 8
    # fp32 even on GPU: the reference computed these scores in fp32
    default_dtype = torch.float32
    context_length: int = 77
    #: frames the model takes for a video (fixed by the reference)
    num_frames: int = 8

    def media_frames(self, item: Media) -> list[Any]:
        """The RGB PIL frames standing for one media item."""
        return video_frames(item, self.num_frames)

    def encode_media_batch(self, frames: list[list[Any]]) -> torch.Tensor:
        """Raw embeddings ``(B, K, D)`` of B items with the same number of frames."""
        raise NotImplementedError

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        """Raw embeddings ``(B, D)`` of texts."""
        raise NotImplementedError

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Untruncated token counts, special tokens included."""
        raise NotImplementedError

    def _check_frames(self, num_frames: int | None) -> None:
        check_frames(self.name, self.num_frames, num_frames)

    @torch.inference_mode()
    def encode_media(self, media: Sequence[Media]) -> torch.Tensor:
        """``(M, D)``: per item, the mean of its K L2-normalised embeddings (not renormalised, so that its dot
        product with a unit text embedding is the mean of the K cosines). Decoded and encoded ``batch_size`` at a
        time (on the CPU: :data:`CPU_MEDIA_BATCH`)."""
        out: list[torch.Tensor | None] = [None] * len(media)
        step = media_step(self.device, self.batch_size)
        starts = range(0, len(media), step)
        bar = progress_bar(starts, enabled=self.progress if len(starts) > 1 else False, total=len(starts),
                           desc=f"{self.name} media", unit="batch")
        for s in bar:
            groups: dict[int, list[tuple[int, list[Any]]]] = {}
            for i in range(s, min(s + step, len(media))):
                frames = self.media_frames(media[i])
                groups.setdefault(len(frames), []).append((i, frames))
            for items in groups.values():
                emb = self.encode_media_batch([f for _, f in items]).float()
                emb = (emb / emb.norm(dim=-1, keepdim=True)).mean(1)
                for (i, _), e in zip(items, emb):
                    out[i] = e
        return torch.stack([e for e in out if e is not None])

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised float32 embeddings ``(N, D)``; each distinct text is encoded once."""
        unique = list(dict.fromkeys(texts))
        warn_long(self.name, unique, self.token_lengths(unique), self.context_length)
        emb = torch.cat([self.encode_text_batch(unique[s:s + self.batch_size]).float()
                         for s in range(0, len(unique), self.batch_size)])
        emb = emb / emb.norm(dim=-1, keepdim=True)
        where = {t: k for k, t in enumerate(unique)}
        return emb[torch.tensor([where[t] for t in texts], device=emb.device)]

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """The M x N matrix: M + N encodes and one matrix product."""
        self._check_frames(num_frames)
        return (self.encode_media(media) @ self.encode_texts(texts).T).float().cpu()

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        self._check_frames(num_frames)
        return (self.encode_media(media) * self.encode_texts(texts)).sum(-1).float().cpu()


def check_frames(name: str, expected: int, given: int | None) -> None:
    """Refuse a ``num_frames`` other than the model's (the reference refuses it too)."""
    if given is not None and given != expected:
        raise ValueError(f"model {name!r} takes exactly {expected} frames per video (as the reference), but "
                         f"num_frames={given} was given; leave num_frames unset")


def warn_long(name: str, texts: Sequence[str], lengths: Sequence[int], limit: int) -> None:
    """Warn once per call when texts exceed the text encoder's context (they are cut, as the reference does)."""
    long = [t for t, n in zip(texts, lengths) if n > limit]
    if long:
        warnings.warn(f"{name}: {len(long)} text(s) exceed the text encoder's {limit} tokens and are truncated "
                      f"(first: {long[0][:60]!r})", CaptionTruncationWarning, stacklevel=4)


class LanguageBindVideoScorer(VideoEmbeddingScorer):
    """CLIPScore with LanguageBind Video: ``cos(video_embedding, text_embedding)``.

    Options: ``repo_id`` (filled in from the model name), ``path`` (a local folder with ``config.json``,
    ``pytorch_model.bin`` or ``model.safetensors`` and the tokenizer files, instead of the hub),
    ``revision``, ``cache_dir``.
    """

    def load(self) -> None:
        """Read the config, build our model, load the checkpoint (every key accounted for), the tokenizer."""
        from transformers import CLIPTokenizer

        from .languagebind import LanguageBindVideoModel

        source = str(self.options.get("path") or self.options["repo_id"])
        kw = {"revision": self.options.get("revision"), "cache_dir": self.options.get("cache_dir")}
        config_file = hub_file(source, ["config.json"], **kw)
        config = json.loads(config_file.read_text())
        weights = hub_file(source, ["pytorch_model.bin", "model.safetensors"], **kw)
        model = LanguageBindVideoModel(config)
        #: checkpoint keys not used for scoring, with the reason (every other key is loaded)
        self.unused_keys = model.load_checkpoint(read_state_dict(weights))
        self.model = model.eval().to(device=self.device, dtype=self.dtype)
        self.num_frames = model.num_frames
        self.image_size = model.image_size
        for name in ("vocab.json", "merges.txt"):
            hub_file(source, [name], **kw)
        # the repos' tokenizer_config names the reference's own subclass of CLIPTokenizer; it adds nothing
        self.tokenizer = CLIPTokenizer.from_pretrained(str(config_file.parent))
        self.context_length = int(config["text_config"].get("max_position_embeddings", 77))
        self.weights_revision = snapshot_revision(weights)
        mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1, 1)
        std = torch.tensor(OPENAI_STD).view(3, 1, 1, 1)
        self._stats = (mean, std)

    def preprocess(self, frames: list[Any]) -> torch.Tensor:
        """PIL frames -> ``(T, 3, S, S)``: /255, OpenAI CLIP mean/std, short side to S (bilinear), centre crop
        S, where S = 224 (the reference's processor hard-codes it)."""
        from .languagebind import center_crop, short_side_scale

        video = torch.from_numpy(np.stack([np.asarray(f.convert("RGB")) for f in frames]))  # T H W C uint8
        video = video.permute(3, 0, 1, 2).float() / 255.0
        mean, std = self._stats
        video = (video - mean) / std
        video = center_crop(short_side_scale(video, 224), 224)
        return video.permute(1, 0, 2, 3).contiguous()

    def encode_media_batch(self, frames: list[list[Any]]) -> torch.Tensor:
        pixels = to_device(torch.stack([self.preprocess(f) for f in frames]), self.device, self.dtype)
        return self.model.encode_video(pixels).unsqueeze(1)  # one pooled embedding per video

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer(texts, max_length=self.context_length, truncation=True, padding=True,
                             return_tensors="pt")
        return self.model.encode_text(to_device(enc["input_ids"], self.device), to_device(enc["attention_mask"], self.device))

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]]


#: ImageNet pixel statistics (UMT's and InternVideo2's transforms)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class UMTLoader:
    """Loading and preprocessing shared by the UMT CLIP and ITM scorers (mixed into a :class:`Scorer`).

    Options (filled in from the model name): ``repo_id`` / ``checkpoint`` (the video-text model),
    ``vision_repo_id`` / ``vision_checkpoint`` (the vision pre-training checkpoint) and ``text_repo_id`` (the
    BERT repo: tokenizer, and text weights), ``frames`` (4), ``max_text_tokens`` (32); ``revision``,
    ``cache_dir``. The two fallback checkpoints are read only for weights the main one lacks, in the
    reference's order of precedence (main over vision pre-training / BERT).
    """

    options: dict[str, Any]
    name: str
    device: Any
    dtype: Any

    def _account_keys(self, family: str, filename: str, state: dict[str, Any], own: dict[str, Any],
                      unused_reason: Any) -> None:
        """Set ``key_sources`` (where each loaded weight came from) and ``unused_keys`` (each checkpoint key
        the model has no place for, with ``unused_reason``'s reason); a key without a reason is an error."""
        self.key_sources: dict[str, str] = {k: "main" for k in own if k in state}
        self.unused_keys: dict[str, str] = {}
        for k in state:
            if k not in own:
                why = unused_reason(k)
                if why is None:
                    raise ValueError(f"{family} checkpoint {filename}: key {k!r} is neither a weight of the model "
                                     "nor a known training-only key; this checkpoint is not the published layout")
                self.unused_keys[k] = why

    def load_umt(self) -> None:
        """Build the model from the main checkpoint's shapes and load it, every key accounted for."""
        from transformers import BertTokenizer

        from .umt import UMTModel, normalise_keys, unused_reason

        o = self.options
        kw = {"revision": o.get("revision"), "cache_dir": o.get("cache_dir")}
        main = hub_file(str(o.get("path") or o["repo_id"]), [o["checkpoint"]], **kw)
        state = normalise_keys(read_state_dict(main))
        self.weights_revision = snapshot_revision(main)
        model = UMTModel(state)
        own = model.state_dict()
        self._account_keys("UMT", main.name, state, own, unused_reason)
        missing = [k for k in own if k not in state]
        if any(k.startswith("vision_encoder.") for k in missing):
            pre = read_state_dict(hub_file(str(o["vision_repo_id"]), [o["vision_checkpoint"]], **kw))
            for k in [k for k in missing if k.startswith("vision_encoder.")]:
                if k[len("vision_encoder."):] in pre:
                    state[k] = pre[k[len("vision_encoder."):]]
                    self.key_sources[k] = "vision pre-training"
        if any(k.startswith("text_encoder.") and k not in state for k in missing):
            bert = read_state_dict(hub_file(str(o["text_repo_id"]), ["pytorch_model.bin", "model.safetensors"], **kw))
            bert = {(k[len("bert."):] if k.startswith("bert.") else k): v for k, v in bert.items()}
            for k in [k for k in missing if k.startswith("text_encoder.") and k not in state]:
                if k[len("text_encoder."):] in bert:
                    state[k] = bert[k[len("text_encoder."):]]
                    self.key_sources[k] = "text encoder repo"
        still = [k for k in own if k not in state]
        if still:
            raise ValueError(f"UMT checkpoint {main.name} lacks {still[:6]} (also not in the vision pre-training "
                             "or BERT checkpoints)")
        bad = [k for k in own if own[k].shape != state[k].shape]
        if bad:
            raise ValueError(f"UMT checkpoint: wrong shapes for {bad[:5]}")
        model.load_state_dict({k: state[k].float() for k in own}, strict=True)
        self.model = model.eval().to(device=self.device, dtype=self.dtype)
        self.tokenizer = BertTokenizer.from_pretrained(str(o["text_repo_id"]), **{k: v for k, v in kw.items() if v})
        self.num_frames = int(o.get("frames", 4))
        self.context_length = int(o.get("max_text_tokens", 32))

    def media_frames(self, item: Media) -> list[Any]:
        """A video's ``min(frames, length)`` frames at :func:`linspace_indices`; an image is a one-frame video
        (the position table covers any number of frames)."""
        if isinstance(item, Image):
            return [item.image]
        n = item.info.num_frames
        return item.frames(linspace_indices(n, min(self.num_frames, n)))

    def preprocess(self, frames: list[Any]) -> torch.Tensor:
        """PIL frames -> ``(T, 3, 224, 224)``: bicubic resize of the uint8 frames to 224 x 224 (antialiased,
        torchvision), /255, ImageNet mean/std."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms.functional import resize

        video = torch.from_numpy(np.stack([np.asarray(f.convert("RGB")) for f in frames])).permute(0, 3, 1, 2)
        video = resize(video, [224, 224], interpolation=InterpolationMode.BICUBIC, antialias=True)
        video = video.float() / 255.0
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (video - mean) / std

    def tokenize(self, texts: list[str]) -> Any:
        return self.tokenizer(texts, max_length=self.context_length, truncation=True, padding=True,
                              return_tensors="pt")

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]]


class UMTCLIPScorer(UMTLoader, VideoEmbeddingScorer):
    """UMT CLIPScore: the mean over the sampled frames of ``cos(vision_proj(frame), text_proj(text CLS))``."""

    def load(self) -> None:
        self.load_umt()

    def encode_media_batch(self, frames: list[list[Any]]) -> torch.Tensor:
        pixels = to_device(torch.stack([self.preprocess(f) for f in frames]), self.device, self.dtype)
        return self.model.encode_video(pixels)[1]

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenize(texts)
        feats = self.model.text_encoder.encode_text(to_device(enc["input_ids"], self.device),
                                                    to_device(enc["attention_mask"], self.device))
        return self.model.text_proj(feats[:, 0])


ITM_OUTPUTS = ("logit", "probability")


class UMTITMScorer(UMTLoader, Scorer):
    """UMT ITMScore: the matching head on the fused text CLS token.

    ``itm_output="logit"`` (default, as the reference returned it): the raw logit of the "match" class;
    ``"probability"``: its softmax probability. Each video and each distinct text is encoded once per call;
    the fusion layers run on batches of ``batch_size`` (video, text) pairs.
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": None}
    default_batch_size = 16
    default_dtype = torch.float32

    @classmethod
    def accepted_options(cls, spec: Any) -> dict[str, Any]:
        """Constructor options: the spec's, ``path`` / ``revision`` / ``cache_dir``, and ``itm_output``."""
        return _accepted(spec, "itm_output")

    def load(self) -> None:
        out = self.options.get("itm_output", "logit")
        if out not in ITM_OUTPUTS:
            raise ValueError(f"itm_output must be one of {ITM_OUTPUTS}, but got {out!r}: 'logit' is the raw "
                             "match logit (the reference's number), 'probability' its softmax")
        self.itm_output = out
        self.load_umt()

    def _check_frames(self, num_frames: int | None) -> None:
        check_frames(self.name, self.num_frames, num_frames)

    @torch.inference_mode()
    def _video_tokens(self, media: Sequence[Media]) -> list[torch.Tensor]:
        """Each item's vision tokens ``(T*P, D)``, encoded in batches of items with the same frame count."""
        out: list[torch.Tensor | None] = [None] * len(media)
        step = media_step(self.device, self.batch_size)
        for s in range(0, len(media), step):
            groups: dict[int, list[tuple[int, torch.Tensor]]] = {}
            for i in range(s, min(s + step, len(media))):
                pixels = self.preprocess(self.media_frames(media[i]))
                groups.setdefault(pixels.shape[0], []).append((i, pixels))
            for items in groups.values():
                batch = to_device(torch.stack([p for _, p in items]), self.device, self.dtype)
                for (i, _), tok in zip(items, self.model.encode_video(batch)[0]):
                    out[i] = tok
        return [t for t in out if t is not None]

    @torch.inference_mode()
    def _pairs(self, media: Sequence[Media], texts: Sequence[str], pairs: list[tuple[int, int]]) -> torch.Tensor:
        tokens = self._video_tokens(media)
        unique = list(dict.fromkeys(texts))
        warn_long(self.name, unique, self.token_lengths(unique), self.context_length)
        enc = self.tokenize(unique)
        ids, mask = to_device(enc["input_ids"], self.device), to_device(enc["attention_mask"], self.device)
        feats = torch.cat([self.model.text_encoder.encode_text(ids[s:s + self.batch_size], mask[s:s + self.batch_size])
                           for s in range(0, len(unique), self.batch_size)])
        where = [unique.index(t) for t in texts]
        # on the device until the call ends: no batch waits for the GPU, one copy to the host per call
        out = torch.empty(len(pairs), dtype=torch.float32, device=self.device)
        starts = range(0, len(pairs), self.batch_size)
        for s in progress_bar(starts, enabled=self.progress if len(starts) > 1 else False, total=len(starts),
                              desc=f"{self.name} pairs", unit="batch"):
            chunk = pairs[s:s + self.batch_size]
            mem = [tokens[i] for i, _ in chunk]
            longest = max(m.shape[0] for m in mem)
            memory = torch.zeros(len(chunk), longest, mem[0].shape[1], device=self.device, dtype=self.dtype)
            memory_mask = torch.zeros(len(chunk), longest, device=self.device, dtype=torch.long)
            for k, m in enumerate(mem):
                memory[k, : m.shape[0]] = m
                memory_mask[k, : m.shape[0]] = 1
            rows = to_device(torch.tensor([where[j] for _, j in chunk]), self.device)
            fused = self.model.text_encoder.fuse(feats[rows], mask[rows], memory, memory_mask)
            logits = self.model.itm_head(fused[:, 0]).float()
            val = logits.softmax(-1)[:, 1] if self.itm_output == "probability" else logits[:, 1]
            out[s:s + len(chunk)] = val
        return out.cpu()

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """The M x N matrix: M video encodes, N text encodes, M x N fused pairs in batches."""
        self._check_frames(num_frames)
        pairs = [(i, j) for i in range(len(media)) for j in range(len(texts))]
        return self._pairs(media, texts, pairs).view(len(media), len(texts))

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        self._check_frames(num_frames)
        return self._pairs(media, texts, [(k, k) for k in range(len(texts))])


class InternVideo2Loader(UMTLoader):
    """Loading for the InternVideo2 stage-2 scorers: one checkpoint, every key loaded or listed as unused.

    Options (filled in from the model name): ``repo_id`` / ``checkpoint``, ``text_repo_id`` (the BERT
    tokenizer), ``max_text_tokens`` (40), ``heads`` / ``pool_heads`` (16: the 1B ViT's); ``path``,
    ``revision``, ``cache_dir``.
    """

    def load_umt(self) -> None:
        from transformers import BertTokenizer

        from .internvideo2 import InternVideo2Model, unused_reason
        from .umt import normalise_keys

        o = self.options
        kw = {"revision": o.get("revision"), "cache_dir": o.get("cache_dir")}
        main = hub_file(str(o.get("path") or o["repo_id"]), [o["checkpoint"]], **kw)
        state = normalise_keys(read_state_dict(main))
        self.weights_revision = snapshot_revision(main)
        model = InternVideo2Model(state, int(o.get("heads", 16)), int(o.get("pool_heads", 16)))
        own = model.state_dict()
        self._account_keys("InternVideo2", main.name, state, own, unused_reason)
        missing = [k for k in own if k not in state]
        if missing:
            raise ValueError(f"InternVideo2 checkpoint {main.name} lacks {missing[:6]}")
        bad = [k for k in own if own[k].shape != state[k].shape]
        if bad:
            raise ValueError(f"InternVideo2 checkpoint: wrong shapes for {bad[:5]}")
        model.load_state_dict({k: state[k].float() for k in own}, strict=True)
        self.model = model.eval().to(device=self.device, dtype=self.dtype)
        self.tokenizer = BertTokenizer.from_pretrained(str(o["text_repo_id"]), **{k: v for k, v in kw.items() if v})
        self.num_frames = model.num_frames
        self.context_length = int(o.get("max_text_tokens", 40))

    def media_frames(self, item: Media) -> list[Any]:
        """A video's ``frames`` frames at :func:`linspace_indices` (a video shorter than that repeats frames;
        the reference fails on it); an image is a one-frame video (the checkpoint has an image position table)."""
        if isinstance(item, Image):
            return [item.image]
        return item.frames(linspace_indices(item.info.num_frames, self.num_frames))


class InternVideo2CLIPScorer(InternVideo2Loader, UMTCLIPScorer):
    """InternVideo2 CLIPScore: ``cos(vision_proj(attention-pooled video), text_proj(text CLS))``."""


class InternVideo2ITMScorer(InternVideo2Loader, UMTITMScorer):
    """InternVideo2 ITMScore: the match logit (or, with ``itm_output="probability"``, its softmax) of the
    matching head on the fused text CLS token."""
