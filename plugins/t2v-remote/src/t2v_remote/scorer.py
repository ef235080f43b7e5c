"""Scorers that run a checkpoint's own Python code (``trust_remote_code=True``), as the reference called it.

Each family's spec pins the transformers of its era, so these classes normally run in a worker environment
(:mod:`t2v_core.workers`); the code here works on that era's transformers and on 5.x alike.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from t2v_core.errors import MediaError
from t2v_core.media import Image, Media, Video
from t2v_core.scorer import Scorer
from t2v_core.templates import Templates

from .refusal import RemoteCodeRefusedError, refusal  # noqa: F401  (re-exported: the names tests and users import)


def attn_candidates(requested: str | None, device: torch.device) -> list[str]:
    """Attention implementations to try, best first: flash-attn only when it is installed and on CUDA."""
    if requested:
        return [requested]
    flash = device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None
    return (["flash_attention_2"] if flash else []) + ["sdpa", "eager"]


def owl3_frame_indices(total: int, avg_fps: float, fps: float = 1.0, max_frames: int = 16) -> list[int]:
    """mPLUG-Owl3's video sampling: every ``round(avg_fps / fps)``-th frame, then, if more than ``max_frames``,
    the centre of each of ``max_frames`` equal bins of those."""
    step = max(1, round(avg_fps / fps))
    idx = list(range(0, total, step))
    if len(idx) > max_frames:
        gap = len(idx) / max_frames
        idx = [idx[int(i * gap + gap / 2)] for i in range(max_frames)]
    return idx


class RemoteCodeScorer(Scorer):
    """Base of the remote-code families: refuses without ``trust_remote_code=True``, loads the checkpoint's
    classes with the best attention implementation available, and scores pair by pair (as the reference).

    Options: ``trust_remote_code`` (bool, default False), ``checkpoint`` (a repo id or folder instead of the
    spec's), ``revision``, ``attn_implementation`` (default: flash_attention_2 if installed on CUDA, else sdpa,
    else eager).
    """

    default_batch_size: ClassVar[int] = 1
    #: constructor options beyond the core's (the core refuses any other, naming these)
    init_options: ClassVar[dict[str, Any] | None] = {"trust_remote_code": False, "checkpoint": None,
                                                     "revision": None, "attn_implementation": None}

    @property
    def checkpoint(self) -> str:
        """The repo id or folder loaded."""
        return str(self.options.get("checkpoint") or self.spec.weights[0])

    def refuse_unless_trusted(self) -> None:
        """Raise :class:`RemoteCodeRefusedError` unless the user passed ``trust_remote_code=True``."""
        if self.options.get("trust_remote_code") is not True:
            raise refusal(self.name, self.checkpoint)

    def load_remote_model(self, auto_class: Any, **kwargs: Any) -> Any:
        """``auto_class.from_pretrained(checkpoint, trust_remote_code=True)`` in this scorer's dtype, trying the
        attention implementations in turn (remote code that cannot use one says so with a ValueError or
        ImportError); the one used is recorded in ``options['attn_implementation']``."""
        from t2v_hf.loading import from_pretrained, transformers_version, weights_revision

        dtype_key = "dtype" if transformers_version() >= (4, 56) else "torch_dtype"
        errors = []
        for attn in attn_candidates(self.options.get("attn_implementation"), self.device):
            try:
                model = from_pretrained(auto_class, self.checkpoint, revision=self.options.get("revision"),
                                        trust_remote_code=True, attn_implementation=attn,
                                        **{dtype_key: self.dtype}, **kwargs)
            except (ValueError, ImportError) as e:
                errors.append(f"{attn}: {e}")
                continue
            self.options["attn_implementation"] = attn
            self.weights_revision = weights_revision(self.checkpoint, self.options.get("revision"))
            return model.to(self.device).eval()
        raise ValueError(f"model {self.name!r}: its remote code loaded with none of the attention implementations "
                         "tried; pass attn_implementation=... to pick one:\n" + "\n".join(errors))


class MPLUGOwl3Scorer(RemoteCodeScorer):
    """mPLUG-Owl3 through its remote code, as the reference scored it.

    The user turn is ``"<|image|>\\n{question}"`` (or ``<|video|>``) with an empty assistant turn, rendered by
    the checkpoint's processor (``model.init_processor(tokenizer)``); the image embeddings come from
    ``model.forward_image`` and the score is ``softmax(scores[0])[encode(answer)[0]]`` of
    ``model.language_model.generate(..., max_new_tokens=1, do_sample=False)``: the logits after the logits
    processors of the language model's generation config (greedy, so no warpers).

    Video: every ``round(source_fps / fps)``-th frame (``fps=1``), then at most ``num_frames=16`` of those
    (centres of equal bins).
    """

    call_options: ClassVar[dict[str, Any]] = {"fps": 1.0, "num_frames": 16}

    def load(self) -> None:
        """The remote model, its tokenizer and processor (refused without ``trust_remote_code=True``)."""
        self.refuse_unless_trusted()
        from t2v_hf.loading import from_pretrained
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = self.load_remote_model(AutoModelForCausalLM)
        self.tokenizer = from_pretrained(AutoTokenizer, self.checkpoint, revision=self.options.get("revision"),
                                         what="tokenizer", trust_remote_code=True)
        self.processor = self.model.init_processor(self.tokenizer)
        self.terminators = [self.tokenizer.convert_tokens_to_ids(t) for t in self.model.terminators]

    def frames(self, video: Video, fps: float, num_frames: int) -> list[Any]:
        """The frames mPLUG-Owl3 sees of ``video``."""
        info = video.info
        if not info.fps:
            raise MediaError(f"video {video.source}: its frame rate is unknown, and mPLUG-Owl3 samples at {fps} "
                             "fps; build it with t2v_core.media.Video.from_frames(frames, fps=...)")
        return video.frames(owl3_frame_indices(info.num_frames, info.fps, fps, num_frames))

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    fps: float = 1.0, num_frames: int = 16) -> torch.Tensor:
        """P(first answer token) for each pair, one generate call each."""
        assert templates is not None
        out = []
        for m, text in zip(media, texts):
            question, answer = templates.fill(text)
            if isinstance(m, Image):
                tag, images, videos = "<|image|>", [m.image], None
            else:
                tag, images, videos = "<|video|>", None, [self.frames(m, fps, num_frames)]
            messages = [{"role": "user", "content": f"{tag}\n{question}"}, {"role": "assistant", "content": ""}]
            inputs = self.processor(messages, images=images, videos=videos)
            inputs.to(self.device)
            with torch.inference_mode():
                image_embeds = self.model.forward_image(inputs["pixel_values"])
                gen = self.model.language_model.generate(
                    input_ids=inputs["input_ids"], image_embeds=image_embeds, media_offset=inputs["media_offset"],
                    pad_token_id=0, eos_token_id=self.terminators, attention_mask=None, max_new_tokens=1,
                    do_sample=False, output_scores=True, return_dict_in_generate=True)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out.append(probs[0, self.tokenizer.encode(answer)[0]].item())
        return torch.tensor(out, dtype=torch.float32)


#: the reference's system prompt: only the first line of its four string literals (the other three were
#: separate statements), unlike the model card's full prompt
XCOMPOSER_META = "You are an AI assistant whose name is InternLM-XComposer (浦语·灵笔).\n"


class XComposer25Scorer(RemoteCodeScorer):
    """InternLM-XComposer2.5 through its remote code, as the reference scored it.

    Query ``"<ImageHere> {question}"`` for an image, ``"Here are some frames of a video. {question}"`` for a
    video (whose file the remote code samples and tiles itself), embedded by ``model.interleav_wrap_chat(query,
    [path], history=[], meta_instruction=XCOMPOSER_META, hd_num=24)``; the score is
    ``softmax(scores[0])[encode(answer)[1]]`` (InternLM2's BOS skipped) of ``model.generate(inputs_embeds,
    im_mask, infer_mode='base', max_new_tokens=1, do_sample=False, repetition_penalty=1.005,
    eos_token_id=[eos, '[UNUSED_TOKEN_145]'])``: the penalty is a no-op at the first step (generation from
    embeddings only has no prompt ids). An in-memory image is handed to the remote code as a lossless PNG.
    """

    call_options: ClassVar[dict[str, Any]] = {"hd_num": 24}

    def load(self) -> None:
        """The remote model and tokenizer (refused without ``trust_remote_code=True``)."""
        self.refuse_unless_trusted()
        from t2v_hf.loading import from_pretrained
        from transformers import AutoModel, AutoTokenizer

        self.model = self.load_remote_model(AutoModel)
        self.tokenizer = from_pretrained(AutoTokenizer, self.checkpoint, revision=self.options.get("revision"),
                                         what="tokenizer", trust_remote_code=True)
        self.model.tokenizer = self.tokenizer  # the remote code tokenizes through this attribute
        self.eos = [self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("[UNUSED_TOKEN_145]")]

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    hd_num: int = 24) -> torch.Tensor:
        """P(first answer token) for each pair, one generate call each."""
        import os
        import tempfile

        assert templates is not None
        out = []
        with tempfile.TemporaryDirectory(prefix="t2v-xc25-") as tmp:
            for k, (m, text) in enumerate(zip(media, texts)):
                question, answer = templates.fill(text)
                if isinstance(m, Image):
                    path = os.path.join(tmp, f"{k}.png")
                    m.image.save(path)
                    query = f"<ImageHere> {question}"
                else:
                    if m.path is None:
                        raise MediaError(f"video {m.source}: InternLM-XComposer2.5's remote code reads the video "
                                         "file itself; pass a video file path")
                    path, query = m.path, f"Here are some frames of a video. {question}"
                with torch.inference_mode():
                    inputs, im_mask, _ = self.model.interleav_wrap_chat(
                        query, [path], history=[], meta_instruction=XCOMPOSER_META, hd_num=hd_num)
                    inputs = {key: v.to(self.device) for key, v in inputs.items() if torch.is_tensor(v)}
                    gen = self.model.generate(**inputs, max_new_tokens=1, num_beams=1, do_sample=False,
                                              eos_token_id=self.eos, repetition_penalty=1.005, im_mask=im_mask,
                                              infer_mode="base", output_scores=True, return_dict_in_generate=True)
                probs = torch.softmax(gen.scores[0].float(), dim=-1)
                out.append(probs[0, self.tokenizer.encode(answer)[1]].item())
        return torch.tensor(out, dtype=torch.float32)


class MolmoScorer(RemoteCodeScorer):
    """Molmo (0924) through its remote code, as the reference (880a5b8) meant to score it (its ``forward``
    raised a NameError on its first line, so there are no reference numbers).

    ``processor.process(images=[image], text=question)`` (each tensor given a batch axis), then
    ``model.generate_from_batch(inputs, GenerationConfig(max_new_tokens=1, output_scores=True,
    return_dict_in_generate=True, stop_strings="<|endoftext|>"), tokenizer=processor.tokenizer)``; the score is
    ``softmax(scores[0])[encode(" " + answer)[0]]`` (a leading space: the prompt ends with "Assistant:"). The
    generation config is the reference's own, so no repetition penalty or other processor applies. Images only.
    """

    def load(self) -> None:
        """The remote model and processor (refused without ``trust_remote_code=True``)."""
        self.refuse_unless_trusted()
        from t2v_hf.loading import from_pretrained
        from transformers import AutoModelForCausalLM, AutoProcessor

        self.model = self.load_remote_model(AutoModelForCausalLM)
        self.processor = from_pretrained(AutoProcessor, self.checkpoint, revision=self.options.get("revision"),
                                         what="processor", trust_remote_code=True)

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None
                    ) -> torch.Tensor:
        """P(first answer token) for each pair, one ``generate_from_batch`` call each."""
        from transformers import GenerationConfig

        assert templates is not None
        tokenizer = self.processor.tokenizer
        out = []
        for m, text in zip(media, texts):
            question, answer = templates.fill(text)
            assert isinstance(m, Image)  # the spec accepts images only; load_media refuses videos with the reason
            inputs = self.processor.process(images=[m.image], text=question)
            inputs = {k: v.to(self.device).unsqueeze(0) for k, v in inputs.items()}
            config = GenerationConfig(max_new_tokens=1, return_dict_in_generate=True, output_scores=True,
                                      stop_strings="<|endoftext|>")
            with torch.inference_mode():
                gen = self.model.generate_from_batch(inputs, config, tokenizer=tokenizer)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out.append(probs[0, tokenizer.encode(" " + answer)[0]].item())
        return torch.tensor(out, dtype=torch.float32)


IVID_PLACEHOLDER = "[<IMG_PLH>]"
IVID_VIDEO_PLACEHOLDER = "[<VID_PLH>]"
IVID_MEDIA_TOKENS = 96


def segment_indices(total: int, num_segments: int) -> list[int]:
    """InternVideo2-Chat's frame choice: the centres of ``num_segments`` equal segments."""
    size = (total - 1) / num_segments
    return [int(size / 2) + int(round(size * k)) for k in range(num_segments)]


