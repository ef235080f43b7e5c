"""OpenCLIP models loaded by name from the fake hub, checked against a plain per-pair forward pass."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from t2v_openclip import CaptionTruncationWarning

import t2v_core
from t2v_core.media import Video, concat_frames, uniform_indices
from t2v_core.testing import check_scorer

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest deviation relative to the scores' scale (elementwise ratios blow up on scores near 0)."""
    return float((a - b).abs().max() / b.abs().max())


def clip_reference(model, image, text) -> float:
    """CLIPScore of one pair, written out: OpenAI-CLIP preprocessing, open_clip BPE tokens, cosine."""
    import open_clip

    transform = open_clip.image_transform(model.visual.image_size, is_train=False, mean=OPENAI_MEAN,
                                          std=OPENAI_STD, resize_mode="shortest", interpolation="bicubic")
    with torch.no_grad():
        img = model.encode_image(transform(image).unsqueeze(0))
        txt = model.encode_text(open_clip.tokenize([text], context_length=77))
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return float((img * txt).sum())


def siglip_reference(model, tokenizer, image, text) -> float:
    """The same for the SigLIP-style model: 0.5 mean/std, squash resize, HF tokens padded to the context."""
    import open_clip
    from open_clip.tokenizer import basic_clean, canonicalize_text

    transform = open_clip.image_transform(model.visual.image_size, is_train=False, mean=(0.5,) * 3,
                                          std=(0.5,) * 3, resize_mode="squash", interpolation="bicubic")
    ids = tokenizer([canonicalize_text(basic_clean(text))], padding="max_length", max_length=16,
                    truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        img = model.encode_image(transform(image).unsqueeze(0))
        txt = model.encode_text(ids)
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return float((img * txt).sum())


@pytest.fixture(scope="module")
def openai_b32(hub):
    return t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu")


@pytest.fixture(scope="module")
def siglip(hub):
    return t2v_core.CLIPScore(model="webli:ViT-B-16-SigLIP", device="cpu")


def test_openai_scores_equal_a_plain_forward_pass(hub, openai_b32, images, texts):
    scores = openai_b32(images=images, texts=texts)
    want = torch.tensor([[clip_reference(hub["openai:ViT-B-32"], im, t) for t in texts] for im in images])
    assert scores.shape == (len(images), len(texts)) and scores.dtype == torch.float32
    assert rel_err(scores, want) < 1e-5, (scores, want)
    assert scores.std() > 1e-3, "scores should vary across pairs"


def test_openai_tag_runs_with_quick_gelu(openai_b32):
    """OpenAI weights were trained with QuickGELU; open_clip 3 only warns about a mismatch, so we force it."""
    from open_clip.transformer import QuickGELU

    acts = {type(m) for m in openai_b32.model.model.modules()}
    assert QuickGELU in acts


def test_laion_tag_of_the_same_architecture_loads_its_own_weights(hub, images, texts):
    score = t2v_core.CLIPScore(model="laion2b_s34b_b79k:ViT-B-32", device="cpu")
    got = score(images=images[:2], texts=texts)
    ref_model = hub["laion2b_s34b_b79k:ViT-B-32"]
    want = torch.tensor([[clip_reference(ref_model, im, t) for t in texts] for im in images[:2]])
    assert rel_err(got, want) < 1e-5
    from open_clip.transformer import QuickGELU

    assert QuickGELU not in {type(m) for m in score.model.model.modules()}


def test_siglip_style_model_equals_a_plain_forward_pass(hub, siglip, images, texts):
    scores = siglip(images=images, texts=texts)
    model, tok = hub["webli:ViT-B-16-SigLIP"], hub["siglip_tokenizer"]
    want = torch.tensor([[siglip_reference(model, tok, im, t) for t in texts] for im in images])
    assert rel_err(scores, want) < 1e-5, (scores, want)
    assert siglip.model.context_length == 16
    assert hasattr(siglip.model.model, "logit_bias"), "the tiny model should be SigLIP-structured"


def test_m_by_n_costs_m_plus_n_encodes(openai_b32, images, texts):
    scorer = openai_b32.model
    seen = {"image": 0, "text": 0, "calls": 0}
    enc_i, enc_t = scorer.model.encode_image, scorer.model.encode_text

    def count_image(x, *a, **k):
        seen["image"] += x.shape[0]
        seen["calls"] += 1
        return enc_i(x, *a, **k)

    def count_text(x, *a, **k):
        seen["text"] += x.shape[0]
        seen["calls"] += 1
        return enc_t(x, *a, **k)

    scorer.model.encode_image, scorer.model.encode_text = count_image, count_text
    try:
        openai_b32(images=images, texts=texts + texts[:1])  # a repeated text is encoded once
    finally:
        del scorer.model.encode_image, scorer.model.encode_text
    assert seen == {"image": len(images), "text": len(texts), "calls": 2}


def test_m_by_n_equals_pairwise_forward(openai_b32, images, texts):
    full = openai_b32(images=images, texts=texts)
    pairs = openai_b32.model.forward(images=[images[i] for i in range(3)], texts=texts)
    assert torch.allclose(pairs, torch.stack([full[i, i] for i in range(3)]), rtol=1e-5, atol=1e-6)


def test_batch_size_does_not_change_scores(hub, images, texts):
    a = t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", batch_size=1)(images=images, texts=texts)
    b = t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", batch_size=64)(images=images, texts=texts)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["openai:ViT-B-32", "webli:ViT-B-16-SigLIP"])
def test_conformance(hub, name, images):
    score = t2v_core.CLIPScore(model=name, device="cpu")
    report = check_scorer(score, images=images[:3], texts=["a photo of a cat", "two dogs playing in the snow"])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_long_captions_warn_once_per_call_with_counts(openai_b32, images):
    long_a = "a very long caption " * 30  # 4 words x 30 = 120 BPE tokens + 2
    long_b = "dog " * 90  # 90 + 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        openai_b32(images=images[:2], texts=["a cat", long_a, long_b])
        openai_b32(images=images[:2], texts=["a cat", long_a, long_b])
    mine = [w for w in caught if issubclass(w.category, CaptionTruncationWarning)]
    assert len(mine) == 2, "one warning per call, repeated calls warn again"
    msg = str(mine[0].message)
    assert "2 of 3 captions" in msg and "77-token" in msg and "openai:ViT-B-32" in msg
    assert "text 1" in msg and "by 45" in msg and "text 2" in msg and "by 15" in msg
    assert mine[0].filename == __file__, "the warning should point at the caller's line"


def test_short_captions_do_not_warn(openai_b32, images, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptionTruncationWarning)
        openai_b32(images=images[:1], texts=texts)


def test_truncated_caption_scores_as_its_first_77_tokens(openai_b32, images):
    """Truncation is the model's (open_clip's tokenizer): extra words past the context change nothing."""
    base = "a red cube " * 25  # 75 tokens + 2 specials = 77: exactly fits
    with pytest.warns(CaptionTruncationWarning):
        s = openai_b32(images=images[:1], texts=[base, base + "and a green dog"])
    assert torch.allclose(s[0, 0], s[0, 1])


def frames_video(n=6, seed=3):
    rng = np.random.default_rng(seed)
    return Video.from_frames([rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(n)], fps=6.0)


def test_video_mean_is_the_mean_of_frame_scores(hub, openai_b32, texts):
    video = frames_video(6)
    got = openai_b32(images=[video], texts=texts, num_frames=3)
    frames = video.frames(uniform_indices(6, 3))
    want = torch.tensor([np.mean([clip_reference(hub["openai:ViT-B-32"], f, t) for f in frames]) for t in texts])
    assert rel_err(got[0], want) < 1e-5
    default = openai_b32(images=[video], texts=texts)  # num_frames=8 over 6 frames repeats some
    assert not torch.allclose(default, got)


def test_video_concat_scores_frames_side_by_side(hub, openai_b32, texts):
    video = frames_video(6)
    got = openai_b32(images=[video], texts=texts, num_frames=4, video_mode="concat")
    canvas = concat_frames(video.frames(uniform_indices(6, 4)), gap=10)
    assert canvas.size == (4 * 64 + 3 * 10, 48)
    want = torch.tensor([clip_reference(hub["openai:ViT-B-32"], canvas, t) for t in texts])
    assert rel_err(got[0], want) < 1e-5


def test_video_fps_sampling(openai_b32, texts):
    video = frames_video(6)  # 1 s at 6 fps; fps=2 samples 2 frames, the same as num_frames=2
    a = openai_b32(images=[video], texts=texts, fps=2)
    b = openai_b32(images=[video], texts=texts, num_frames=2)
    assert torch.allclose(a, b)


def test_images_and_videos_mix_in_one_call(openai_b32, images, texts):
    video = frames_video(6)
    mixed = openai_b32(images=[images[0], video, images[1]], texts=texts, num_frames=3)
    alone = openai_b32(images=[images[0], images[1]], texts=texts)
    vid = openai_b32(images=[video], texts=texts, num_frames=3)
    assert torch.allclose(mixed[[0, 2]], alone, rtol=1e-5, atol=1e-6)
    assert torch.allclose(mixed[1], vid[0], rtol=1e-5, atol=1e-6)


def test_bad_video_mode_is_refused_with_the_choices(openai_b32, texts):
    with pytest.raises(ValueError, match="'mean', 'concat'"):
        openai_b32(images=[frames_video(4)], texts=texts, video_mode="grid")


def test_unknown_option_names_the_accepted_ones(openai_b32, images, texts):
    with pytest.raises(TypeError, match="num_frames"):
        openai_b32(images=images[:1], texts=texts, question_template_typo=1)


def test_provenance_names_weights_and_revision(openai_b32):
    import hashlib

    prov = openai_b32.provenance
    assert prov["weights"] == ["timm/vit_base_patch32_clip_224.openai"]
    assert prov["weights_revision"] == hashlib.sha1(b"timm/vit_base_patch32_clip_224.openai").hexdigest()
    assert prov["score_scale"] == 1.0 and prov["dtype"] == "float32"
    assert prov["versions"]["open_clip_torch"]


def test_unknown_pretrained_tag_error_says_what_to_do(hub):
    with pytest.raises(ValueError, match="no pretrained weights 'nope' for architecture 'ViT-B-32'.*openai"):
        t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", pretrained="nope")


def test_templates_are_refused_for_clip_models(openai_b32, images, texts):
    with pytest.raises(ValueError, match="takes no question/answer template"):
        openai_b32(images=images[:1], texts=texts, question_template="Is it {}?")


def test_repeated_identical_calls_from_one_line_each_warn(openai_b32, images):
    with warnings.catch_warnings(record=True) as caught:
        for _ in range(3):
            openai_b32(images=images[:1], texts=["dog " * 90])
    assert sum(issubclass(w.category, CaptionTruncationWarning) for w in caught) == 3


def test_bf16_scores_stay_close_to_fp32(hub, openai_b32, images, texts):
    half = t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", dtype="bf16")
    assert half.provenance["dtype"] == "bfloat16"
    got, ref = half(images=images, texts=texts), openai_b32(images=images, texts=texts)
    assert got.dtype == torch.float32 and float((got - ref).abs().max()) < 0.05


def test_quick_gelu_can_be_turned_off(hub, images, texts):
    from open_clip.transformer import QuickGELU

    with pytest.warns(UserWarning, match="QuickGELU mismatch"):  # open_clip's own warning, as intended
        plain = t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", quick_gelu=False)
    assert QuickGELU not in {type(m) for m in plain.model.model.modules()}


def test_truncation_warning_respects_error_and_ignore_filters(openai_b32, images):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptionTruncationWarning)
        with pytest.raises(CaptionTruncationWarning, match="1 of 1 captions"):
            openai_b32(images=images[:1], texts=["dog " * 90])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", CaptionTruncationWarning)
        openai_b32(images=images[:1], texts=["dog " * 90])
    assert not [w for w in caught if issubclass(w.category, CaptionTruncationWarning)]


def test_small_batches_keep_videos_and_images_apart(hub, openai_b32, images, texts):
    """Media are encoded a group at a time; a video's frames may straddle batches of 2."""
    items = [images[0], frames_video(6, seed=4), images[1], frames_video(5, seed=5), images[2]]
    small = t2v_core.CLIPScore(model="openai:ViT-B-32", device="cpu", batch_size=2)
    got = small(images=items, texts=texts, num_frames=3)
    want = openai_b32(images=items, texts=texts, num_frames=3)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_siglip_truncation_is_counted_with_its_own_tokenizer(siglip, images):
    tok = siglip.model.tokenizer.tokenizer  # the Hugging Face tokenizer inside open_clip's HFTokenizer
    long = "the quick brown fox jumps over the lazy dog " * 3
    n = len(tok(long.strip())["input_ids"])  # canonicalize only strips punctuation/space here
    with pytest.warns(CaptionTruncationWarning, match=f"16-token .* by {n - 16}\\)"):
        siglip(images=images[:1], texts=["a photo of a cat", long])
