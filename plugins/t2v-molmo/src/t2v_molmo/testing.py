"""Tiny random-weight Molmo2 checkpoints built offline, for tests and benchmarks.

Real config (``Molmo2Config``: a ViT, a pooling adapter, a Qwen3-style text model), model
(``Molmo2ForConditionalGeneration``), processor (``Molmo2Processor`` with ``Molmo2ImageProcessor`` and
``Molmo2VideoProcessor``) and a ``Qwen2Tokenizer`` at toy sizes, saved with ``save_pretrained``, with what the
published ``allenai/Molmo2-4B`` repo ships besides the weights: its chat template (verbatim), its special tokens
(BOS and EOS both ``<|im_end|>``, pad ``<|endoftext|>``, the image / video tokens in the same order after the
base vocabulary, which the output head does not cover), its image processor settings (scaled down) and its
``generation_config.json`` (token ids only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# allenai/Molmo2-4B's chat_template.jinja, verbatim (the media tokens come first, before the user turn)
MOLMO2_CHAT_TEMPLATE = (
    "{% set DEMO_STYLES = ['point_count','pointing','cosyn_point','user_qa','long_caption','short_caption',"
    "'video_long_caption','video_short_caption','video_point_track_per_frame','video_point_track_start_end',"
    "'video_point_track_all_frames','video_single_point_track_start_end','video_transcript',"
    "'video_clip_caption_start_end','video_clip_caption_start_end_in_seconds','video_clip_transcript_start_end',"
    "'video_clip_transcript_start_end_in_seconds','video_frame_caption_timestamp',"
    "'video_frame_caption_timestamp_in_seconds','correction_qa','text_sft','video_point','video_point_count',"
    "'video_count','video_count_point','multi_image_pointing','multi_image_counting','multi_image_point_then_count',"
    "'multi_image_count_then_point','demo','a_okvqa_mc','ai2_diagram_no_letter','ai2_diagram','science_qa',"
    "'multi_image_mc','multi_image_mc_exp','mantis_instruct_mc','video_multiple_choice',"
    "'video_multiple_choice_count_without_pointing','video_multiple_choice_multiple_correct',"
    "'video_multiple_choice_w_subtitle'] %}"
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% set has_subtitle = messages and messages[0]['role'].lower() == 'subtitle' %}"
    "{% for message in messages %}{% if message['content'] is not string %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% elif content['type'] == 'video' or 'video' in content or 'video_url' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% endif %}{% endfor %}{% endif %}{% endfor %}"
    "{% if image_count.value == 1 %}{{ '<|image|>' }}{% elif image_count.value > 1 %}"
    "{% for i in range(image_count.value) %}{{ 'Image ' ~ (i + 1) ~ '<|image|>' }}{% endfor %}{% endif %}"
    "{% for _ in range(video_count.value) %}{{ '<|video|>' }}{% endfor %}"
    "{% if has_subtitle %}{{ messages[0]['content'] }}{% endif %}"
    "{% for message in messages %}{% set role = message['role'].lower() %}"
    "{% if role == 'subtitle' %}{% continue %}{% endif %}"
    "{% set conv_index = loop.index - (1 if has_subtitle else 0) %}"
    "{%- if (conv_index % 2 == 1 and role != 'user') or (conv_index % 2 == 0 and role != 'assistant') -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}"
    "{% if message['content'] is string %}{% set text_content = message['content'] %}{% else %}"
    "{% set m = namespace(text='') %}{% for content in message['content'] %}{% if content['type'] == 'text' %}"
    "{% if content['style'] is defined and content['style'] not in DEMO_STYLES %}"
    "{% set seg = content['style'] ~ ': ' ~ content['text'] %}{% else %}{% set seg = content['text'] %}{% endif %}"
    "{% set m.text = m.text ~ ('' if not m.text else ' ') ~ seg %}{% endif %}{% endfor %}"
    "{% set text_content = m.text %}{% endif %}"
    "{% if role == 'user' %}{% if not (has_subtitle and loop.index == 2) and not (not has_subtitle and loop.first) %}"
    "{{ '<|im_end|>\\n' }}{% endif %}{{ '<|im_start|>user\\n' }}{{ text_content }}{{ '<|im_end|>\\n' }}"
    "{% else %} {# assistant #}{{ '<|im_start|>assistant\\n' }}{{ text_content }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Qwen3's special tokens as in the published tokenizer (ids 151643.. there; 0.. here)
BASE_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
# the image / video tokens, in the published order (ids 151936..151945 there, right after the base vocabulary
# the output head covers; here right after the tiny base vocabulary)
MEDIA_SPECIAL = ["<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<low_res_im_start>", "<|image|>", "<im_low>",
                 "<frame_start>", "<frame_end>", "<|video|>"]

_CORPUS = [
    "Yes", "No", "yes", "no", "Does this figure show", "Please answer Yes or No.", "a red cube on top of a blue sphere",
    "two dogs playing in the snow", "three apples and a banana", "user", "assistant", "Describe the image.",
    "What is it?", "0.0 0.5 1.0 1.5 2.0 2.5 3.0 3.5 4.0 4.5 5.0 Image 1 2 3",
]


def build_molmo2_tokenizer(out_dir: str | Path, *, vocab_size: int = 400, corpus: list[str] | None = None) -> Any:
    """A byte-level BPE (``Yes`` one token) in the real ``Qwen2Tokenizer`` class, with the published special
    tokens: BOS = EOS = ``<|im_end|>``, pad ``<|endoftext|>``, the media tokens last."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import AutoTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=BASE_SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator((_CORPUS + list(corpus or [])) * 20, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in MEDIA_SPECIAL])
    tok.save(str(out / "tokenizer.json"))
    specials = BASE_SPECIAL + MEDIA_SPECIAL
    added = {str(tok.token_to_id(t)): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                       "single_word": False, "special": t not in ("<think>", "</think>")}
             for t in specials}
    config = {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added,
              "additional_special_tokens": MEDIA_SPECIAL, "bos_token": "<|im_end|>", "eos_token": "<|im_end|>",
              "pad_token": "<|endoftext|>", "unk_token": None, "clean_up_tokenization_spaces": False,
              "errors": "replace", "model_max_length": 1010000, "split_special_tokens": False,
              "tokenizer_class": "Qwen2Tokenizer"}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    return AutoTokenizer.from_pretrained(str(out))


