"""Tiny random-weight Qwen-VL checkpoints built offline, for tests and benchmarks of t2v-hf and its families.

Every checkpoint uses the REAL transformers config, model, tokenizer and processor classes at toy sizes and
is written with ``save_pretrained``, so loading it exercises the production path (``AutoProcessor`` +
``AutoModelForImageTextToText``). Needs transformers >= 4.57 (Qwen3-VL and the video processors).

    folder = build_tiny_qwen_vl(tmp_path / "ckpt", family="qwen2_vl")
    make_fake_hf_cache(tmp_path / "hub", "Qwen/Qwen2-VL-2B-Instruct", folder)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QWEN_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                       "<|image_pad|>", "<|video_pad|>", "<|vision_pad|>"]

# The Qwen2-VL / Qwen2.5-VL chat template (default system prompt), as shipped in the real repos' files.
QWEN2_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == "
    "'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)

# Qwen3-VL's template writes no default system prompt (a reduced form of the real one: no tools, no thinking).
QWEN3_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or "
    "'image' in content %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' "
    "in content %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)

# Qwen3.5's template, reduced (no tools, no reasoning history): no default system prompt; the generation prompt
# opens a thinking block, or writes an empty one when enable_thinking=False.
QWEN3_5_CHAT_TEMPLATE = QWEN3_CHAT_TEMPLATE.replace(
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and enable_thinking is "
    "false %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}{% endif %}")
# Qwen3-VL-*-Thinking's template, reduced: the generation prompt always opens a thinking block.
QWEN3_THINKING_CHAT_TEMPLATE = QWEN3_CHAT_TEMPLATE.replace(
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}")
THINK_TOKENS = ["<think>", "</think>"]

_CORPUS = [
    "Yes", "No", "yes", "no", "Yes.", "No.", "Does this image show", "Does this figure show", "Please answer yes or no.",
    "a red cube on top of a blue sphere", "two dogs playing in the snow", "three apples and a banana",
    "The brown dog chases the black dog around the tree.", "someone talks on the phone", "You are a helpful assistant.",
    "system", "user", "assistant", "Is this what the picture shows?", "a cat", "a video of a moving square",
]


def build_qwen_tokenizer(out_dir: str | Path, vocab_size: int = 400, chat_template: str = QWEN2_CHAT_TEMPLATE,
                         corpus: list[str] | None = None, extra_special: list[str] | None = None) -> Any:
    """Train a byte-level BPE on a small corpus (so 'Yes' and 'No' are single tokens), wrap it in the real
    ``Qwen2Tokenizer`` class with the Qwen special tokens (ids 0..7), save it to ``out_dir`` and return it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    specials = QWEN_SPECIAL_TOKENS + list(extra_special or [])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((_CORPUS + list(corpus or [])) * 20, trainer=trainer)
    tok.save(str(out / "tokenizer.json"))
    tok.model.save(str(out))  # vocab.json + merges.txt, as the real repos ship them
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                      "special": True} for i, t in enumerate(specials)}
    config = {"added_tokens_decoder": added, "additional_special_tokens": specials[1:],
              "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
              "clean_up_tokenization_spaces": False, "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer",
              "chat_template": chat_template}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    return AutoTokenizer.from_pretrained(str(out))


