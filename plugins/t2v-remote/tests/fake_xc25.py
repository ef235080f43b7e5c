"""A fake remote-code InternLM-XComposer2.5 repository: the entry points the reference calls, at toy size.

Laid out like ``internlm/internlm-xcomposer2d5-7b``: ``config.json`` with an ``auto_map`` to
``configuration_internlm_xcomposer2.InternLMXcomposer2Config`` / ``modeling_internlm_xcomposer2.
InternLMXComposer2ForCausalLM``, whose ``interleav_wrap_chat(query, image_paths, history, meta_instruction,
hd_num)`` reads the image (or video) file itself and returns ``inputs_embeds``, and whose forward takes
``im_mask`` and ``infer_mode``. Toy computation: a patch convolution of the image (a video: the mean of its
first and last frames, read with PyAV) as one embedding at the image's place; a BOS-adding tokenizer with the
InternLM2 chat tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

from fake_repo import config_py, lm_config, save_remote_repo

REPO = "internlm/internlm-xcomposer2d5-7b"
SPECIAL = ["<s>", "</s>", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_145]"]

CONFIG_PY = config_py("InternLMXcomposer2Config", "internlmxcomposer2", ("image_size", 28))

MODELING_PY = '''
import numpy as np
import torch
from PIL import Image
from torch import nn
from transformers import Qwen2ForCausalLM

from .configuration_internlm_xcomposer2 import InternLMXcomposer2Config


def _read(path, size):
    if path.lower().endswith((".mp4", ".avi", ".mov", ".mkv")):
        import av

        with av.open(path) as c:
            frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
        arr = (frames[0] + frames[-1]) / 2
    else:
        arr = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    img = Image.fromarray(arr.round().astype(np.uint8)).resize((size, size))
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None]


class InternLMXComposer2ForCausalLM(Qwen2ForCausalLM):
    config_class = InternLMXcomposer2Config

    def __init__(self, config):
        super().__init__(config)
        self.vit = nn.Conv2d(3, config.hidden_size, config.image_size, config.image_size)
        self.tokenizer = None
        self.post_init()

    def interleav_wrap_chat(self, query, image, history=[], meta_instruction="", hd_num=24):
        prompt = ("[UNUSED_TOKEN_146]system\\n" + meta_instruction + "[UNUSED_TOKEN_145]\\n"
                  + "[UNUSED_TOKEN_146]user\\n" + query + "[UNUSED_TOKEN_145]\\n[UNUSED_TOKEN_146]assistant\\n")
        before, _, after = prompt.partition("<ImageHere>") if "<ImageHere>" in prompt else ("", "", prompt)
        embed = self.get_input_embeddings()
        ids_a = self.tokenizer(before, return_tensors="pt").input_ids  # with BOS
        ids_b = self.tokenizer(after, return_tensors="pt", add_special_tokens=False).input_ids
        img = self.vit(_read(image[0], self.config.image_size).to(self.vit.weight.dtype)).flatten(1)[None]
        img = img * (1.0 + 0.01 * hd_num)
        parts = [embed(ids_a), img, embed(ids_b)]
        if not before:  # no <ImageHere>: the image goes first, after BOS
            parts = [embed(torch.tensor([[self.tokenizer.bos_token_id]])), img, embed(ids_b)]
        embeds = torch.cat(parts, 1)
        im_mask = torch.zeros(embeds.shape[:2], dtype=torch.bool)
        start = parts[0].shape[1]
        im_mask[:, start:start + 1] = True
        return {"inputs_embeds": embeds}, im_mask, embeds.shape[1]

    def forward(self, input_ids=None, inputs_embeds=None, im_mask=None, infer_mode="base", **kwargs):
        return super().forward(input_ids=input_ids, inputs_embeds=inputs_embeds, **kwargs)
'''


def build_tokenizer(out: Path):
    """A byte-level BPE that prepends ``<s>`` (as InternLM2's tokenizer does), saved to ``out``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import AutoTokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = ["Yes", "No", "Does this figure show", "Please answer yes or no.", "a cat", "two dogs",
              "Here are some frames of a video.", "system", "user", "assistant", "You are an AI assistant"]
    tok.train_from_iterator(corpus * 20, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"}))
    return AutoTokenizer.from_pretrained(str(out))


def write_xc25_repo(out: Path, seed: int = 0) -> Path:
    """Write the code files, the tokenizer and random weights (saved through the remote classes)."""
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out)
    auto_map = {"AutoConfig": "configuration_internlm_xcomposer2.InternLMXcomposer2Config",
                "AutoModel": "modeling_internlm_xcomposer2.InternLMXComposer2ForCausalLM",
                "AutoModelForCausalLM": "modeling_internlm_xcomposer2.InternLMXComposer2ForCausalLM"}
    config = {"model_type": "internlmxcomposer2", "architectures": ["InternLMXComposer2ForCausalLM"],
              "auto_map": auto_map, **lm_config(len(tok), image_size=28, bos_token_id=0, eos_token_id=1)}
    return save_remote_repo(out, {"configuration_internlm_xcomposer2.py": CONFIG_PY,
                                  "modeling_internlm_xcomposer2.py": MODELING_PY}, config, seed=seed)
