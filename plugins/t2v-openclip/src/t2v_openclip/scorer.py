"""CLIPScore scorers: OpenCLIP models, HPSv2 / HPSv2.1 and PickScore. Importing this module imports torch.

All three compute the score the same way, which is what makes a call cheap: each of the M media items and
each of the N texts is encoded once (in batches of ``batch_size``), the embeddings are L2-normalised, and
the M x N matrix is one matrix product::

    score(image, text) = scale * <image_emb / |image_emb|, text_emb / |text_emb|>

``scale`` is 1 (a cosine similarity in [-1, 1]) for OpenCLIP models and HPSv2, and ``logit_scale.exp()``
(about 100) for PickScore, as its model card defines it.

Videos are sampled by the core (``num_frames`` frames, uniformly, or ``fps``). With ``video_mode="mean"``
(the default) the normalised frame embeddings are averaged, so a video's score is the mean of its frames'
scores. ``video_mode="concat"`` reproduces t2v_metrics: the frames are pasted side by side (10 px apart)
into one image, which is encoded once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from t2v_core.device import to_device
from t2v_core.media import Image, Media, concat_frames
from t2v_core.progress import progress_bar
from t2v_core.scorer import Scorer
from t2v_core.templates import Templates

from .plugin import HPS_REPO, PICKSCORE_PROCESSOR, PICKSCORE_REPO
from .truncation import warn_truncation

VIDEO_MODES = ("mean", "concat")
#: pixels between frames in ``video_mode="concat"`` (t2v_metrics' ``dist_images``)
CONCAT_GAP = 10
HPS_ARCHITECTURE = "ViT-H-14"


def _hub_revision(repo_id: str | None, filenames: Sequence[str], cache_dir: str | None = None) -> str | None:
    """The snapshot commit of a cached Hugging Face file (for provenance); None if it is not in the cache."""
    if not repo_id:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    for name in filenames:
        path = try_to_load_from_cache(repo_id, name, cache_dir=cache_dir)
        if isinstance(path, str):
            m = re.search(r"snapshots[/\\]([0-9a-f]{6,})[/\\]", path)
            return m.group(1) if m else path
    return None


def _hf_token_lengths(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Untruncated token counts (special tokens included) from a Hugging Face tokenizer."""
    enc = tokenizer(list(texts), truncation=False, add_special_tokens=True, verbose=False)
    return [len(ids) for ids in enc["input_ids"]]


