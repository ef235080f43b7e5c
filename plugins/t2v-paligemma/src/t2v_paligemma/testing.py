"""Tiny random-weight PaliGemma / PaliGemma 2 checkpoints built offline, for tests and benchmarks.

Real config, model, tokenizer (``GemmaTokenizer``) and processor (``PaliGemmaProcessor`` + SigLIP image
processor) classes at toy sizes, saved with ``save_pretrained``; the special tokens sit at the published
repos' ids (``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2), the processor adds ``<image>`` and the ``<loc>``/``<seg>``
tokens as it does for the real repos, and the generation config is the published one.
"""

from __future__ import annotations

from pathlib import Path

# google/paligemma-3b-mix-224's generation_config.json
GENERATION_CONFIG = {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}


def build_tiny_paligemma(out_dir: str | Path, *, version: int = 1, image_size: int = 28, patch: int = 14,
                         hidden: int = 64, layers: int = 2, vision_hidden: int = 32, seed: int = 0,
                         std: float = 0.15) -> Path:
    """Write a random-weight PaliGemma (``version=1``: Gemma text model; ``2``: Gemma 2) to ``out_dir``.

    ``image_size / patch`` squared is the number of image tokens (4 by default; the real 224 px repos: 256).
    """
    import torch
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_gemma_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_gemma_tokenizer(out)
    n_image = (image_size // patch) ** 2
    image_processor = tf.SiglipImageProcessor(size={"height": image_size, "width": image_size}, resample=3,
                                              image_mean=[0.5] * 3, image_std=[0.5] * 3)
    image_processor.image_seq_length = n_image
    # the processor adds <image>, 1024 <locNNNN> and 128 <segNNN> tokens, as in the real tokenizer
    processor = tf.PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)
    vocab = len(processor.tokenizer)
    vision = dict(model_type="siglip_vision_model", hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                  num_hidden_layers=2, num_attention_heads=2, image_size=image_size, patch_size=patch,
                  projection_dim=hidden)
    text = dict(model_type="gemma" if version == 1 else "gemma2", vocab_size=vocab, hidden_size=hidden,
                intermediate_size=2 * hidden, num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=1,
                head_dim=16, max_position_embeddings=1024, pad_token_id=0, bos_token_id=2, eos_token_id=1)
    if version == 2:
        text.update(sliding_window=512, query_pre_attn_scalar=16, final_logit_softcapping=30.0,
                    attn_logit_softcapping=50.0)
    config = tf.PaliGemmaConfig(vision_config=vision, text_config=text, image_token_index=processor.image_token_id,
                                projection_dim=hidden, hidden_size=hidden)
    model = tf.PaliGemmaForConditionalGeneration(config)
    _scale_weights(model, std, seed)
    model.generation_config = tf.GenerationConfig(**GENERATION_CONFIG)
    model.eval()
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out
