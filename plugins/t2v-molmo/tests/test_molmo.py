"""Molmo2 against a plain, unbatched float32 forward of the same tiny model; registration, options, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from molmo_testutils import NAME, REPO

import t2v_core
from t2v_core.media import Video
from t2v_core.registry import get_spec
from t2v_core.testing import check_offline_error, check_scorer

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'


def load_plain(folder):
    from transformers import AutoProcessor, Molmo2ForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    return processor, Molmo2ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()


def plain_score(processor, model, text, image=None, video=None, metadata=None, sample=False):
    """Independent computation, as the reference builds its inputs: the user turn ``[media, question]``, the
    chat template, the processor on one prompt, one unbatched forward; float64 softmax at "Yes"."""
    kind = "image" if image is not None else "video"
    msgs = [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": QUESTION.format(text)}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    if image is not None:
        inputs = processor(text=[prompt], images=[image], return_tensors="pt")
    else:
        inputs = processor(text=[prompt], videos=[video], video_metadata=[metadata], do_sample_frames=sample,
                           return_tensors="pt")
    ids = inputs["input_ids"][0].tolist()
    bos = processor.tokenizer.bos_token_id
    assert ids[0] == bos and ids[1] != bos  # the processor writes exactly one BOS (<|im_end|>) in front
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    with torch.no_grad():
        return float(model(**inputs).logits[0, -1].double().softmax(-1)[yes])


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_registered_names():
    for name, repo in (("molmo2-4b", "allenai/Molmo2-4B"), ("molmo2-o-7b", "allenai/Molmo2-O-7B"),
                       ("molmo2-8b", "allenai/Molmo2-8B")):
        spec = get_spec(name)
        assert spec.weights == (repo,) and spec.plugin == "t2v-molmo"
        assert spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.media == ("image", "video")
    assert get_spec("molmo2-7b").name == "molmo2-o-7b"  # the reference's name
    # the 0924 remote-code names stay with t2v-remote (the catalogue says so even where it is not installed)
    from t2v_core.catalogue import distribution_for

    assert distribution_for("molmo-7b-d-0924") == "t2v-remote"


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'molmo2-4b' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_images_equal_plain_forward(offline, images, monkeypatch):
    from t2v_hf import scorer as scorer_mod

    processor, model = load_plain(offline)
    want = torch.tensor([[plain_score(processor, model, t, image=im) for t in TEXTS] for im in images])
    assert want.std() / want.mean() > 0.05  # scores depend on the image and the text
    used = []
    original = scorer_mod.HFVLMScorer._score_shared_prefix

    def spy(self, *args, **kwargs):
        row = original(self, *args, **kwargs)
        used.append(row is not None)
        return row

    monkeypatch.setattr(scorer_mod.HFVLMScorer, "_score_shared_prefix", spy)
    score = t2v_core.VQAScore(model=NAME, device="cpu", batch_size=2)
    got = score(images=images, texts=TEXTS)
    assert used == [True] * len(images)  # the image prefix (bidirectional image block) was reused
    assert rel(got, want) < 1e-5
    # aligned pairs of three crop tilings, batched whole with left padding
    m = score.model
    pairs = m.score_pairs(m.load_media(images), TEXTS, templates=m.templates(), **m.resolve_options())
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    alone = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(alone, torch.diagonal(want)) < 1e-5
    whole = t2v_core.VQAScore(model=NAME, device="cpu", prefix_reuse=False, batch_size=4)
    assert rel(whole(images=images, texts=TEXTS), want) < 1e-5
    one = t2v_core.VQAScore(model=NAME, device="cpu", batch_size=1)
    assert rel(one(images=images, texts=TEXTS), got) < 1e-5  # batch-size independent
    # order independent: permuted inputs give the permuted matrix
    perm_i, perm_t = [2, 0, 1], [1, 2, 0]
    shuffled = score(images=[images[i] for i in perm_i], texts=[TEXTS[j] for j in perm_t])
    assert rel(shuffled, want[perm_i][:, perm_t]) < 1e-5


def test_batch_forward_equals_plain_forward(offline, images):
    processor, model = load_plain(offline)
    data = [{"images": [images[0], images[2]], "texts": TEXTS[:2]}, {"images": [images[1], images[0]],
                                                                     "texts": TEXTS[1:]}]
    want = torch.tensor([[[plain_score(processor, model, t, image=im) for t in s["texts"]] for im in s["images"]]
                         for s in data])
    for bs in (1, 3):
        score = t2v_core.VQAScore(model=NAME, device="cpu")
        assert rel(score.batch_forward(data, batch_size=bs), want) < 1e-5


def test_native_video_default_sampling(offline, frames):
    """Default: the checkpoint's own sampler (20 frames at 4 fps = 5 s, at most 2 fps -> 10 frames), checked
    against the processor sampling the whole video itself."""
    processor, model = load_plain(offline)
    video = Video.from_frames(frames, fps=4.0)
    meta = {"total_num_frames": len(frames), "fps": 4.0}
    want = [plain_score(processor, model, t, video=frames, metadata=dict(meta), sample=True) for t in TEXTS]
    score = t2v_core.VQAScore(model=NAME, device="cpu", batch_size=2)
    got = score(videos=[video], texts=TEXTS)[0]
    assert rel(got, want) < 1e-5
    prepared = score.model.prepare(video, **score.model.resolve_options())
    assert prepared.metadata["frames_indices"] == list(range(0, 20, 2))
    # two videos of different lengths (10 and 6 frames): M x N, whole prompts batched, order independent
    short = Video.from_frames(frames[5:11], fps=1.0)  # 6 s at 1 fps: under the 2 fps cap, all 6 frames
    want2 = [plain_score(processor, model, t, video=frames[5:11], metadata={"total_num_frames": 6, "fps": 1.0},
                         sample=True) for t in TEXTS]
    both = torch.tensor([want, want2])
    assert rel(score(videos=[video, short], texts=TEXTS), both) < 1e-5
    whole = t2v_core.VQAScore(model=NAME, device="cpu", prefix_reuse=False, batch_size=6)
    assert rel(whole(videos=[video, short], texts=TEXTS), both) < 1e-5
    assert rel(score(videos=[short, video], texts=TEXTS[::-1]), both.flip(0).flip(1)) < 1e-5


def test_video_num_frames_and_fps(offline, frames):
    processor, model = load_plain(offline)
    video = Video.from_frames(frames, fps=4.0)
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    for kwargs, idx in (({"num_frames": 4}, [0, 6, 13, 19]), ({"fps": 1.0}, [0, 5, 10, 14, 19])):
        meta = {"total_num_frames": len(frames), "fps": 4.0, "frames_indices": idx}
        want = [plain_score(processor, model, t, video=[frames[i] for i in idx], metadata=meta) for t in TEXTS[:2]]
        assert rel(score(videos=[video], texts=TEXTS[:2], **kwargs)[0], want) < 1e-5
        assert score.model.prepare(video, **score.model.resolve_options(**kwargs)).metadata["frames_indices"] == idx


def test_images_and_videos_in_one_call(offline, images, frames):
    processor, model = load_plain(offline)
    video = Video.from_frames(frames[:6], fps=2.0)
    meta = {"total_num_frames": 6, "fps": 2.0}
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    got_v = score(videos=[video], texts=TEXTS[:2])[0]
    got_i = score(images=images[:1], texts=TEXTS[:2])[0]
    assert rel(got_v, [plain_score(processor, model, t, video=frames[:6], metadata=dict(meta), sample=True)
                       for t in TEXTS[:2]]) < 1e-5
    assert rel(got_i, [plain_score(processor, model, t, image=images[0]) for t in TEXTS[:2]]) < 1e-5


@pytest.mark.parametrize("kwargs, match", [
    ({"num_frames": 0}, r"num_frames .*must be a positive integer"),
    ({"num_frames": 2.5}, r"num_frames .*must be a positive integer"),
    ({"fps": -1}, r"fps must be a positive number"),
    ({"fps": "dynamic"}, r"fps='dynamic' is not a Molmo2 option"),
    ({"num_frames": 4, "fps": 1.0}, r"num_frames or fps, not both"),
])
def test_bad_video_options_are_named(offline, frames, kwargs, match):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    with pytest.raises(ValueError, match=match):
        score(videos=[Video.from_frames(frames, fps=4.0)], texts=TEXTS[:1], **kwargs)


def test_bad_option_is_named(offline):
    with pytest.raises(Exception, match="prefix_reus"):
        t2v_core.VQAScore(model=NAME, device="cpu", prefix_reus=False)


def test_offline_missing_weights_one_line(tmp_path):
    msg = check_offline_error(NAME, tmp_path, REPO)
    assert "\n" not in msg and REPO in msg


def test_conformance(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 3})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_generate(offline, images):
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    out = score.model.generate(images[:2], ["Describe the image.", "What is it?"], max_new_tokens=3)
    alone = score.model.generate(images[1:2], ["What is it?"], max_new_tokens=3)
    assert len(out) == 2 and alone[0] == out[1]


def test_image_tokens_attend_bidirectionally(offline, images):
    """The mask the prefix must be computed with matters: without ``mm_token_type_ids`` (a causal image block)
    the score moves far beyond the 1e-5 the parity tests allow, so they would catch a causal prefix."""
    processor, model = load_plain(offline)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION.format(TEXTS[0])}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[images[0]], return_tensors="pt")
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    with torch.no_grad():
        block = model(**inputs).logits[0, -1].double().softmax(-1)[yes]
        causal = model(**{k: v for k, v in inputs.items() if k != "mm_token_type_ids"}).logits[0, -1].double()
    assert rel(causal.softmax(-1)[yes], block) > 1e-3


def test_molmo2_o_layout(tmp_path, monkeypatch, images):
    """Molmo2-O's text model (OLMo-style q/k norm over the whole projection) through the same path."""
    from t2v_molmo.testing import build_tiny_molmo2

    from t2v_core.testing import make_fake_hf_cache

    folder = build_tiny_molmo2(tmp_path / "o7b", qk_norm_type="olmo", layers=1, seed=2)
    make_fake_hf_cache(tmp_path / "hub", "allenai/Molmo2-O-7B", folder)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    processor, model = load_plain(folder)
    assert model.config.text_config.qk_norm_type == "olmo"
    want = torch.tensor([[plain_score(processor, model, t, image=im) for t in TEXTS[:2]] for im in images[:2]])
    score = t2v_core.VQAScore(model="molmo2-7b", device="cpu")  # the reference's name for it
    assert score.model.spec.name == "molmo2-o-7b"
    assert rel(score(images=images[:2], texts=TEXTS[:2]), want) < 1e-5