class EmbeddingScorer(Scorer):
    """Shared machinery of the embedding scorers: batched encodes, one matrix product, video pooling.

    Subclasses implement :meth:`load` (setting ``context_length`` and ``scale``), :meth:`encode_image_batch`,
    :meth:`encode_text_batch` and :meth:`token_lengths`.
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 8, "fps": None, "video_mode": "mean"}
    default_batch_size = 32

    #: the text encoder's context in tokens (set by load)
    context_length: int = 77
    #: the factor in front of the cosine similarity
    scale: float = 1.0

    # fp32 even on GPU: the reference computes these scores in fp32, and bf16 embeddings move cosine
    # similarities by ~1e-2, the size of the gaps between good and bad captions.
    default_dtype = torch.float32

    # ------------------------------------------------------------------ to implement
    def encode_image_batch(self, images: list[Any]) -> torch.Tensor:
        """Raw (unnormalised) embeddings of a batch of RGB PIL images, shape ``(B, D)``."""
        raise NotImplementedError

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        """Raw (unnormalised) embeddings of a batch of texts, shape ``(B, D)``."""
        raise NotImplementedError

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """How many tokens each text needs before truncation (special tokens included)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ encoding
    @torch.inference_mode()
    def encode_images(self, images: Sequence[Any]) -> torch.Tensor:
        """L2-normalised float32 embeddings of PIL images, encoded in batches of ``batch_size``."""
        chunks = []
        starts = range(0, len(images), self.batch_size)
        bar = progress_bar(starts, enabled=self.progress if len(starts) > 1 else False, total=len(starts),
                           desc=f"{self.name} images", unit="batch")
        for s in bar:
            chunks.append(self.encode_image_batch(list(images[s:s + self.batch_size])).float())
        emb = torch.cat(chunks)
        return emb / emb.norm(dim=-1, keepdim=True)

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised float32 embeddings of texts (each distinct text encoded once, in batches).

        Warns once (:class:`~t2v_openclip.CaptionTruncationWarning`) if any text is longer than the text
        encoder's context and gets truncated.
        """
        unique = list(dict.fromkeys(texts))
        warn_truncation(self.name, self.token_lengths(unique), self.context_length, unique)
        chunks = [self.encode_text_batch(unique[s:s + self.batch_size]).float()
                  for s in range(0, len(unique), self.batch_size)]
        emb = torch.cat(chunks)
        emb = emb / emb.norm(dim=-1, keepdim=True)
        where = {t: k for k, t in enumerate(unique)}
        return emb[torch.tensor([where[t] for t in texts], device=emb.device)]

    def media_frames(self, item: Media, num_frames: int, fps: float | None, video_mode: str) -> list[Any]:
        """The PIL images that stand for one media item: the image, a video's frames, or their side-by-side."""
        if isinstance(item, Image):
            return [item.image]
        clip = item.sample(fps=fps) if fps is not None else item.sample(num_frames=num_frames)
        if video_mode == "concat":
            return [concat_frames(clip.frames, gap=CONCAT_GAP)]
        return list(clip.frames)

    def encode_media(self, media: Sequence[Media], num_frames: int = 8, fps: float | None = None,
                     video_mode: str = "mean") -> torch.Tensor:
        """One embedding per media item: an image's normalised embedding, or the mean of a video's
        normalised frame embeddings (not renormalised, so a video scores the mean of its frames' scores).

        Media are decoded a group at a time (about ``batch_size`` frames), so memory does not grow with M.
        """
        if video_mode not in VIDEO_MODES:
            raise ValueError(f"video_mode must be one of {VIDEO_MODES}, but got {video_mode!r}: 'mean' averages "
                             "the frames' embeddings, 'concat' scores the frames side by side as one image")
        out: list[torch.Tensor] = []
        frames: list[Any] = []
        counts: list[int] = []

        def flush() -> None:
            emb = self.encode_images(frames)
            for part in torch.split(emb, counts):
                out.append(part.mean(dim=0))
            frames.clear()
            counts.clear()

        for item in media:
            pics = self.media_frames(item, num_frames, fps, video_mode)
            frames.extend(pics)
            counts.append(len(pics))
            if len(frames) >= self.batch_size:
                flush()
        if frames:
            flush()
        return torch.stack(out)

    # ------------------------------------------------------------------ scoring
    # the core passes exactly the resolved ``call_options``, so the explicit keywords replace ``**options``
    def score(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
              templates: Templates | None = None, num_frames: int = 8, fps: float | None = None,
              video_mode: str = "mean") -> torch.Tensor:
        """The M x N score matrix: M + N encodes and one matrix product."""
        img = self.encode_media(media, num_frames=num_frames, fps=fps, video_mode=video_mode)
        txt = self.encode_texts(texts)
        return (self.scale * (img @ txt.T)).float().cpu()

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *,  # type: ignore[override]
                    templates: Templates | None = None, num_frames: int = 8, fps: float | None = None,
                    video_mode: str = "mean") -> torch.Tensor:
        """Scores of the aligned pairs ``(media[k], texts[k])``."""
        img = self.encode_media(media, num_frames=num_frames, fps=fps, video_mode=video_mode)
        txt = self.encode_texts(texts)
        return (self.scale * (img * txt).sum(dim=-1)).float().cpu()

    @property
    def provenance(self) -> dict[str, Any]:
        """The base provenance plus the score's scale and the open_clip version."""
        out = super().provenance
        out["score_scale"] = self.scale
        out["context_length"] = self.context_length
        try:
            import open_clip

            out["versions"]["open_clip_torch"] = open_clip.__version__
        except ImportError:  # pragma: no cover - a dependency
            pass
        return out


