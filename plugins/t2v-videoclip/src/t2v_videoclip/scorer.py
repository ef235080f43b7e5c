"""Video CLIPScore scorers. Importing this module imports torch.

A call encodes each of its M media items once and each distinct text once (in batches of ``batch_size``),
L2-normalises the embeddings, and takes one matrix product for the M x N scores.
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

from t2v_core.media import Image, Media
from t2v_core.progress import progress_bar
from t2v_core.scorer import Scorer
from t2v_core.templates import Templates

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


class VideoEmbeddingScorer(Scorer):
    """Shared machinery: media and texts encoded once each, one similarity product per call.

    A subclass sets ``context_length`` and implements :meth:`encode_media_batch` (``(B, K, D)``: K embeddings
    per item, whose cosines with a text are averaged; K = 1 for one pooled video embedding),
    :meth:`encode_text_batch` and :meth:`token_lengths`.
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": None}
    default_batch_size = 8
    # fp32 even on GPU: the reference computed these scores in fp32
    default_dtype = torch.float32
    context_length: int = 77
    #: frames the model takes (fixed by its temporal embeddings)
    num_frames: int = 8

    def encode_media_batch(self, frames: list[list[Any]]) -> torch.Tensor:
        """Raw embeddings ``(B, K, D)`` of B items, each a list of ``num_frames`` PIL frames."""
        raise NotImplementedError

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        """Raw embeddings ``(B, D)`` of texts."""
        raise NotImplementedError

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Untruncated token counts, special tokens included."""
        raise NotImplementedError

    def _check_frames(self, num_frames: int | None) -> None:
        if num_frames is not None and num_frames != self.num_frames:
            raise ValueError(f"model {self.name!r} takes exactly {self.num_frames} frames (its temporal "
                             f"embeddings are sized for them), but num_frames={num_frames} was given; leave "
                             "num_frames unset")

    @torch.inference_mode()
    def encode_media(self, media: Sequence[Media]) -> torch.Tensor:
        """L2-normalised float32 embeddings ``(M, K, D)``, decoded and encoded ``batch_size`` items at a time."""
        chunks = []
        starts = range(0, len(media), self.batch_size)
        bar = progress_bar(starts, enabled=self.progress if len(starts) > 1 else False, total=len(starts),
                           desc=f"{self.name} media", unit="batch")
        for s in bar:
            frames = [video_frames(item, self.num_frames) for item in media[s:s + self.batch_size]]
            chunks.append(self.encode_media_batch(frames).float())
        emb = torch.cat(chunks)
        return emb / emb.norm(dim=-1, keepdim=True)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised float32 embeddings ``(N, D)``; each distinct text is encoded once."""
        unique = list(dict.fromkeys(texts))
        long = [t for t, n in zip(unique, self.token_lengths(unique)) if n > self.context_length]
        if long:
            warnings.warn(f"{self.name}: {len(long)} text(s) exceed the text encoder's {self.context_length} "
                          f"tokens and are truncated (first: {long[0][:60]!r})", CaptionTruncationWarning,
                          stacklevel=3)
        emb = torch.cat([self.encode_text_batch(unique[s:s + self.batch_size]).float()
                         for s in range(0, len(unique), self.batch_size)])
        emb = emb / emb.norm(dim=-1, keepdim=True)
        where = {t: k for k, t in enumerate(unique)}
        return emb[torch.tensor([where[t] for t in texts], device=emb.device)]

    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """The M x N matrix: M + N encodes and one product (cosines averaged over the K embeddings)."""
        self._check_frames(num_frames)
        vid = self.encode_media(media)
        txt = self.encode_texts(texts)
        return torch.einsum("mkd,nd->mn", vid, txt).div(vid.shape[1]).float().cpu()

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None = None, num_frames: int | None = None) -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        self._check_frames(num_frames)
        vid = self.encode_media(media)
        txt = self.encode_texts(texts)
        return torch.einsum("kfd,kd->k", vid, txt).div(vid.shape[1]).float().cpu()


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
        pixels = torch.stack([self.preprocess(f) for f in frames]).to(self.device, self.dtype)
        return self.model.encode_video(pixels).unsqueeze(1)

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer(texts, max_length=self.context_length, truncation=True, padding=True,
                             return_tensors="pt")
        return self.model.encode_text(enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device))

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]]
