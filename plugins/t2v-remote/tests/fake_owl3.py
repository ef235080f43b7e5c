"""A fake remote-code mPLUG-Owl3 repository: the files and entry points the reference calls, at toy size.

Laid out like ``mPLUG/mPLUG-Owl3-7B-240728``: ``config.json`` with an ``auto_map`` to
``configuration_mplugowl3.mPLUGOwl3Config`` / ``modeling_mplugowl3.mPLUGOwl3Model``, a language model in
``modeling_hyper_qwen2.py`` whose forward takes ``image_embeds`` and ``media_offset``, and a processor in
``processing_mplugowl3.py`` returned by ``model.init_processor(tokenizer)``. The computation is a toy one (a
patch convolution added to the embeddings at the media positions, instead of cross-attention); its language
model's generation config carries a repetition penalty taken from ``config.json``, as 4.4x-era configs carried
generation fields, so that a test sees whether the score is taken after generate's logits processors.
"""

from __future__ import annotations

from pathlib import Path

from fake_repo import config_py, lm_config, save_remote_repo

REPO = "mPLUG/mPLUG-Owl3-7B-240728"
PENALTY = 1.3  # large, so that a score taken before the processors is clearly different

CONFIG_PY = config_py("mPLUGOwl3Config", "mplugowl3", ("image_size", 28), ("hyper_repetition_penalty", 1.0))

HYPER_QWEN2_PY = '''
import torch
from transformers import Qwen2ForCausalLM


class HyperQwen2ForCausalLM(Qwen2ForCausalLM):
    def __init__(self, config):
        super().__init__(config)
        self.generation_config.repetition_penalty = config.hyper_repetition_penalty

    def forward(self, input_ids=None, image_embeds=None, media_offset=None, inputs_embeds=None, **kwargs):
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if image_embeds is not None and media_offset is not None and inputs_embeds.shape[1] > 1:
            inputs_embeds = inputs_embeds.clone()
            for k, pos in enumerate(media_offset[0].tolist()):
                inputs_embeds[0, pos] = inputs_embeds[0, pos] + image_embeds[k].to(inputs_embeds.dtype)
        return super().forward(inputs_embeds=inputs_embeds, **kwargs)

    def prepare_inputs_for_generation(self, input_ids, image_embeds=None, media_offset=None, **kwargs):
        # as the real remote code: the media arguments reach forward (4.4x generate drops unknown kwargs)
        inputs = super().prepare_inputs_for_generation(input_ids, **kwargs)
        inputs.update(image_embeds=image_embeds, media_offset=media_offset)
        return inputs

    def _update_model_kwargs_for_generation(self, outputs, model_kwargs, *args, **kwargs):
        # the reference passes attention_mask=None; 4.4x generate would extend it after the first step
        if "attention_mask" in model_kwargs and model_kwargs["attention_mask"] is None:
            model_kwargs.pop("attention_mask")
        return super()._update_model_kwargs_for_generation(outputs, model_kwargs, *args, **kwargs)
'''

MODELING_PY = '''
import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_mplugowl3 import mPLUGOwl3Config
from .modeling_hyper_qwen2 import HyperQwen2ForCausalLM


class mPLUGOwl3Model(PreTrainedModel):
    config_class = mPLUGOwl3Config
    _supports_sdpa = False  # so that the scorer's sdpa -> eager fallback is exercised

    def __init__(self, config):
        super().__init__(config)
        self.vision = nn.Conv2d(3, config.hidden_size, config.image_size, config.image_size)
        self.language_model = HyperQwen2ForCausalLM(config)
        self.terminators = ["<|im_end|>", "<|endoftext|>"]
        self.post_init()

    def init_processor(self, tokenizer):
        from .processing_mplugowl3 import mPLUGOwl3Processor

        return mPLUGOwl3Processor(tokenizer, self.config.image_size)

    def forward_image(self, pixel_values):
        return self.vision(pixel_values.to(self.vision.weight.dtype)).flatten(1)
'''

PROCESSING_PY = '''
import numpy as np
import torch
from transformers import BatchFeature


class mPLUGOwl3Processor:
    def __init__(self, tokenizer, image_size):
        self.tokenizer, self.image_size = tokenizer, image_size
        self.media_id = tokenizer.convert_tokens_to_ids("<|image_pad|>")

    def _pixels(self, image):
        arr = np.asarray(image.convert("RGB").resize((self.image_size, self.image_size)), dtype=np.float32) / 255.0
        return torch.from_numpy(arr).permute(2, 0, 1)

    def __call__(self, messages, images=None, videos=None):
        text = ""
        for m in messages:
            text += "<|im_start|>" + m["role"] + "\\n" + m["content"]
            text += "<|im_end|>\\n" if m["content"] else ""
        frames = list(images or []) if images else [f for v in (videos or []) for f in v]
        text = text.replace("<|image|>", "<|image_pad|>").replace("<|video|>", "<|image_pad|>" * len(frames))
        ids = self.tokenizer.encode(text)
        offsets = [i for i, t in enumerate(ids) if t == self.media_id]
        return BatchFeature({"input_ids": torch.tensor([ids]), "media_offset": torch.tensor([offsets]),
                             "pixel_values": torch.stack([self._pixels(f) for f in frames])})
'''

FILES = {"configuration_mplugowl3.py": CONFIG_PY, "modeling_hyper_qwen2.py": HYPER_QWEN2_PY,
         "modeling_mplugowl3.py": MODELING_PY, "processing_mplugowl3.py": PROCESSING_PY}


def write_owl3_repo(out: Path, seed: int = 0) -> Path:
    """Write the code files, a Qwen2 tokenizer and random weights (saved through the remote classes)."""
    from t2v_hf.testing import build_qwen_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    tok = build_qwen_tokenizer(out)
    auto_map = {"AutoConfig": "configuration_mplugowl3.mPLUGOwl3Config",
                "AutoModel": "modeling_mplugowl3.mPLUGOwl3Model",
                "AutoModelForCausalLM": "modeling_mplugowl3.mPLUGOwl3Model"}
    config = {"model_type": "mplugowl3", "architectures": ["mPLUGOwl3Model"], "auto_map": auto_map,
              **lm_config(len(tok), image_size=28, hyper_repetition_penalty=PENALTY)}
    return save_remote_repo(out, FILES, config, "AutoModelForCausalLM", seed=seed)