class OpenCLIPScorer(EmbeddingScorer):
    """CLIPScore with an OpenCLIP pretrained model, named ``"<pretrained>:<architecture>"``.

    Options (constructor keywords): ``architecture`` and ``pretrained`` (filled in from the model name),
    ``quick_gelu`` (None: follow the pretrained tag, which is how the weights were trained; open_clip 3 only
    warns on a mismatch), ``cache_dir`` (Hugging Face cache folder; default: the HF default).
    """

    init_options: ClassVar[dict[str, Any] | None] = {"architecture": None, "pretrained": None, "quick_gelu": None,
                                                     "cache_dir": None}

    def _names(self) -> tuple[str, str]:
        arch = self.options.get("architecture")
        tag = self.options.get("pretrained")
        if not arch or not tag:
            tag, _, arch = self.name.partition(":")
        return str(arch), str(tag)

    def build(self) -> tuple[Any, Any, Any]:
        """Build ``(model, preprocess, tokenizer)`` with open_clip's own loaders."""
        import open_clip

        arch, tag = self._names()
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        if not cfg:
            known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
            raise ValueError(
                f"open_clip {open_clip.__version__} has no pretrained weights {tag!r} for architecture {arch!r} "
                f"(its tags for {arch!r}: {known}). This plugin's catalogue was built for open_clip_torch 3.3; "
                "install that version or pick a listed model (`t2v models`)."
            )
        quick_gelu = self.options.get("quick_gelu")
        if quick_gelu is None:
            model_cfg = open_clip.get_model_config(arch) or {}
            quick_gelu = bool(cfg.get("quick_gelu", False)) and not model_cfg.get("quick_gelu", False)
        cache_dir = self.options.get("cache_dir")
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=tag, force_quick_gelu=bool(quick_gelu), cache_dir=cache_dir, device="cpu")
        tokenizer = open_clip.get_tokenizer(arch, cache_dir=cache_dir)
        hub = cfg.get("hf_hub", "")
        repo, filename = os.path.split(hub)  # 'org/repo/' or 'org/repo/file.bin', as open_clip splits it
        self.weights_revision = _hub_revision(
            repo, [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"],
            cache_dir)
        return model, preprocess, tokenizer

    def load(self) -> None:
        """Build the model on ``self.device`` in ``self.dtype`` and read its text context length."""
        model, self.preprocess, self.tokenizer = self.build()
        self.model = model.eval().to(device=self.device, dtype=self.dtype)
        context = getattr(self.tokenizer, "context_length", None) or getattr(self.model, "context_length", None)
        self.context_length = int(context or 77)
        self.scale = 1.0

    def encode_image_batch(self, images: list[Any]) -> torch.Tensor:
        pixels = to_device(torch.stack([self.preprocess(im) for im in images]), self.device, self.dtype)
        return self.model.encode_image(pixels)  # type: ignore[no-any-return]

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        tokens = to_device(self.tokenizer(texts), self.device)
        return self.model.encode_text(tokens)  # type: ignore[no-any-return]

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        tok = self.tokenizer
        if hasattr(tok, "encode") and hasattr(tok, "sot_token_id"):  # open_clip's own BPE: <sot> text <eot>
            return [len(tok.encode(t)) + 2 for t in texts]
        inner = getattr(tok, "tokenizer", None)  # HFTokenizer / SigLipTokenizer wrap a transformers tokenizer
        if inner is not None:
            clean = getattr(tok, "clean_fn", None)
            if clean is None:  # SigLipTokenizer cleans with canonicalize(basic_clean(.)) inline
                from open_clip.tokenizer import basic_clean, canonicalize_text

                def clean(t: str) -> str:
                    return canonicalize_text(basic_clean(t))
            return _hf_token_lengths(inner, [clean(t) for t in texts])
        return [0 for _ in texts]  # unknown tokenizer: cannot tell, so do not claim truncation


class HPSv2Scorer(OpenCLIPScorer):
    """HPSv2 / HPSv2.1: an OpenCLIP ViT-H-14 fine-tuned on human preferences; score = cosine similarity.

    As HPSv2's ``img_score.score``: the HPS checkpoint (``xswu/HPSv2``, ``HPS_v2_compressed.pt`` or
    ``HPS_v2.1_compressed.pt``) is loaded into a ViT-H-14 (strictly: it holds the whole model); images are
    resized so that their longest side fits the input size and zero-padded to a square (HPSv2's validation
    transform); the score is the dot product of the normalised embeddings, without ``logit_scale``.
    Options: ``checkpoint_file`` (set per model name), ``checkpoint`` (a local checkpoint path instead of the
    hub file), ``cache_dir``.
    """

    init_options: ClassVar[dict[str, Any] | None] = {"checkpoint_file": "HPS_v2_compressed.pt", "checkpoint": None,
                                                     "cache_dir": None}

    def build(self) -> tuple[Any, Any, Any]:
        import open_clip
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

        path = self.options.get("checkpoint")
        cache_dir = self.options.get("cache_dir")
        if path is None:
            from huggingface_hub import hf_hub_download

            filename = self.options.get("checkpoint_file", "HPS_v2_compressed.pt")
            path = hf_hub_download(HPS_REPO, filename, cache_dir=cache_dir)
            self.weights_revision = _hub_revision(HPS_REPO, [filename], cache_dir)
        else:
            if not Path(path).is_file():
                raise FileNotFoundError(f"HPS checkpoint {path!r} does not exist; pass the path of "
                                        "HPS_v2_compressed.pt / HPS_v2.1_compressed.pt, or omit `checkpoint`")
            self.weights_revision = str(path)
        model = open_clip.create_model(HPS_ARCHITECTURE, pretrained=None, device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        # checkpoints saved from DistributedDataParallel prefix every key with 'module.'
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
        preprocess = open_clip.image_transform(
            model.visual.image_size, is_train=False, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD,
            resize_mode="longest", fill_color=0)
        tokenizer = open_clip.get_tokenizer(HPS_ARCHITECTURE, cache_dir=cache_dir)
        return model, preprocess, tokenizer


class PickScoreScorer(EmbeddingScorer):
    """PickScore v1: a CLIP ViT-H-14 (transformers ``CLIPModel``) fine-tuned on Pick-a-Pic.

    Score, as its model card: ``logit_scale.exp() * cosine(image_emb, text_emb)`` (about 100 x cosine).
    t2v_metrics reports the bare cosine instead; pass ``scaled=False`` for that (the ranking is the same).
    Texts are cut at 77 tokens (the model card's ``max_length``). Options: ``scaled``, ``cache_dir``.
    """

    init_options: ClassVar[dict[str, Any] | None] = {"scaled": True, "cache_dir": None}

    def load(self) -> None:
        """Load the processor (``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``) and model (``yuvalkirstain/PickScore_v1``)."""
        from transformers import AutoModel, AutoProcessor

        cache_dir = self.options.get("cache_dir")
        self.processor = AutoProcessor.from_pretrained(PICKSCORE_PROCESSOR, cache_dir=cache_dir)
        model = AutoModel.from_pretrained(PICKSCORE_REPO, cache_dir=cache_dir)
        self.model = model.eval().to(device=self.device, dtype=self.dtype)
        self.context_length = int(self.model.config.text_config.max_position_embeddings)
        scaled = self.options.get("scaled", True)
        self.scale = float(self.model.logit_scale.detach().float().exp()) if scaled else 1.0
        self.weights_revision = (_hub_revision(PICKSCORE_REPO, ["model.safetensors", "pytorch_model.bin",
                                                                "config.json"], cache_dir)
                                 or getattr(self.model.config, "_commit_hash", None))

    @staticmethod
    def _features(out: Any) -> torch.Tensor:
        # transformers 5 returns a model output whose pooler_output holds the projected embedding;
        # transformers 4 returned the tensor itself
        return out if isinstance(out, torch.Tensor) else out.pooler_output  # type: ignore[no-any-return]

    def encode_image_batch(self, images: list[Any]) -> torch.Tensor:
        inputs = self.processor(images=images, return_tensors="pt")
        pixels = to_device(inputs["pixel_values"], self.device, self.dtype)
        return self._features(self.model.get_image_features(pixel_values=pixels))

    def encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        inputs = self.processor(text=texts, padding=True, truncation=True, max_length=self.context_length,
                                return_tensors="pt")
        return self._features(self.model.get_text_features(
            input_ids=to_device(inputs["input_ids"], self.device),
            attention_mask=to_device(inputs["attention_mask"], self.device)))

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return _hf_token_lengths(self.processor.tokenizer, texts)
