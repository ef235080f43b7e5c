"""Random-weight InternVL checkpoints built offline, for tests and benchmarks.

Everything is made with the real transformers classes (``InternVLConfig``, ``InternVLForConditionalGeneration``,
``InternVLProcessor``, ``GotOcr2ImageProcessor``, ``Qwen2Tokenizer``) and saved with ``save_pretrained``, so a
checkpoint written here loads through exactly the code path a downloaded ``OpenGVLab/InternVL3-*-hf`` repo takes.
The tokenizer is a byte-level BPE trained on a small corpus (so "Yes" and "No" are single tokens) carrying the
family's special tokens and the native chat template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .loading import CHATML_TEMPLATE as HF_CHAT_TEMPLATE

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>",
                  "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>"]

_CORPUS = [
    "Yes", "No", "Yes.", "No.", "yes", "no", "Does this figure show", "Please answer Yes or No.",
    "Please answer yes or no.", "a red cube on a table", "two dogs playing in the snow", "a cat", "Frame",
    "Is what this picture shows?", "a photo of a person riding a bicycle", "the quick brown fox jumps",
    "user assistant system", "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
] * 4


def make_tokenizer(vocab_size: int = 600) -> Any:
    """A ``Qwen2Tokenizer`` with InternVL's special tokens and named image tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    bpe.train_from_iterator(_CORPUS, trainer)
    data = json.loads(bpe.to_str())
    vocab, merges = data["model"]["vocab"], data["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in merges]
    tok = Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens={"start_image_token": "<img>", "end_image_token": "</img>",
                              "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"},
    )
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tok.chat_template = HF_CHAT_TEMPLATE
    tok.model_max_length = 32768
    for word in ("Yes", "No"):
        ids = tok.encode(word, add_special_tokens=False)
        assert len(ids) == 1, f"tiny tokenizer splits {word!r} into {ids}"
    return tok


def tiny_config(tokenizer: Any, *, tile: int = 56, patch: int = 14, vision_hidden: int = 32, vision_layers: int = 2,
                text_hidden: int = 64, text_layers: int = 2, heads: int = 4, kv_heads: int = 2,
                text_model_type: str = "qwen2") -> Any:
    """An ``InternVLConfig`` of the given (small) sizes, with token ids taken from ``tokenizer``."""
    from transformers import InternVLConfig

    vocab = len(tokenizer)
    text: dict[str, Any] = dict(model_type=text_model_type, vocab_size=vocab, hidden_size=text_hidden,
                                intermediate_size=text_hidden * 2, num_hidden_layers=text_layers,
                                num_attention_heads=heads, num_key_value_heads=kv_heads,
                                max_position_embeddings=4096, rms_norm_eps=1e-6, tie_word_embeddings=False,
                                bos_token_id=None, eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                                pad_token_id=tokenizer.pad_token_id)
    vision = dict(hidden_size=vision_hidden, num_hidden_layers=vision_layers, num_attention_heads=heads,
                  intermediate_size=vision_hidden * 2, image_size=[tile, tile], patch_size=[patch, patch],
                  use_mean_pooling=True)
    image_seq_length = int((tile // patch) ** 2 * 0.5 ** 2)
    return InternVLConfig(text_config=text, vision_config=vision, image_seq_length=image_seq_length,
                          image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"), downsample_ratio=0.5,
                          tie_word_embeddings=False)


def scale_weights(model: Any, std: float = 0.15, seed: int = 0) -> None:
    """Redraw every matrix at a larger scale, so that P("Yes") varies visibly with the image and the text."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * std)


def build_internvl_hf(out_dir: str | Path, *, seed: int = 0, std: float = 0.15, **sizes: Any) -> Path:
    """Write a random-weight native (``-hf`` layout) InternVL checkpoint with processor to ``out_dir``."""
    import torch
    from transformers import (
        GotOcr2ImageProcessor,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer()
    config = tiny_config(tok, **sizes)
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config).eval()
    scale_weights(model, std=std, seed=seed)
    model.save_pretrained(out)
    tile = config.vision_config.image_size[0]
    mean, std_ = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    image_processor = GotOcr2ImageProcessor(size={"height": tile, "width": tile}, image_mean=mean, image_std=std_,
                                            crop_to_patches=True, min_patches=1, max_patches=12)
    video_processor = InternVLVideoProcessor(size={"height": tile, "width": tile}, image_mean=mean, image_std=std_)
    processor = InternVLProcessor(image_processor=image_processor, tokenizer=tok, video_processor=video_processor,
                                  image_seq_length=config.image_seq_length, chat_template=HF_CHAT_TEMPLATE)
    processor.save_pretrained(out)
    return out