def build_tiny_molmo2(out_dir: str | Path, *, crop: int = 56, patch: int = 14, max_crops: int = 4,
                      overlap: int = 1, hidden: int = 64, layers: int = 2, vision_hidden: int = 32,
                      vision_layers: int = 3, video_pooling: int = 2,
                      vocab_size: int = 400, qk_norm_type: str = "qwen3", seed: int = 0, std: float = 0.15,
                      corpus: list[str] | None = None) -> Path:
    """Write a random-weight ``Molmo2ForConditionalGeneration`` to ``out_dir``: ``crop`` px crops of ``patch`` px
    patches pooled 2 x 2 (the published pooling) for images (a low-res view plus up to ``max_crops`` overlapping
    crops), ``video_pooling`` x ``video_pooling`` for video frames (one ``crop`` px view each; published: 3 x 3).
    ``qk_norm_type="olmo"`` gives the Molmo2-O text layout."""
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_molmo2_tokenizer(out, vocab_size=vocab_size, corpus=corpus)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in BASE_SPECIAL + MEDIA_SPECIAL}
    base_vocab = ids["<im_start>"]  # the output head covers the ids before the media tokens, as published
    heads = 4
    vision = dict(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_hidden_layers=vision_layers,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=vision_hidden // 2,
                  image_size=[crop, crop], patch_size=patch)
    # the published adapter reads ViT layers [-3, -9]; here the last and the first
    adapter = dict(vision_feature_layer=[-1, 0], hidden_size=vision_hidden, num_attention_heads=2,
                   num_key_value_heads=2, head_dim=vision_hidden // 2, intermediate_size=2 * hidden,
                   text_hidden_size=hidden)
    text = dict(hidden_size=hidden, num_attention_heads=heads, num_key_value_heads=2, head_dim=hidden // heads,
                vocab_size=base_vocab, additional_vocab_size=len(tokenizer) - base_vocab, num_hidden_layers=layers,
                intermediate_size=2 * hidden, max_position_embeddings=4096, qk_norm_type=qk_norm_type,
                rope_parameters={"rope_type": "default", "rope_theta": 5000000.0})
    config = tf.Molmo2Config(vision_config=vision, adapter_config=adapter, text_config=text,
                             image_start_token_id=ids["<im_start>"], low_res_image_start_token_id=ids["<low_res_im_start>"],
                             image_end_token_id=ids["<im_end>"], image_patch_id=ids["<im_patch>"],
                             frame_start_token_id=ids["<frame_start>"], frame_end_token_id=ids["<frame_end>"])
    model = tf.Molmo2ForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    # allenai/Molmo2-4B's generation_config.json (ids moved to the tiny vocabulary)
    model.generation_config = tf.GenerationConfig(bos_token_id=ids["<|im_end|>"], eos_token_id=ids["<|im_end|>"],
                                                  pad_token_id=ids["<|endoftext|>"])
    # allenai/Molmo2-4B's preprocessor_config.json at toy sizes (published: 378 px crops, max_crops 8, margins 4)
    image_processor = tf.Molmo2ImageProcessor(size={"height": crop, "width": crop}, patch_size=patch,
                                              pooling_size=[2, 2], max_crops=max_crops,
                                              overlap_margins=[overlap, overlap], image_mean=[0.5] * 3,
                                              image_std=[0.5] * 3, resample=2, do_convert_rgb=True)
    video_processor = tf.Molmo2VideoProcessor(size={"height": crop, "width": crop}, patch_size=patch,
                                              pooling_size=[video_pooling, video_pooling])
    processor = tf.Molmo2Processor(image_processor=image_processor, video_processor=video_processor,
                                   tokenizer=tokenizer, chat_template=MOLMO2_CHAT_TEMPLATE)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
