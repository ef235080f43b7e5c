"""Tiny random-weight Gemma 3 checkpoints built offline, for tests and benchmarks.

Real config, model, tokenizer (``GemmaTokenizer``) and processor (``Gemma3Processor`` + ``Gemma3ImageProcessor``)
classes at toy sizes, saved with ``save_pretrained``, with the published ``google/gemma-3-*-it`` chat template,
special tokens (``<bos>`` 2, ``<start_of_turn>``, ``<end_of_turn>``, ``<start_of_image>``, ``<end_of_image>``,
``<image_soft_token>``) and generation config.
"""

from __future__ import annotations

from pathlib import Path

# google/gemma-3-4b-it's chat template (tokenizer_config.json / chat_template.json), verbatim
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\\n'}}\n"
    "{%- endif -%}\n"
)

GEMMA3_SPECIAL = ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>"]


def build_tiny_gemma3(out_dir: str | Path, *, image_size: int = 56, patch: int = 14, tokens_per_image: int = 4,
                      hidden: int = 64, layers: int = 2, sliding_window: int = 16, vision_hidden: int = 32,
                      vision_layers: int = 2, vocab_size: int = 400, corpus: list[str] | None = None,
                      seed: int = 0, std: float = 0.15) -> Path:
    """Write a random-weight ``Gemma3ForConditionalGeneration`` to ``out_dir``; ``tokens_per_image`` (a square;
    the real repos: 256) image tokens per image. The first layer uses sliding-window attention
    (``sliding_window`` tokens), the second full attention, as Gemma 3's 5:1 pattern cut short."""
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_gemma_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    named = {"image_token": "<image_soft_token>", "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>"}
    tokenizer = build_gemma_tokenizer(out, extra_special=GEMMA3_SPECIAL, extra_special_tokens=named,
                                      chat_template=GEMMA3_CHAT_TEMPLATE, vocab_size=vocab_size, corpus=corpus)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in GEMMA3_SPECIAL}
    image_processor = tf.Gemma3ImageProcessor(size={"height": image_size, "width": image_size}, resample=2,
                                              image_mean=[0.5] * 3, image_std=[0.5] * 3, do_pan_and_scan=False)
    processor = tf.Gemma3Processor(image_processor=image_processor, tokenizer=tokenizer,
                                   chat_template=GEMMA3_CHAT_TEMPLATE, image_seq_length=tokens_per_image)
    vision = dict(model_type="siglip_vision_model", hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                  num_hidden_layers=vision_layers, num_attention_heads=2, image_size=image_size, patch_size=patch)
    layer_types = (["sliding_attention"] * (layers - 1) + ["full_attention"])
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                num_attention_heads=4, num_key_value_heads=1, head_dim=16, max_position_embeddings=2048,
                sliding_window=sliding_window, layer_types=layer_types, query_pre_attn_scalar=16,
                pad_token_id=0, bos_token_id=2, eos_token_id=1)
    config = tf.Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=tokens_per_image,
                             boi_token_index=ids["<start_of_image>"], eoi_token_index=ids["<end_of_image>"],
                             image_token_index=ids["<image_soft_token>"])
    model = tf.Gemma3ForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    # google/gemma-3-4b-it's generation_config.json (its end-of-turn id moved to the tiny vocabulary)
    model.generation_config = tf.GenerationConfig(bos_token_id=2, eos_token_id=[1, ids["<end_of_turn>"]],
                                                  pad_token_id=0, do_sample=True, top_k=64, top_p=0.95,
                                                  cache_implementation="hybrid")
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