def _scale_weights(model: Any, std: float, seed: int) -> None:
    """Redraw matrices at a larger scale so that P('Yes') varies visibly with the image and the text."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * std)


def build_tiny_qwen_vl(out_dir: str | Path, family: str = "qwen2_vl", *, hidden: int = 64, layers: int = 2,
                       heads: int = 4, kv_heads: int = 2, vision_depth: int = 2, vision_hidden: int = 32,
                       vocab_size: int = 400, min_pixels: int | None = None, max_pixels: int | None = None,
                       seed: int = 0, std: float = 0.15, corpus: list[str] | None = None,
                       generation_config: dict[str, Any] | None = None, window_size: int = 56,
                       fullatt_block_indexes: list[int] | None = None) -> Path:
    """Write a random-weight ``family`` checkpoint to ``out_dir``: ``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``,
    ``qwen3_vl_thinking`` (Qwen3-VL with the Thinking template) or ``qwen3_5`` (Qwen3.5: hybrid layers, linear
    attention then full attention, with its thinking template).

    Returns the folder: config, safetensors weights, tokenizer with the Qwen special tokens and chat template,
    image and video processors. ``min_pixels`` / ``max_pixels`` bound the image size the processor resizes to
    (the defaults keep images at 56..112 px so tests stay fast); ``corpus`` adds tokenizer training text;
    ``generation_config`` adds fields to the saved ``generation_config.json`` (e.g. a published repo's).
    ``window_size`` (pixels) and ``fullatt_block_indexes`` (default: the last block) shape Qwen2.5-VL's windowed
    vision attention; the published checkpoints use 112 and every eighth block.
    """
    import torch
    import transformers as tf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    template = {"qwen3_vl": QWEN3_CHAT_TEMPLATE, "qwen3_vl_thinking": QWEN3_THINKING_CHAT_TEMPLATE,
                "qwen3_5": QWEN3_5_CHAT_TEMPLATE}.get(family, QWEN2_CHAT_TEMPLATE)
    thinking = family in ("qwen3_vl_thinking", "qwen3_5")
    tokenizer = build_qwen_tokenizer(out, vocab_size=vocab_size, chat_template=template, corpus=corpus,
                                     extra_special=THINK_TOKENS if thinking else None)
    if family == "qwen3_vl_thinking":
        family = "qwen3_vl"
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
    common = dict(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                  vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    head_dim = hidden // heads
    text = dict(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=4096,
                rms_norm_eps=1e-5, bos_token_id=None, eos_token_id=ids["<|im_end|>"], pad_token_id=0)
    # mrope sections (temporal, height, width) cover head_dim / 2 rotary frequencies
    half = head_dim // 2
    section = [half - 2 * (half // 4), half // 4, half // 4]
    # transformers 4.49 (the reference's) has no video processor class and no nested text config
    legacy = not hasattr(tf, "Qwen2VLVideoProcessor")
    if legacy and family != "qwen2_5_vl":
        raise ValueError(f"family {family!r} needs transformers >= 4.57 here; 4.49 builds only 'qwen2_5_vl'")
    if family in ("qwen2_vl", "qwen2_5_vl"):
        factor = 28
        text["rope_parameters"] = {"rope_type": "default", "mrope_section": section, "rope_theta": 10000.0}
        if family == "qwen2_vl":
            vision = dict(depth=vision_depth, embed_dim=vision_hidden, hidden_size=hidden, num_heads=2, mlp_ratio=2,
                          patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
            config = tf.Qwen2VLConfig(text_config=text, vision_config=vision, **common)
            model = tf.Qwen2VLForConditionalGeneration(config)
            proc_cls, img_cls, vid_cls = tf.Qwen2VLProcessor, tf.Qwen2VLImageProcessor, tf.Qwen2VLVideoProcessor
        else:
            vision = dict(depth=vision_depth, hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                          num_heads=2, out_hidden_size=hidden, patch_size=14, spatial_merge_size=2,
                          temporal_patch_size=2, window_size=window_size,
                          fullatt_block_indexes=fullatt_block_indexes or [vision_depth - 1],
                          tokens_per_second=2)
            if legacy:  # transformers 4.49: flat text fields, mrope in rope_scaling
                flat = {k: v for k, v in text.items() if k != "rope_parameters"}
                config = tf.Qwen2_5_VLConfig(**flat, vision_config=vision, rope_theta=10000.0,
                                             rope_scaling={"type": "mrope", "mrope_section": section}, **common)
            else:
                config = tf.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
            model = tf.Qwen2_5_VLForConditionalGeneration(config)
            proc_cls, img_cls = tf.Qwen2_5_VLProcessor, tf.Qwen2VLImageProcessor
            vid_cls = None if legacy else tf.Qwen2VLVideoProcessor
        mean_std: dict[str, Any] = {}
    elif family == "qwen3_vl":
        factor = 32
        text["head_dim"] = head_dim
        text["rope_parameters"] = {"rope_type": "default", "mrope_section": section, "mrope_interleaved": True,
                                   "rope_theta": 10000.0}
        vision = dict(depth=vision_depth, hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_heads=2,
                      out_hidden_size=hidden, patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                      num_position_embeddings=64, deepstack_visual_indexes=[0])
        config = tf.Qwen3VLConfig(text_config=text, vision_config=vision, **common)
        model = tf.Qwen3VLForConditionalGeneration(config)
        proc_cls, img_cls, vid_cls = tf.Qwen3VLProcessor, tf.Qwen2VLImageProcessor, tf.Qwen3VLVideoProcessor
        mean_std = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    elif family == "qwen3_5":
        factor = 32
        text.update(head_dim=head_dim, layer_types=["linear_attention"] * (layers - 1) + ["full_attention"],
                    linear_conv_kernel_dim=4, linear_key_head_dim=8, linear_value_head_dim=8, linear_num_key_heads=2,
                    linear_num_value_heads=4)
        # partial rotary (a quarter of head_dim), so the mrope sections cover head_dim / 8 frequencies
        quarter = head_dim // 8
        text["rope_parameters"] = {"rope_type": "default", "mrope_section": [quarter - 2, 1, 1],
                                   "mrope_interleaved": True, "rope_theta": 10000.0, "partial_rotary_factor": 0.25}
        vision = dict(depth=vision_depth, hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_heads=2,
                      out_hidden_size=hidden, patch_size=16, spatial_merge_size=2, temporal_patch_size=2,
                      num_position_embeddings=64)
        config = tf.Qwen3_5Config(text_config=text, vision_config=vision, **common)
        model = tf.Qwen3_5ForConditionalGeneration(config)
        proc_cls, img_cls, vid_cls = tf.Qwen3VLProcessor, tf.Qwen2VLImageProcessor, tf.Qwen3VLVideoProcessor
        mean_std = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    else:
        raise ValueError("family must be 'qwen2_vl', 'qwen2_5_vl', 'qwen3_vl', 'qwen3_vl_thinking' or 'qwen3_5', "
                         f"got {family!r}")
    lo = min_pixels if min_pixels is not None else (2 * factor) ** 2
    hi = max_pixels if max_pixels is not None else (4 * factor) ** 2
    patch = factor // 2
    size = {"shortest_edge": lo, "longest_edge": hi}
    if legacy:
        image_processor = img_cls(min_pixels=lo, max_pixels=hi, patch_size=patch, merge_size=2, temporal_patch_size=2)
        processor = proc_cls(image_processor=image_processor, tokenizer=tokenizer, chat_template=template)
    else:
        image_processor = img_cls(size=size, patch_size=patch, merge_size=2, temporal_patch_size=2, **mean_std)
        video_processor = vid_cls(size=size, patch_size=patch, merge_size=2, temporal_patch_size=2, **mean_std)
        processor = proc_cls(image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor,
                             chat_template=template)
    _scale_weights(model, std, seed)
    model.eval()
    for key, value in (generation_config or {}).items():
        setattr(model.generation_config, key, value)
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out


# A LLaVA-1.5-style template ("USER: <image>\n... ASSISTANT:"), for a model with plain 1-D positions.
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() }}: {% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for c in message['content'] %}{% if c['type'] == 'image' %}<image>\n"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def build_tiny_llava(out_dir: str | Path, *, seed: int = 0, std: float = 0.15) -> Path:
    """Write a random-weight ``LlavaForConditionalGeneration`` (CLIP vision tower, Llama language model, 1-D
    rope) with a ``LlavaProcessor`` to ``out_dir``: the generic ``hf-vlm`` path for a non-Qwen family."""
    import torch
    import transformers as tf

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tok = build_qwen_tokenizer(out, chat_template=LLAVA_CHAT_TEMPLATE)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    vision = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=56, patch_size=14, projection_dim=32)
    text = dict(model_type="llama", vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=0,
                eos_token_id=tok.eos_token_id, bos_token_id=None)
    config = tf.LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<image>"),
                            vision_feature_layer=-1, vision_feature_select_strategy="full")
    model = tf.LlavaForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    image_processor = tf.CLIPImageProcessor(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})
    # "full" features keep the CLS token: one more image token than patches
    processor = tf.LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=14,
                                  vision_feature_select_strategy="full", chat_template=LLAVA_CHAT_TEMPLATE,
                                  num_additional_image_tokens=1)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out


# Gemma's first special tokens, at their real ids (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <mask> 4).
GEMMA_SPECIAL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]


def build_gemma_tokenizer(out_dir: str | Path, *, extra_special: list[str] | None = None, vocab_size: int = 400,
                          chat_template: str | None = None, corpus: list[str] | None = None,
                          extra_special_tokens: dict[str, str] | None = None) -> Any:
    """Train a small BPE the way Gemma's tokenizer splits text (spaces as ``▁``, merged with the previous
    piece, byte fallback), wrap it in the real ``GemmaTokenizer`` class with Gemma's special tokens at their
    ids (plus ``extra_special``, e.g. ``<start_of_turn>``), save it to ``out_dir`` and return it.
    ``add_bos_token`` is on, as in the real repos."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import GemmaTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specials = GEMMA_SPECIAL_TOKENS + list(extra_special or [])
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    # as GemmaTokenizer builds it (the split pattern never matches after the normalizer: no pre-splitting)
    tok.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="merged_with_previous")
    text = _CORPUS + list(corpus or []) + ["Frame at 0.25s: 1.5s: 12.75s:\n", "0123456789.,:;!?\"'()-_{}[]\n"]
    alphabet = sorted({ch for line in text for ch in line.replace(" ", "\u2581")})
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(text * 20, trainer=trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]]
    kwargs: dict[str, Any] = {"add_bos_token": True, "add_eos_token": False}
    if extra_special_tokens:
        kwargs["extra_special_tokens"] = extra_special_tokens
    tokenizer = GemmaTokenizer(vocab=vocab, merges=merges, **kwargs)
    tokenizer.add_special_tokens({"additional_special_tokens": list(extra_special or [])},
                                 replace_extra_special_tokens=False)
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(str(out))
    return tokenizer


