"""A fake remote-code Molmo (0924) repository: the entry points the reference calls, at toy size.

Laid out like ``allenai/Molmo-7B-D-0924``: ``config.json`` with an ``auto_map`` to ``config_molmo.MolmoConfig``
/ ``modeling_molmo.MolmoForCausalLM``, ``preprocessor_config.json`` with ``AutoProcessor`` ->
``preprocessing_molmo.MolmoProcessor`` (whose ``process(images=, text=)`` returns unbatched tensors), a Qwen2
tokenizer, and ``model.generate_from_batch(batch, generation_config, tokenizer=)``. Toy computation: the image's
patch-convolution embedding added at the image token's place.
"""

from __future__ import annotations

import json
from pathlib import Path

from fake_repo import config_py, lm_config, save_remote_repo

CONFIG_PY = config_py("MolmoConfig", "molmo", ("image_size", 28))

MODELING_PY = '''
import torch
from torch import nn
from transformers import Qwen2ForCausalLM

from .config_molmo import MolmoConfig


class MolmoForCausalLM(Qwen2ForCausalLM):
    config_class = MolmoConfig

    def __init__(self, config):
        super().__init__(config)
        self.vit = nn.Conv2d(3, config.hidden_size, config.image_size, config.image_size)
        self.post_init()

    def forward(self, input_ids=None, images=None, image_input_idx=None, inputs_embeds=None, **kwargs):
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if images is not None and inputs_embeds.shape[1] > 1:
            vis = self.vit(images[0].to(self.vit.weight.dtype)).flatten(1)
            inputs_embeds = inputs_embeds.clone()
            for k, pos in enumerate(image_input_idx[0].tolist()):
                inputs_embeds[0, pos] = inputs_embeds[0, pos] + vis[k].to(inputs_embeds.dtype)
        return super().forward(inputs_embeds=inputs_embeds, **kwargs)

    def prepare_inputs_for_generation(self, input_ids, images=None, image_input_idx=None, **kwargs):
        # as the real remote code: the image arguments reach forward (4.4x generate drops unknown kwargs)
        inputs = super().prepare_inputs_for_generation(input_ids, **kwargs)
        inputs.update(images=images, image_input_idx=image_input_idx)
        return inputs

    def generate_from_batch(self, batch, generation_config=None, **kwargs):
        return self.generate(input_ids=batch["input_ids"], images=batch["images"],
                             image_input_idx=batch["image_input_idx"], generation_config=generation_config, **kwargs)
'''

PREPROCESSING_PY = '''
import numpy as np
import torch
from transformers import AutoTokenizer


class MolmoProcessor:
    def __init__(self, tokenizer, image_size=28):
        self.tokenizer, self.image_size = tokenizer, image_size

    @classmethod
    def register_for_auto_class(cls, auto_class="AutoProcessor"):
        pass

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k in ("cache_dir", "revision", "local_files_only")}
        return cls(AutoTokenizer.from_pretrained(path, **kwargs))

    def process(self, images=None, text=None):
        pad = self.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        ids = [pad] + self.tokenizer.encode(" User: " + text + " Assistant:")
        arr = np.asarray(images[0].convert("RGB").resize((self.image_size, self.image_size)), np.float32) / 255
        return {"input_ids": torch.tensor(ids), "images": torch.from_numpy(arr).permute(2, 0, 1)[None],
                "image_input_idx": torch.tensor([0])}
'''


def write_molmo_repo(out: Path, seed: int = 0) -> Path:
    """Write the code files, processor config, a Qwen2 tokenizer and random weights."""
    from t2v_hf.testing import build_qwen_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    (out / "preprocessor_config.json").write_text(json.dumps(
        {"auto_map": {"AutoProcessor": "preprocessing_molmo.MolmoProcessor"}, "processor_class": "MolmoProcessor"}))
    tok = build_qwen_tokenizer(out, corpus=["Does this image show", "Answer the question with Yes or No",
                                            " User:", " Assistant:", " Yes", " No"])
    auto_map = {"AutoConfig": "config_molmo.MolmoConfig", "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"}
    config = {"model_type": "molmo", "architectures": ["MolmoForCausalLM"], "auto_map": auto_map,
              **lm_config(len(tok), image_size=28)}
    files = {"config_molmo.py": CONFIG_PY, "modeling_molmo.py": MODELING_PY, "preprocessing_molmo.py": PREPROCESSING_PY}
    return save_remote_repo(out, files, config, "AutoModelForCausalLM", seed=seed)
