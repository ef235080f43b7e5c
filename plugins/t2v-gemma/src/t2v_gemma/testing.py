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


# Gemma 4 (google/gemma-4-*-it). RECONSTRUCTED, not the published file: no copy of the repos'
# chat_template.jinja is available offline here. Rebuilt from transformers' Gemma4Processor (``<|image|>``
# expanded to ``<|image>`` + soft tokens + ``<image|>``, ``<|video|>``) and the tokenizer's named special tokens
# (``sot_token`` ``<|turn>``, ``eot_token`` ``<turn|>``, ``soc_token`` ``<|channel>``, ``eoc_token``
# ``<channel|>``, ``think_token`` ``<|think|>``), and the prompt layout the published template renders: ``<bos>``,
# ``<|turn>{role}\n...<turn|>\n`` per message (``model`` for the assistant), a system turn opened by
# ``<|think|>\n`` when ``enable_thinking`` is on, and a generation prompt ``<|turn>model\n`` followed, with
# thinking off, by the empty thinking channel ``<|channel>thought\n<channel|>``. Tools and reasoning history
# are left out (VQAScore never uses them).
GEMMA4_CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- set loop_messages = messages -%}"
    "{%- if (enable_thinking is defined and enable_thinking) or messages[0]['role'] == 'system' -%}"
    "{{- '<|turn>system\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking -%}{{- '<|think|>\\n' -}}{%- endif -%}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}{{- messages[0]['content'] | trim -}}"
    "{%- else -%}{%- for item in messages[0]['content'] -%}{{- item['text'] | trim -}}{%- endfor -%}{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- endif -%}"
    "{{- '<turn|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{- '<|turn>' + role + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] | trim -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] | trim -}}"
    "{%- elif item['type'] == 'image' -%}{{- '<|image|>' -}}"
    "{%- elif item['type'] == 'video' -%}{{- '<|video|>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<turn|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|turn>model\\n' -}}"
    "{%- if not enable_thinking | default(false) -%}{{- '<|channel>thought\\n<channel|>' -}}{%- endif -%}"
    "{%- endif -%}"
)
# An earlier revision of the template: the generation prompt stops at ``<|turn>model\n`` and the model writes
# the empty thinking channel itself (why the reference generated 5 tokens).
GEMMA4_CHAT_TEMPLATE_OPEN = GEMMA4_CHAT_TEMPLATE.replace(
    "{%- if not enable_thinking | default(false) -%}{{- '<|channel>thought\\n<channel|>' -}}{%- endif -%}", "")

GEMMA4_NAMED_TOKENS = {
    "image_token": "<|image|>", "boi_token": "<|image>", "eoi_token": "<image|>", "audio_token": "<|audio|>",
    "boa_token": "<|audio>", "eoa_token": "<audio|>", "sot_token": "<|turn>", "eot_token": "<turn|>",
    "soc_token": "<|channel>", "eoc_token": "<channel|>", "think_token": "<|think|>",
}


def build_tiny_gemma4(out_dir: str | Path, *, patch: int = 4, pooling: int = 2, soft_tokens: int = 70,
                      hidden: int = 64, layers: int = 2, sliding_window: int = 16, vision_hidden: int = 32,
                      vision_layers: int = 2, vocab_size: int = 400,
                      per_layer_hidden: int = 8, bidirectional_vision: bool = True,
                      chat_template: str = GEMMA4_CHAT_TEMPLATE, corpus: list[str] | None = None,
                      unified: bool = False, seed: int = 0, std: float = 0.15) -> Path:
    """Write a random-weight ``Gemma4ForConditionalGeneration`` (with ``Gemma4Processor``) to ``out_dir``, or
    with ``unified`` the 12B's encoder-free ``Gemma4UnifiedForConditionalGeneration`` (patches projected
    straight into the LM, no per-layer inputs):
    ``layers - 1`` sliding-window layers (``sliding_window`` tokens) and one full layer with Gemma 4's
    proportional rope, per-layer inputs (as E2B/E4B; ``per_layer_hidden=0`` turns them off), image tokens attending to each
    other bidirectionally (``bidirectional_vision``, as the 31B), up to ``soft_tokens`` soft tokens an image
    (70 is the processor's smallest budget; the real repos: 280)."""
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_gemma_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    special = [*GEMMA4_NAMED_TOKENS.values(), "<|video|>"]
    tokenizer = build_gemma_tokenizer(out, extra_special=special, extra_special_tokens=GEMMA4_NAMED_TOKENS,
                                      chat_template=chat_template, vocab_size=vocab_size, corpus=corpus)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in special}
    sizes = dict(patch_size=patch, max_soft_tokens=soft_tokens, pooling_kernel_size=pooling)
    kind = "Gemma4Unified" if unified else "Gemma4"
    processor = getattr(tf, kind + "Processor")(
        feature_extractor=getattr(tf, kind + "AudioFeatureExtractor")(),
        image_processor=getattr(tf, kind + "ImageProcessor")(**sizes),
        video_processor=getattr(tf, kind + "VideoProcessor")(**sizes), tokenizer=tokenizer,
        chat_template=chat_template, image_seq_length=soft_tokens)
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                global_head_dim=16, sliding_window=sliding_window,
                layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"],
                final_logit_softcapping=30.0, use_bidirectional_attention="vision" if bidirectional_vision else None,
                pad_token_id=0, bos_token_id=2, eos_token_id=1)
    if unified:
        vision = dict(patch_size=patch, pooling_kernel_size=pooling, mm_embed_dim=vision_hidden, mm_posemb_size=64,
                      output_proj_dims=vision_hidden)
    else:
        text.update(vocab_size_per_layer_input=len(tokenizer), hidden_size_per_layer_input=per_layer_hidden)
        vision = dict(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden, num_hidden_layers=vision_layers,
                      num_attention_heads=2, num_key_value_heads=2, head_dim=16, patch_size=patch,
                      pooling_kernel_size=pooling, position_embedding_size=64)
    config = getattr(tf, kind + "Config")(text_config=text, vision_config=vision, audio_config=None,
                             boi_token_id=ids["<|image>"], eoi_token_id=ids["<image|>"],
                             image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"],
                             boa_token_id=ids["<|audio>"], eoa_token_index=ids["<audio|>"],
                             audio_token_id=ids["<|audio|>"])
    model = getattr(tf, kind + "ForConditionalGeneration")(config)
    _scale_weights(model, std, seed)
    # in Gemma 3's form (the published Gemma 4 file is not available offline): end of turn stops generation
    model.generation_config = tf.GenerationConfig(bos_token_id=2, eos_token_id=[1, ids["<turn|>"]], pad_token_id=0,
                                                  do_sample=True, top_k=64, top_p=0.95, temperature=1.0)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
