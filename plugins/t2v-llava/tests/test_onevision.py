"""LLaVA-OneVision on t2v-hf: tiny native checkpoints under the llava-hf repo ids, against plain unbatched
forwards of the reference's prompt (qwen_1_5 with its system message) on independently built inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from _llava_helpers import reference_image
from PIL import Image

from t2v_core.testing import make_fake_hf_cache, random_images

SI, OV = "llava-hf/llava-onevision-qwen2-7b-si-hf", "llava-hf/llava-onevision-qwen2-7b-ov-hf"
TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
            "{{ message['content'] }}{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
            "<image>\n{% elif content['type'] == 'video' %}<video>\n{% elif content['type'] == 'text' %}"
            "{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
Q = 'Does this image show "{}"? Answer the question with Yes or No'
TILE = 56
PINS = [[TILE * i, TILE * j] for i in range(1, 4) for j in range(1, 4)]


def _build(out: Path, seed: int) -> Path:
    import transformers as tf
    from t2v_hf.testing import _scale_weights, build_qwen_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tok = build_qwen_tokenizer(out, chat_template=TEMPLATE)
    tok.add_special_tokens({"additional_special_tokens": ["<image>", "<video>"]})
    cfg = tf.LlavaOnevisionConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=TILE, patch_size=14),
        text_config=dict(model_type="qwen2", vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
        image_token_index=tok.convert_tokens_to_ids("<image>"), video_token_index=tok.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1, image_grid_pinpoints=PINS)
    model = tf.LlavaOnevisionForConditionalGeneration(cfg)
    _scale_weights(model, 0.15, seed)
    norm = dict(image_mean=[0.5] * 3, image_std=[0.5] * 3)
    proc = tf.LlavaOnevisionProcessor(
        image_processor=tf.LlavaOnevisionImageProcessor(size={"height": TILE, "width": TILE}, image_grid_pinpoints=PINS,
                                                        **norm),
        video_processor=tf.LlavaOnevisionVideoProcessor(size={"height": TILE, "width": TILE}, **norm),
        tokenizer=tok, chat_template=TEMPLATE, num_image_tokens=16, vision_feature_select_strategy="full")
    model.eval().save_pretrained(out)
    proc.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def ov_hub(offline_hub, tmp_path_factory):
    for k, repo in enumerate((SI, OV)):
        make_fake_hf_cache(offline_hub, repo, _build(tmp_path_factory.mktemp("ov") / "ckpt", 30 + k))
    return offline_hub


def _reference_tiles(image: Image.Image) -> list[Image.Image]:
    """LLaVA-NeXT's process_anyres_image, written out here: base tile, then the grid of the padded image."""
    from transformers.image_processing_utils import select_best_resolution

    w, h = image.size
    th, tw = select_best_resolution((h, w), PINS)
    sw, sh = tw / w, th / h
    nw, nh = (tw, min(math.ceil(h * sw), th)) if sw < sh else (min(math.ceil(w * sh), tw), th)
    canvas = Image.new("RGB", (tw, th), (0, 0, 0))
    canvas.paste(image.resize((nw, nh), Image.Resampling.BICUBIC), ((tw - nw) // 2, (th - nh) // 2))
    grid = [canvas.crop((x, y, x + TILE, y + TILE)) for y in range(0, th, TILE) for x in range(0, tw, TILE)]
    return [image.resize((TILE, TILE), Image.Resampling.BICUBIC)] + grid


def _plain(repo: str, frames: list[Image.Image], question: str) -> float:
    """One unbatched forward of the reference's prompt string; P(first token of "Yes") at the last position."""
    import transformers as tf

    proc = tf.AutoProcessor.from_pretrained(repo)
    model = tf.LlavaOnevisionForConditionalGeneration.from_pretrained(repo).eval()
    prompt = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<video>\n" + question
              + "<|im_end|>\n<|im_start|>assistant\n")
    inputs = proc(text=[prompt], videos=[frames], return_tensors="pt", do_sample_frames=False)
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
    yes = proc.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    return float(torch.softmax(logits.float(), -1)[yes])


@pytest.mark.parametrize("name,repo", [("llava-onevision-qwen2-7b-si", SI), ("llava-onevision-qwen2-7b-ov", OV)])
def test_images_are_scored_as_videos_of_anyres_tiles(name, repo, ov_hub, golden):
    import t2v_core

    score = t2v_core.VQAScore(model=name, device="cpu")
    images = [reference_image(n) for n in ("wide_rgb.png", "tall_rgb.jpg", "square_rgb.png")]
    texts = golden["texts"][:3]
    got = score(images=images, texts=texts)
    want = torch.tensor([[_plain(repo, _reference_tiles(im), Q.format(t)) for t in texts] for im in images])
    assert float(((got - want).abs() / want).max()) < 1e-4
    assert len(_reference_tiles(images[0])) > 2  # a wide image really is several tiles
    native = t2v_core.VQAScore(model=name, device="cpu", image_mode="image")(images=images[:1], texts=texts)
    assert not torch.allclose(native, got[:1], rtol=1e-3)


def test_video_16_frames_floor_linspace(ov_hub, tmp_path):
    import t2v_core
    from t2v_core.testing import write_video

    frames = [np.asarray(im) for im in random_images(40, size=(64, 48), seed=5)]
    path = write_video(tmp_path / "v.mp4", frames, fps=10)
    score = t2v_core.VQAScore(model="llava-onevision-qwen2-7b-si", device="cpu")
    texts = ["a red cube", "two dogs in the snow"]
    got = score(images=[str(path)], texts=texts)
    from t2v_core.media import load_media

    video = load_media(str(path))
    idx = [int(x) for x in np.linspace(0, video.info.num_frames - 1, 16, dtype=int)]
    decoded = video.frames(idx)
    want = torch.tensor([_plain(SI, decoded, Q.format(t)) for t in texts])
    assert float(((got[0] - want).abs() / want).max()) < 1e-4


def test_conformance(ov_hub):
    import t2v_core
    from t2v_core.testing import check_scorer

    check_scorer(t2v_core.VQAScore(model="llava-onevision-qwen2-7b-ov", device="cpu"),
                 images=random_images(2, seed=9), texts=["a red cube", "a blue ball"])


def _pad_vocab(src: Path, out: Path) -> tuple[int, int]:
    """A copy of ``src`` padded as the llava-hf conversion pads: ``vocab + 2`` rounded up to a multiple of 64
    rows, the new ``lm_head`` rows drawn large so that they would take most of an unsliced softmax."""
    import shutil

    import transformers as tf

    shutil.copytree(src, out)
    model = tf.LlavaOnevisionForConditionalGeneration.from_pretrained(src).eval()
    vocab = int(model.get_output_embeddings().weight.shape[0])
    padded = -(-(vocab + 2) // 64) * 64
    model.resize_token_embeddings(padded)
    torch.manual_seed(77)
    with torch.no_grad():
        model.get_output_embeddings().weight[vocab:] = torch.randn(padded - vocab, model.config.text_config.hidden_size) * 3
    model.save_pretrained(out)
    return vocab, padded


def test_padded_vocabulary_is_sliced_to_the_original(ov_hub, tmp_path, monkeypatch, golden):
    """A padded conversion scores as the unpadded model it came from; without the limit the pad rows' mass
    would change the score (so the slice is what makes them equal)."""
    import t2v_llava.onevision as ov
    from huggingface_hub import snapshot_download

    import t2v_core

    src = Path(snapshot_download(SI))
    vocab, padded = _pad_vocab(src, tmp_path / "padded")
    image = reference_image("wide_rgb.png")
    texts = golden["texts"][:2]
    unpadded = torch.tensor([_plain(str(src), _reference_tiles(image), Q.format(t)) for t in texts])
    unsliced = torch.tensor([_plain(str(tmp_path / "padded"), _reference_tiles(image), Q.format(t)) for t in texts])
    assert float((unsliced / unpadded).max()) < 0.5  # the pad rows really take probability mass

    monkeypatch.setitem(ov.ORIGINAL_VOCAB, padded, vocab)
    score = t2v_core.VQAScore(model="llava-onevision-qwen2-7b-si", device="cpu", checkpoint=str(tmp_path / "padded"))
    got = score(images=[image], texts=texts)[0]  # shared-prefix path
    assert float(((got - unpadded).abs() / unpadded).max()) < 1e-4
    whole = score(images=[image], texts=texts[:1])[0, 0]  # one text: the whole-prompt path
    assert abs(float(whole) - float(unpadded[0])) / float(unpadded[0]) < 1e-4


def test_original_vocab_table_follows_the_conversion_rule():
    import t2v_llava.onevision as ov

    # Qwen2-7B/72B-Instruct's vocab_size, + <image> and <video>, rounded up to 64 as the conversion does
    assert ov.ORIGINAL_VOCAB == {152128: 152064}
    assert all(-(-(v + 2) // 64) * 64 == p for p, v in ov.ORIGINAL_VOCAB.items())
