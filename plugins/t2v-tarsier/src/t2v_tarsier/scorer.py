"""VQAScore with Tarsier2 on transformers' native Qwen2-VL class: the t2v-hf scorer with Tarsier's prompt,
frame sampling, preprocessing and positions.

The checkpoint's weights are mapped onto ``Qwen2VLForConditionalGeneration`` at load time (:mod:`.loading`).
The prompt is the checkpoint's own chat template rendered as Tarsier's processor renders it; videos are 16
frames, each given to the model as a temporal patch of its own (Tarsier's ``use_multi_images_for_video``) and
written as image tokens. The score (P(first answer token) after the generation-config logits processors, one
forward pass, prefix KV reuse) is :class:`t2v_hf.scorer.HFVLMScorer`'s.
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from t2v_hf.qwen_vision import tune_vision_tower
from t2v_hf.scorer import HFVLMScorer, PreparedMedia

from t2v_core.media import Video

from . import vision

VISION_START, IMAGE_PAD, VISION_END = "<|vision_start|>", "<|image_pad|>", "<|vision_end|>"
PLACEHOLDER = VISION_START + IMAGE_PAD + VISION_END


class TarsierChat:
    """Renders the checkpoint's chat template as Tarsier's processor does: the user turn ``[media, question]``,
    then an empty assistant turn with ``strip_final_eos=True`` (no generation prompt), so the prompt ends at
    the assistant header. The vision item is rendered with one image token; :meth:`expand` writes the
    item's real count (the template repeats the token ``num_vision_tokens`` times: checked at load)."""

    def __init__(self, tokenizer: Any, template: str, source: str) -> None:
        self.tokenizer = tokenizer
        self.template = template
        one, three = (self._render([{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "q"}]}], n)
                      for n in (1, 3))
        if one.count(PLACEHOLDER) != 1 or three != one.replace(PLACEHOLDER, VISION_START + IMAGE_PAD * 3 + VISION_END):
            raise ValueError(f"{source}: its chat template does not write a video as {VISION_START} + "
                             f"num_vision_tokens x {IMAGE_PAD} + {VISION_END}, as Tarsier2's does; cannot build "
                             "Tarsier's prompt from it")

    def _render(self, messages: list[dict[str, Any]], n: int) -> str:
        tarsier = []
        for message in messages:
            content = [{**c, "num_vision_tokens": n} if c.get("type") in ("image", "video") else dict(c)
                       for c in message["content"]]
            tarsier.append({"role": message["role"], "content": content})
        tarsier.append({"role": "assistant", "content": []})
        return self.tokenizer.apply_chat_template(tarsier, chat_template=self.template, tokenize=False,
                                                  add_generation_prompt=False, strip_final_eos=True)

    def apply_chat_template(self, messages: list[dict[str, Any]], tokenize: bool = False,
                            add_generation_prompt: bool = True, **kwargs: Any) -> str:
        """The prompt text (Tarsier's processor never adds a generation prompt: the empty assistant turn with
        its end token stripped is the prompt's end)."""
        return self._render(messages, 1)

    @staticmethod
    def expand(text: str, n_tokens: int) -> str:
        """``text`` with its one vision placeholder holding ``n_tokens`` image tokens."""
        if text.count(PLACEHOLDER) != 1:
            raise ValueError(f"a Tarsier prompt holds exactly one vision item, found {text.count(PLACEHOLDER)}")
        return text.replace(PLACEHOLDER, VISION_START + IMAGE_PAD * n_tokens + VISION_END)