class InternVideo2ChatScorer(RemoteCodeScorer):
    """InternVideo2-Chat-8B through its remote code, as the reference scored videos.

    The prompt is built by hand as the reference did: ``"[INST] <Image>[<IMG_PLH>]</Image>[/INST] [INST] {Q}
    [/INST]"`` (videos were tagged ``<Image>``: the reference's 6-D test never matched its 4-D clip), each text
    chunk tokenized separately **with** BOS and 96 zero ids with a true ``index`` per placeholder; then
    ``model.pad_text_embeds(input_ids, image=clip[None], image_idx=index)`` and
    ``model.lm.generate(inputs_embeds, attention_mask, num_beams=1, max_new_tokens=1, do_sample=False)``
    (from embeddings only, so no prompt-id processor acts). Score ``softmax(scores[0])[encode(A)[1]]``
    (BOS skipped). Frames: the centres of ``num_frames=8`` segments, resized (shorter side 224, bicubic,
    antialiased), centre-cropped to 224, ImageNet mean/std. An image is a one-frame video (the reference
    exited on images).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": 8}

    def load(self) -> None:
        """The remote model and its slow tokenizer (refused without ``trust_remote_code=True``)."""
        self.refuse_unless_trusted()
        from t2v_hf.loading import from_pretrained
        from transformers import AutoModel, AutoTokenizer

        self.model = self.load_remote_model(AutoModel)
        self.tokenizer = from_pretrained(AutoTokenizer, self.checkpoint, revision=self.options.get("revision"),
                                         what="tokenizer", trust_remote_code=True, use_fast=False)

    def clip(self, m: Media, num_frames: int) -> torch.Tensor:
        """The (T, 3, 224, 224) tensor the model sees."""
        import numpy as np
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as tf

        if isinstance(m, Image):
            frames = [m.image]
        else:
            frames = m.frames(segment_indices(m.info.num_frames, num_frames))
        x = torch.from_numpy(np.stack([np.asarray(f, dtype=np.uint8) for f in frames])).permute(0, 3, 1, 2)
        x = tf.resize(x.float().div(255.0), 224, interpolation=InterpolationMode.BICUBIC, antialias=True)
        x = tf.center_crop(x, 224)
        return tf.normalize(x, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

    def conversation(self, clip: torch.Tensor, question: str) -> str:
        """The reference's hand-built prompt (one media placeholder)."""
        return f"[INST] <Image>{IVID_PLACEHOLDER}</Image>[/INST] [INST] {question} [/INST]"

    def media_kwargs(self, clip: torch.Tensor, index: torch.Tensor) -> dict[str, Any]:
        """What ``pad_text_embeds`` gets for the clip: ``image=`` (the reference's tag for 4-D clips)."""
        return {"image": clip[None], "video": None, "image_idx": index, "video_idx": None}

    def tokenize(self, conversation: str) -> dict[str, torch.Tensor]:
        """``input_ids`` / ``attention_mask`` / ``index``: each text chunk tokenized with BOS, as the reference,
        and 96 zero ids (index true) per placeholder."""
        ids: list[torch.Tensor] = []
        index: list[torch.Tensor] = []
        import re

        pattern = "|".join(re.escape(p) for p in (IVID_PLACEHOLDER, IVID_VIDEO_PLACEHOLDER))
        for k, chunk in enumerate(re.split(pattern, conversation)):
            if k:
                ids.append(torch.zeros(IVID_MEDIA_TOKENS, dtype=torch.long))
                index.append(torch.ones(IVID_MEDIA_TOKENS, dtype=torch.bool))
            part = self.tokenizer(chunk, return_tensors="pt").input_ids[0]
            ids.append(part)
            index.append(torch.zeros(len(part), dtype=torch.bool))
        input_ids = torch.cat(ids)
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "index": torch.cat(index)}

    def score_pairs(self, media: Sequence[Media], texts: Sequence[str], *, templates: Templates | None,
                    num_frames: int = 8) -> torch.Tensor:
        """P(first answer token) for each pair, one generate call each."""
        assert templates is not None
        out = []
        for m, text in zip(media, texts):
            question, answer = templates.fill(text)
            clip = self.clip(m, num_frames).to(self.device, self.dtype)
            tok = self.tokenize(self.conversation(clip, question))
            with torch.inference_mode():
                embeds = self.model.pad_text_embeds(input_ids=tok["input_ids"][None].to(self.device),
                                                    **self.media_kwargs(clip, tok["index"][None].to(self.device)))
                gen = self.model.lm.generate(inputs_embeds=embeds,
                                             attention_mask=tok["attention_mask"][None].to(self.device),
                                             num_beams=1, max_new_tokens=1, do_sample=False, output_scores=True,
                                             return_dict_in_generate=True)
            probs = torch.softmax(gen.scores[0].float(), dim=-1)
            out.append(probs[0, self.tokenizer.encode(answer)[1]].item())
        return torch.tensor(out, dtype=torch.float32)


