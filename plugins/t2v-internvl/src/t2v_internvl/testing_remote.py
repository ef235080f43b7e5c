"""A fake remote-code InternVL2 repo, for tests and benchmarks: a tiny ``InternVLChatModel`` whose Python files
are written here (the real ones cannot be fetched offline).

It follows the shape of OpenGVLab's code (``extract_feature`` with a pixel shuffle and the ``mlp1`` projector,
a ``language_model``, ``template`` / ``system_message`` / ``num_image_token``, a ``conversation.py`` with
``get_conv_template``) at toy size; its vision tower is a single patch convolution.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

CONFIG_PY = '''
from transformers import PretrainedConfig, Qwen2Config


class InternVLChatConfig(PretrainedConfig):
    model_type = "internvl_chat"

    def __init__(self, llm_config=None, vision_hidden=32, patch_size=14, force_image_size=56,
                 downsample_ratio=0.5, template="Hermes-2", **kwargs):
        super().__init__(**kwargs)
        llm_config = llm_config or {}
        self.llm_config = llm_config if isinstance(llm_config, Qwen2Config) else Qwen2Config(**llm_config)
        self.vision_hidden = vision_hidden
        self.patch_size = patch_size
        self.force_image_size = force_image_size
        self.downsample_ratio = downsample_ratio
        self.template = template

    def to_dict(self):
        out = super().to_dict()
        out["llm_config"] = self.llm_config.to_dict()
        return out
'''

CONVERSATION_PY = '''
class Conversation:
    def __init__(self, system_template, system_message, roles, sep):
        self.system_template, self.system_message, self.roles, self.sep = system_template, system_message, roles, sep
        self.messages = []

    def append_message(self, role, message):
        self.messages.append([role, message])

    def get_prompt(self):
        ret = self.system_template.format(system_message=self.system_message) + self.sep
        for role, message in self.messages:
            ret += role + message + self.sep if message else role
        return ret


def get_conv_template(name):
    assert name == "Hermes-2", name
    return Conversation("<|im_start|>system\\n{system_message}", "", ("<|im_start|>user\\n", "<|im_start|>assistant\\n"),
                        "<|im_end|>")
'''

MODELING_PY = '''
import torch
from torch import nn
from transformers import PreTrainedModel, Qwen2ForCausalLM

from .configuration_internvl_chat import InternVLChatConfig
from .conversation import get_conv_template  # noqa: F401 - the scorer finds the template here


class InternVLChatModel(PreTrainedModel):
    config_class = InternVLChatConfig
    main_input_name = "pixel_values"
    _no_split_modules = ["Qwen2DecoderLayer"]

    def __init__(self, config, **kwargs):
        super().__init__(config)
        p, t, vh = config.patch_size, config.force_image_size, config.vision_hidden
        hidden = config.llm_config.hidden_size
        self.patch = nn.Conv2d(3, vh, p, p)
        self.num_image_token = int((t // p) ** 2 * config.downsample_ratio ** 2)
        self.mlp1 = nn.Sequential(nn.LayerNorm(vh * 4), nn.Linear(vh * 4, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.language_model = Qwen2ForCausalLM(config.llm_config)
        self.template = config.template
        self.system_message = "You are a tiny remote-code InternVL."
        self.img_context_token_id = None
        self.post_init()

    def extract_feature(self, pixel_values):
        x = self.patch(pixel_values).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, (h // 2) * (w // 2), 4 * c)
        return self.mlp1(x)

    def forward(self, pixel_values, input_ids, attention_mask=None, image_flags=None, **kwargs):
        embeds = self.language_model.get_input_embeddings()(input_ids).clone()
        vit = self.extract_feature(pixel_values)
        vit = vit[image_flags.squeeze(-1) == 1]
        b, n, c = embeds.shape
        embeds = embeds.reshape(b * n, c)
        selected = input_ids.reshape(b * n) == self.img_context_token_id
        embeds[selected] = vit.reshape(-1, c).to(embeds.dtype)
        return self.language_model(inputs_embeds=embeds.reshape(b, n, c), attention_mask=attention_mask)
'''


def write_remote_repo(out: Path, native: Path, seed: int = 1) -> Path:
    """Write the code files, random weights (via the remote classes) and the tiny tokenizer to ``out``."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    (out / "configuration_internvl_chat.py").write_text(CONFIG_PY)
    (out / "conversation.py").write_text(CONVERSATION_PY)
    (out / "modeling_internvl_chat.py").write_text(MODELING_PY)
    tok = AutoTokenizer.from_pretrained(native)
    llm = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=False,
               architectures=["Qwen2ForCausalLM"])
    config = {"model_type": "internvl_chat", "architectures": ["InternVLChatModel"], "template": "Hermes-2",
              "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                           "AutoModel": "modeling_internvl_chat.InternVLChatModel"},
              "llm_config": llm, "vision_hidden": 32, "patch_size": 14, "force_image_size": 56,
              "downsample_ratio": 0.5}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    cfg = AutoConfig.from_pretrained(out, trust_remote_code=True)
    torch.manual_seed(seed)
    model = AutoModel.from_config(cfg, trust_remote_code=True)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.15)
    model.save_pretrained(out)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(native / f, out / f)
    # save_pretrained may rewrite config.json; keep the code references the hub repo has
    saved = json.loads((out / "config.json").read_text())
    saved["auto_map"] = config["auto_map"]
    (out / "config.json").write_text(json.dumps(saved, indent=1))
    return out