class TarsierScorer(HFVLMScorer):
    """Tarsier2 VQAScore (videos). Call option ``num_frames`` (default 16, the reference's ``n_frames``).

    Constructor options (besides t2v-hf's ``checkpoint``, ``revision``, ``answer_likelihood``,
    ``prefix_reuse``, ``attn_implementation``, ``generation_config``):
        max_pixels: Tarsier's per-frame pixel cap before the image processor (default 460800 = 1280*720/2).
    """

    call_options: ClassVar[dict[str, Any]] = {"num_frames": vision.N_FRAMES}
    default_batch_size: ClassVar[int] = 4
    # the reference called generate(**processor(...)): the logits processors saw the prompt's input_ids
    generation_input: ClassVar[str] = "input_ids"
    init_options: ClassVar[dict[str, Any]] = {**HFVLMScorer.init_options, "max_pixels": vision.MAX_PIXELS}

    def load_model_and_processor(self, checkpoint: str, revision: str | None) -> None:
        """Tokenizer, chat template and image-processor settings from the repo; the weights mapped onto the
        native Qwen2-VL class (see :mod:`.loading`); Tarsier's positions bound to its model."""
        import transformers
        from t2v_hf.loading import from_pretrained, transformers_version, weights_revision

        from .loading import load_model, repo_file

        if transformers_version() < (4, 52):
            raise ModuleNotFoundError(f"model {self.name!r} needs transformers >= 4.52 (load-time key mapping), but "
                                      f"{transformers.__version__} is installed: pip install -U 'transformers>=4.52'")
        self.tokenizer = from_pretrained(transformers.AutoTokenizer, checkpoint, revision=revision, what="tokenizer")
        template_file = repo_file(checkpoint, "chat_template.json", revision, required=False)
        template = (json.loads(template_file.read_text())["chat_template"] if template_file is not None
                    else getattr(self.tokenizer, "chat_template", None))
        if not template:
            raise ValueError(f"{checkpoint!r} ships no chat template (chat_template.json or tokenizer_config.json)")
        self.processor = TarsierChat(self.tokenizer, template, checkpoint)
        raw = json.loads(repo_file(checkpoint, "preprocessor_config.json", revision).read_text())  # type: ignore[union-attr]
        self.image_config = vision.ImageProcessorConfig.from_dict(raw)
        kwargs: dict[str, Any] = {"dtype" if transformers_version() >= (4, 56) else "torch_dtype": self.dtype}
        if self.options["attn_implementation"]:
            kwargs["attn_implementation"] = self.options["attn_implementation"]
        self.model = load_model(checkpoint, revision, **kwargs).to(self.device).eval()
        # a video is 16 single-frame items: their attention chunks go through one batched kernel call
        # (t2v_hf.qwen_vision; the same numbers as transformers' per-chunk loop or dense mask)
        inner_model = getattr(self.model, "model", self.model)
        self.vision_tuning = tune_vision_tower(getattr(inner_model, "visual", None) or
                                               getattr(self.model, "visual", None), self.device.type)
        self.weights_revision = weights_revision(checkpoint, revision)
        self.image_token_id = int(self.model.config.image_token_id)
        if self.tokenizer.convert_tokens_to_ids(IMAGE_PAD) != self.image_token_id:
            raise ValueError(f"{checkpoint!r}: {IMAGE_PAD} is token {self.tokenizer.convert_tokens_to_ids(IMAGE_PAD)} "
                             f"but the config's image_token_id is {self.image_token_id}")
        self.max_pixels = int(self.options["max_pixels"])
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive number of pixels, got {self.options['max_pixels']!r}")
        merge = self.image_config.merge_size
        token = self.image_token_id

        def get_rope_index(model_self: Any, input_ids: torch.Tensor, mm_token_type_ids: Any = None,
                           image_grid_thw: torch.Tensor | None = None, video_grid_thw: Any = None,
                           attention_mask: torch.Tensor | None = None, **kw: Any) -> tuple[torch.Tensor, torch.Tensor]:
            grids = image_grid_thw.tolist() if image_grid_thw is not None else []
            return vision.rope_positions(input_ids, grids, token, merge, attention_mask)

        # the native forward and generate take Tarsier's positions (see vision.rope_positions for the difference)
        inner = getattr(self.model, "model", self.model)
        inner.get_rope_index = types.MethodType(get_rope_index, inner)

    # ------------------------------------------------------------------ media
    def prepare_video(self, video: Video, num_frames: int | None = vision.N_FRAMES, **options: Any) -> PreparedMedia:
        """Tarsier's sampling (16 frames, first and last included), each frame taken twice (one temporal patch
        per frame), pre-resized within the pixel cap, then preprocessed as its Qwen2-VL image processor."""
        from PIL import Image

        if not isinstance(num_frames, int) or isinstance(num_frames, bool) or num_frames < 1:
            raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
        indices = vision.frame_indices(video.info.num_frames, num_frames)
        frames = [f for f in video.frames(indices) for _ in range(2)]
        cap = vision.frame_pixel_cap(len(frames), self.max_pixels)
        width, height = frames[0].size
        h, w = vision.smart_resize(height, width, 1, min(vision.MIN_PIXELS, cap), cap)
        frames = [f.resize((w, h), resample=Image.Resampling.BICUBIC) for f in frames]
        pixels, grid = vision.patchify(frames, self.image_config)
        meta = {"fps": video.info.fps, "total_num_frames": video.info.num_frames, "frames_indices": indices}
        return PreparedMedia("video", (pixels, grid), meta, {"num_frames": len(indices)})

    def processor_inputs(self, texts: Sequence[str], prepared: Sequence[PreparedMedia]) -> dict[str, Any]:
        """Token ids (the template's text with each prompt's image-token count, left padded), attention mask,
        the image-token mask (``mm_token_type_ids``), pixel patches and grids."""
        merge2 = self.image_config.merge_size ** 2
        rows, pixels, grids = [], [], []
        for text, item in zip(texts, prepared):
            if item.kind != "video":
                raise TypeError(f"model {self.name!r} scores videos only, got {item.kind}")
            patch, grid = item.data
            full = TarsierChat.expand(text, grid[0] * grid[1] * grid[2] // merge2)
            rows.append(self.tokenizer(full, add_special_tokens=False)["input_ids"])
            pixels.append(patch)
            grids.append(grid)
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, width - len(row):] = torch.tensor(row)
            mask[r, width - len(row):] = 1
        return {"input_ids": ids, "attention_mask": mask,
                "mm_token_type_ids": (ids == self.image_token_id).long() * mask,
                "pixel_values": torch.cat(pixels), "image_grid_thw": torch.tensor(grids, dtype=torch.long)}

    def next_position(self, inputs: dict[str, Any], length: int) -> int:
        """One past the prefix's largest Tarsier position."""
        positions, _ = vision.rope_positions(inputs["input_ids"], inputs["image_grid_thw"].tolist(),
                                             self.image_token_id, self.image_config.merge_size,
                                             inputs.get("attention_mask"))
        return int(positions[:, 0, -1].max()) + 1