LLAMA3_SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|finetune_right_pad_id|>", "<|start_header_id|>",
                         "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]


def build_llama3_tokenizer(out_dir: str | Path, chat_template: str, *, extra_special: list[str] | None = None,
                           named: dict[str, str] | None = None, corpus: list[str] | None = None,
                           vocab_size: int = 500) -> Any:
    """A byte-level BPE with the Llama 3 special tokens by their exact strings (then ``extra_special``, e.g.
    ``<|image|>``), whose post-processor adds ``<|begin_of_text|>`` like the real ``tokenizer.json``, in the
    tokenizers-backed class; ``named`` sets attributes such as ``image_token``. Saved to ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=LLAMA3_SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((_CORPUS + list(corpus or [])) * 20, trainer=trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    kwargs: dict[str, Any] = {"extra_special_tokens": named} if named else {}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                        pad_token="<|finetune_right_pad_id|>", model_max_length=131072, **kwargs)
    tokenizer.add_special_tokens({"additional_special_tokens": LLAMA3_SPECIAL_TOKENS[1:] + list(extra_special or [])},
                                 replace_extra_special_tokens=False)
    tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(str(out))
    return tokenizer


def build_fake_hub(root: str | Path, checkpoints: dict[Any, tuple[str, Any]]) -> tuple[Path, dict[Any, Path]]:
    """Build tiny checkpoints and lay them out as an offline Hugging Face cache, for a family's conftest.

    ``checkpoints`` maps a key to ``(repo id, build)``, where ``build(folder)`` writes a checkpoint into
    ``folder`` (under ``root``) and returns it; each is then stored under its repo id in ``root / "hub"``.
    Returns the cache folder and ``{key: checkpoint folder}``."""
    from t2v_core.testing import make_fake_hf_cache

    root = Path(root)
    folders = {}
    for k, (key, (repo, build)) in enumerate(checkpoints.items()):
        folders[key] = Path(build(root / f"ckpt{k}"))
        make_fake_hf_cache(root / "hub", repo, folders[key])
    return root / "hub", folders


def use_fake_hub(monkeypatch: Any, hub: str | Path) -> None:
    """Point the Hugging Face libraries at the fake cache ``hub`` with downloads off, for one test (pytest's
    ``monkeypatch`` undoes it)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def random_images(shapes: list[tuple[int, int]], seed: int = 0) -> list[Any]:
    """Random RGB PIL images of the given ``(height, width)`` shapes (a seeded generator: the same each run)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in shapes]


def side_by_side(frames: list[Any], num_frames: int, gap: int = 10) -> Any:
    """The reference's concat video mode, written independently of the scorer (for tests): ``num_frames``
    frames spread evenly over ``frames`` (first and last included, indices rounded half up), left to right on
    a black canvas, ``gap`` pixels apart. Frames must share one height."""
    import numpy as np
    from PIL import Image

    idx = [int(np.floor(x + 0.5)) for x in np.linspace(0, len(frames) - 1, num_frames)]
    h = frames[0].size[1]
    parts = []
    for k, i in enumerate(idx):
        if k:
            parts.append(np.zeros((h, gap, 3), dtype=np.uint8))
        parts.append(np.asarray(frames[i]))
    return Image.fromarray(np.concatenate(parts, axis=1))


def record_prefix_reuse(monkeypatch: Any) -> list[bool]:
    """Record, for every media item the scorer tries to score through a shared prefix, whether it did (``True``)
    or fell back to whole prompts (``False``); returns the list the calls append to (pytest's ``monkeypatch``
    restores the scorer afterwards)."""
    from t2v_hf import scorer as scorer_mod

    used: list[bool] = []
    original = scorer_mod.HFVLMScorer._score_shared_prefix

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        row = original(self, *args, **kwargs)
        used.append(row is not None)
        return row

    monkeypatch.setattr(scorer_mod.HFVLMScorer, "_score_shared_prefix", spy)
    return used


def batch_whole_prompts_on_cpu(monkeypatch: Any) -> None:
    """For tests: whole prompts batched by ``batch_size`` on this CPU, as a GPU batches them (a CPU user's
    scorer takes them one by one: ``HFVLMScorer.cpu_whole_prompt_batch``), so that the batched paths stay
    under test. Family conftests call it from an autouse fixture."""
    from .scorer import HFVLMScorer

    monkeypatch.setattr(HFVLMScorer, "cpu_whole_prompt_batch", None)


def max_rel(a: Any, b: Any) -> float:
    """The largest relative difference between two score tensors (float64)."""
    import torch

    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def check_scoring_paths(name: str, images: list[Any], texts: list[str], want: Any, monkeypatch: Any, *,
                        prefix_reuse: bool = True, tol: float = 1e-5) -> Any:
    """Assert that model ``name`` gives the M x N scores ``want`` (an independent computation) along every
    path: M x N batched (through the shared prefix when ``prefix_reuse``, checked to be taken), pair by pair,
    whole prompts batched, batch size 1, and media and texts in reversed order. Returns the M x N scores."""
    import t2v_core

    used = record_prefix_reuse(monkeypatch)
    score = t2v_core.VQAScore(model=name, device="cpu", batch_size=2)
    got = score(images=images, texts=texts)
    if prefix_reuse:
        assert used == [True] * len(images), f"the shared-prefix path was not taken: {used}"
    assert max_rel(got, want) < tol, "M x N"
    pairs = [score(images=[im], texts=[t])[0, 0] for im, t in zip(images, texts)]
    assert max([max_rel(p, want[k, k]) for k, p in enumerate(pairs)]) < tol, "pair by pair"
    whole = t2v_core.VQAScore(model=name, device="cpu", prefix_reuse=False, batch_size=4)
    whole.model.cpu_whole_prompt_batch = None  # the batched path a GPU takes, run on this CPU
    assert max_rel(whole(images=images, texts=texts), want) < tol, "whole prompts, left padded, batched"
    one = t2v_core.VQAScore(model=name, device="cpu", batch_size=1)
    assert max_rel(one(images=images, texts=texts), got) < tol, "batch size 1"
    flipped = score(images=images[::-1], texts=texts[::-1])
    assert max_rel(flipped.flip(0).flip(1), got) < tol, "reversed order"
    return got