class InternVideo2ChatHDScorer(InternVideo2ChatScorer):
    """InternVideo2-Chat-8B-HD: as :class:`InternVideo2ChatScorer`, with the reference's HD clip and prompt.

    Frames (8 segment centres, 0-255 floats) are resized bicubically (no antialias) to 224 x 448
    (``fix_ratio=(2, 1)``), scaled to [0, 1] and ImageNet-normalized, split into the two 224 tiles, and a global
    224 x 224 bicubic resize of the normalized frames is appended: a (1, 3, T, 3, 224, 224) tensor, passed as
    ``video=`` with one ``<Video>[<VID_PLH>]</Video>`` per tile (three). An image is a one-frame video.

    Also ``internvideo2-chat-8b-internlm``, whose score is ours (the reference crashed on every input): its model
    card loads videos with the same HD transform and calls the same ``chat``, so the same clip and prompt,
    tokenized by the repo's InternLM2 tokenizer (remote code; it adds BOS, so ``encode(answer)[1]`` again).
    """

    def clip(self, m: Media, num_frames: int) -> torch.Tensor:
        """The (1, tiles + 1, T, 3, 224, 224) tensor the model sees."""
        import numpy as np
        import torch.nn.functional as F
        from torchvision.transforms import functional as tf

        frames = [m.image] if isinstance(m, Image) else m.frames(segment_indices(m.info.num_frames, num_frames))
        x = torch.from_numpy(np.stack([np.asarray(f, dtype=np.uint8) for f in frames])).permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(224, 448), mode="bicubic", align_corners=False)
        x = tf.normalize(x.div(255.0), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        t = x.shape[0]
        tiles = x.reshape(1, t, 3, 1, 224, 2, 224).permute(0, 3, 5, 1, 2, 4, 6).reshape(-1, t, 3, 224, 224)
        glb = F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False)[None]
        return torch.cat([tiles, glb])[None]

    def conversation(self, clip: torch.Tensor, question: str) -> str:
        """One ``<Video>`` placeholder per tile."""
        return ("[INST] " + f"<Video>{IVID_VIDEO_PLACEHOLDER}</Video>" * clip.shape[1]
                + f"[/INST] [INST] {question} [/INST]")

    def media_kwargs(self, clip: torch.Tensor, index: torch.Tensor) -> dict[str, Any]:
        """The 6-D clip goes in as ``video=``."""
        return {"image": None, "video": clip, "image_idx": None, "video_idx": index, "instruction": None}
