"""Fake remote-code InternVideo2-Chat repositories (8B, HD, InternLM2.5): the entry points called, at toy size.

Laid out like ``OpenGVLab/InternVideo2-Chat-8B``: ``config.json`` with an ``auto_map`` to
``configuration_videochat2.VideoChat2Config`` / ``modeling_videochat2.InternVideo2_VideoChat2``, a model with
``pad_text_embeds(input_ids, image, video, image_idx, video_idx)`` and a language model at ``model.lm``, and a
BOS-adding tokenizer. Toy computation: 96 learned query embeddings plus the clip's patch-convolution features
averaged over frames and patches, written where ``image_idx`` is true. The InternLM2.5 one adds the remote
tokenizer (``tokenization_internlm2.InternLM2Tokenizer`` in the tokenizer config's ``auto_map``).
"""

from __future__ import annotations

import json
from pathlib import Path

from fake_repo import config_py, lm_config, save_remote_repo
from fake_xc25 import build_tokenizer

REPO = "OpenGVLab/InternVideo2-Chat-8B"
HD_REPO = "OpenGVLab/InternVideo2_chat_8B_HD"
INTERNLM_REPO = "OpenGVLab/InternVideo2_Chat_8B_InternLM2_5"

CONFIG_PY = config_py("VideoChat2Config", "videochat2")

MODELING_PY = '''
import torch
from torch import nn
from transformers import PreTrainedModel, Qwen2ForCausalLM

from .configuration_videochat2 import VideoChat2Config


class InternVideo2_VideoChat2(PreTrainedModel):
    config_class = VideoChat2Config
    _supports_sdpa = True

    def __init__(self, config):
        super().__init__(config)
        self.patch = nn.Conv2d(3, config.hidden_size, 56, 56)
        self.query = nn.Parameter(torch.zeros(96, config.hidden_size))
        self.lm = Qwen2ForCausalLM(config)
        self.post_init()

    def encode_clip(self, clip):
        b, t = clip.shape[:2]
        feats = self.patch(clip.flatten(0, 1).to(self.patch.weight.dtype)).flatten(2).mean(-1)
        return self.query[None] + feats.reshape(b, t, -1).mean(1)[:, None]

    def pad_text_embeds(self, input_ids=None, image=None, video=None, image_idx=None, video_idx=None, **kwargs):
        embeds = self.lm.get_input_embeddings()(input_ids.long()).clone()
        media, idx = (image, image_idx) if image is not None else (video, video_idx)
        if media.dim() == 6:  # HD: (1, tiles, T, 3, H, W), 96 tokens per tile
            media = media[0]
        embeds[idx] = self.encode_clip(media).reshape(-1, embeds.shape[-1]).to(embeds.dtype)
        return embeds
'''


def write_ivid2_repo(out: Path, seed: int = 0) -> Path:
    """Write the code files, the tokenizer and random weights (saved through the remote classes)."""
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(out)
    auto_map = {"AutoConfig": "configuration_videochat2.VideoChat2Config",
                "AutoModel": "modeling_videochat2.InternVideo2_VideoChat2"}
    config = {"model_type": "videochat2", "architectures": ["InternVideo2_VideoChat2"], "auto_map": auto_map,
              **lm_config(len(tok), bos_token_id=0, eos_token_id=1)}
    return save_remote_repo(out, {"configuration_videochat2.py": CONFIG_PY, "modeling_videochat2.py": MODELING_PY},
                            config, seed=seed)


# InternLM2's tokenizer exists only as remote code (``tokenization_internlm2.py``, named by the tokenizer
# config's auto_map); the stand-in keeps the same BOS-adding vocabulary in a fast tokenizer file.
TOKENIZATION_PY = '''
from transformers import PreTrainedTokenizerFast


class InternLM2Tokenizer(PreTrainedTokenizerFast):
    pass
'''


def write_ivid2_internlm_repo(out: Path, seed: int = 2) -> Path:
    """As :func:`write_ivid2_repo`, with the InternLM2.5 repo's remote tokenizer (no transformers class of that
    name exists, so it loads only through ``trust_remote_code=True``)."""
    write_ivid2_repo(out, seed=seed)
    (out / "tokenization_internlm2.py").write_text(TOKENIZATION_PY)
    cfg = json.loads((out / "tokenizer_config.json").read_text())
    cfg.update(tokenizer_class="InternLM2Tokenizer",
               auto_map={"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]})
    (out / "tokenizer_config.json").write_text(json.dumps(cfg))
    return out
