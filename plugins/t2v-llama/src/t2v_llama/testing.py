"""Tiny random-weight Llama-3.2-Vision (Mllama) checkpoints built offline, for tests and benchmarks.

Real config, model (``MllamaForConditionalGeneration``), tokenizer (a byte-level BPE in the tokenizers-backed
class, with the Llama 3 special tokens by their exact strings and the BOS-adding post-processor of the real
``tokenizer.json``) and processor (``MllamaProcessor`` + ``MllamaImageProcessor``) classes at toy sizes.
"""

from __future__ import annotations

import json
from pathlib import Path

from t2v_hf.testing import LLAMA3_SPECIAL_TOKENS as LLAMA3_SPECIAL

# meta-llama/Llama-3.2-11B-Vision-Instruct's chat template, reduced (no tools, no custom date): BOS first; with
# an image, no system message (the real template refuses one); without, the dated system block.
MLLAMA_CHAT_TEMPLATE = (
    "{{- bos_token }}\n"
    "{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}\n"
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
    "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}\n"
    "{%- set image_ns = namespace(has_images=false) %}"
    "{%- for message in messages %}{%- for content in message['content'] %}{%- if content['type'] == 'image' %}"
    "{%- set image_ns.has_images = true %}{%- endif %}{%- endfor %}{%- endfor %}\n"
    "{%- if image_ns.has_images and not system_message == \"\" %}"
    "{{- raise_exception(\"Prompting with images is incompatible with system messages.\") }}{%- endif %}\n"
    "{%- if not image_ns.has_images %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"Today Date: \" + date_string + \"\\n\\n\" }}"
    "{{- system_message }}{{- \"<|eot_id|>\" }}{%- endif %}\n"
    "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}{%- else %}"
    "{%- for content in message['content'] %}{%- if content['type'] == 'image' %}{{- '<|image|>' }}"
    "{%- elif content['type'] == 'text' %}{{- content['text'] }}{%- endif %}{%- endfor %}{%- endif %}"
    "{{- '<|eot_id|>' }}{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}\n"
)

# meta-llama/Llama-Guard-3-11B-Vision's chat template, reduced (the default category list, the last user turn
# only): the user turn wrapped into the safety-classification instruction, answered "safe" or "unsafe".
GUARD_CATEGORIES = ("S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\n"
                    "S5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\n"
                    "S9: Indiscriminate Weapons.\nS10: Hate.\nS11: Suicide & Self-Harm.\nS12: Sexual Content.\n"
                    "S13: Elections.\n")
GUARD_CHAT_TEMPLATE = (
    "{%- set ns = namespace(text='', image=false) %}{%- for message in messages %}"
    "{%- for content in message['content'] %}{%- if content['type'] == 'image' %}{%- set ns.image = true %}"
    "{%- elif content['type'] == 'text' %}{%- set ns.text = content['text'] %}{%- endif %}{%- endfor %}{%- endfor %}"
    "{{- bos_token + '<|start_header_id|>user<|end_header_id|>\\n\\n' }}{%- if ns.image %}{{- '<|image|>' }}{%- endif %}"
    "{{- 'Task: Check if there is unsafe content in \\'User\\' messages in conversations according our safety policy "
    "with the below categories.\\n\\n<BEGIN UNSAFE CONTENT CATEGORIES>\\n' + categories + '<END UNSAFE CONTENT "
    "CATEGORIES>\\n\\n<BEGIN CONVERSATION>\\n\\nUser: ' + ns.text + '\\n\\n<END CONVERSATION>\\n\\nProvide your safety "
    "assessment for ONLY THE LAST User message in the above conversation:\\n - First line must read \\'safe\\' or "
    "\\'unsafe\\'.\\n - If unsafe, a second line must include a comma-separated list of violated categories.<|eot_id|>' }}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
).replace("categories +", "'" + GUARD_CATEGORIES.replace("\n", "\\n") + "' +")

_CORPUS = ["safe", "unsafe", "User", "Task: Check if there is unsafe content", "Today Date: 26 Jul 2024",
           "Cutting Knowledge Date: December 2023", "Does this image show", "Answer the question with Yes or No",
           "Yes", "No", "a red cube", "two dogs playing in the snow", "three apples and a banana", "assistant", "user"]


def build_tiny_mllama(out_dir: str | Path, *, guard: bool = False, image_size: int = 28, patch: int = 14,
                      max_tiles: int = 2, hidden: int = 64, layers: int = 3, seed: int = 0, std: float = 0.15) -> Path:
    """Write a random-weight ``MllamaForConditionalGeneration`` (one cross-attention layer in ``layers``) with an
    ``MllamaProcessor`` to ``out_dir``; ``guard=True`` writes Llama Guard 3 Vision's template instead."""
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_llama3_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    template = GUARD_CHAT_TEMPLATE if guard else MLLAMA_CHAT_TEMPLATE
    tokenizer = build_llama3_tokenizer(out, template, extra_special=["<|image|>"], corpus=_CORPUS + [GUARD_CATEGORIES])
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in LLAMA3_SPECIAL + ["<|image|>"]}
    image_id = ids["<|image|>"]
    assert image_id == len(tokenizer) - 1  # the text vocabulary stops before <|image|>, as in the real repos
    vision = dict(hidden_size=32, num_hidden_layers=2, num_global_layers=1, attention_heads=2, intermediate_size=64,
                  vision_output_dim=32 * 3, image_size=image_size, patch_size=patch, max_num_tiles=max_tiles,
                  intermediate_layers_indices=[0, 1], supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]])
    text = dict(vocab_size=image_id, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                num_key_value_heads=2, intermediate_size=2 * hidden, cross_attention_layers=[1],
                max_position_embeddings=2048, rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
                bos_token_id=ids["<|begin_of_text|>"], eos_token_id=ids["<|end_of_text|>"],
                pad_token_id=ids["<|finetune_right_pad_id|>"])
    config = tf.MllamaConfig(vision_config=vision, text_config=text, image_token_index=image_id)
    model = tf.MllamaForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    # meta-llama/Llama-3.2-11B-Vision-Instruct's generation_config.json, ids moved to the tiny vocabulary
    model.generation_config = tf.GenerationConfig(
        bos_token_id=ids["<|begin_of_text|>"], pad_token_id=ids["<|finetune_right_pad_id|>"], do_sample=True,
        eos_token_id=[ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]], temperature=0.6, top_p=0.9)
    image_processor = tf.MllamaImageProcessor(size={"height": image_size, "width": image_size},
                                              max_image_tiles=max_tiles)
    processor = tf.MllamaProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=template)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    (out / "t2v_tiny.json").write_text(json.dumps({"guard": guard}))
    return out