def test_published_config_reads_natively():
    """``data/molmo2-4b-config.json`` is allenai/Molmo2-4B's ``config.json`` (its remote-code layout: ``vit_config``,
    ``vit_layers``, ``image_patch_size``, ...); the native config class reads it, trims the ViT to the 25 layers
    the weights have, and keeps the published token ids and sizes."""
    import json
    from pathlib import Path

    from transformers import Molmo2Config

    raw = json.loads((Path(__file__).parent / "data" / "molmo2-4b-config.json").read_text())
    config = Molmo2Config.from_dict(raw)
    assert config.vision_config.num_hidden_layers == 25 and config.adapter_config.vision_feature_layer == [24, 18]
    assert (config.vision_config.patch_size, config.vision_config.image_size) == (14, [378, 378])
    assert config.image_token_id == 151938 and config.text_config.vocab_size == 151936
    assert config.text_config.hidden_size == 2560 and config.text_config.num_hidden_layers == 36
    assert config.text_config.rope_parameters["rope_theta"] == 5000000.0


def test_fixture_carries_the_published_layout(offline, images):
    from t2v_molmo.testing import MEDIA_SPECIAL, MOLMO2_CHAT_TEMPLATE
    from transformers import AutoConfig, AutoProcessor

    processor = AutoProcessor.from_pretrained(offline)
    tok = processor.tokenizer
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<|im_end|>", "<|im_end|>", "<|endoftext|>")
    assert processor.chat_template == MOLMO2_CHAT_TEMPLATE
    config = AutoConfig.from_pretrained(offline)
    # the media tokens follow the base vocabulary the output head covers, in the published order
    assert tok.convert_tokens_to_ids(MEDIA_SPECIAL) == list(range(config.text_config.vocab_size,
                                                                  config.text_config.vocab_size + len(MEDIA_SPECIAL)))
    score = t2v_core.VQAScore(model=NAME, device="cpu")
    m = score.model
    prepared = m.prepare(m.load_media([images[0]])[0])
    text = m.render("Is it?", prepared)
    assert text == "<|image|><|im_start|>user\nIs it?<|im_end|>\n<|im_start|>assistant\n"
    ids = m.processor_inputs([text], [prepared])["input_ids"][0].tolist()
    assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id  # the processor's one BOS
