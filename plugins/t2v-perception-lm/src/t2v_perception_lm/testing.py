"""Tiny random-weight Perception-LM checkpoints built offline, for tests and benchmarks.

Real config (``PerceptionLMConfig``: a timm Perception Encoder vision tower, a Llama text model), model,
processor (``PerceptionLMProcessor`` with its image and video processors) and a tokenizer with the Llama 3
special tokens plus ``<|image|>`` / ``<|video|>``, at toy sizes.
"""

from __future__ import annotations

from pathlib import Path

SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the visual content that the "
          "user provides, and assist the user with a variety of tasks using natural language.")

# facebook/Perception-LM-*'s chat template, reduced (no tools): BOS, the default system prompt unless one is given,
# Llama 3 headers, <|image|> / <|video|> where the media go.
PLM_CHAT_TEMPLATE = (
    "{{- bos_token }}{%- if messages[0]['role'] != 'system' %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n" + SYSTEM + "<|eot_id|>' }}{%- endif %}"
    "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}{%- else %}"
    "{%- for content in message['content'] %}{%- if content['type'] == 'image' %}{{- '<|image|>' }}"
    "{%- elif content['type'] == 'video' %}{{- '<|video|>' }}{%- elif content['type'] == 'text' %}"
    "{{- content['text'] }}{%- endif %}{%- endfor %}{%- endif %}{{- '<|eot_id|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def build_tiny_perception_lm(out_dir: str | Path, *, tile: int = 64, patch: int = 16, max_tiles: int = 2,
                             hidden: int = 64, seed: int = 0, std: float = 0.15) -> Path:
    """Write a random-weight ``PerceptionLMForConditionalGeneration`` to ``out_dir``: ``tile`` px tiles of
    ``patch`` px patches, pooled 2 x 2 (``(tile / patch / 2)^2`` tokens per tile; 4 by default)."""
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_llama3_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_llama3_tokenizer(out, PLM_CHAT_TEMPLATE, extra_special=["<|image|>", "<|video|>"],
                                       named={"image_token": "<|image|>", "video_token": "<|video|>"},
                                       corpus=[SYSTEM])
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|image|>", "<|video|>", "<|eot_id|>", "<|begin_of_text|>",
                                                           "<|finetune_right_pad_id|>", "<|end_of_text|>")}
    vision = tf.TimmWrapperConfig(architecture="vit_pe_core_tiny_patch16_384", do_pooling=False,
                                  model_args={"embed_dim": 32, "depth": 2, "num_heads": 2, "img_size": [tile, tile]})
    text = dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                bos_token_id=ids["<|begin_of_text|>"], eos_token_id=[ids["<|end_of_text|>"], ids["<|eot_id|>"]],
                pad_token_id=ids["<|finetune_right_pad_id|>"])
    config = tf.PerceptionLMConfig(vision_config=vision, text_config=text, projector_pooling_ratio=2,
                                   image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"])
    model = tf.PerceptionLMForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    model.generation_config = tf.GenerationConfig(bos_token_id=ids["<|begin_of_text|>"],
                                                  eos_token_id=[ids["<|end_of_text|>"], ids["<|eot_id|>"]],
                                                  pad_token_id=ids["<|finetune_right_pad_id|>"])
    image_processor = tf.PerceptionLMImageProcessor(tile_size=tile, max_num_tiles=max_tiles)
    video_processor = tf.PerceptionLMVideoProcessor(size={"height": tile, "width": tile})
    processor = tf.PerceptionLMProcessor(video_processor=video_processor, image_processor=image_processor,
                                         tokenizer=tokenizer, patch_size=patch, pooling_ratio=2,
                                         chat_template=PLM_CHAT_TEMPLATE)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
