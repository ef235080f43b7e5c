"""Native InternVL checkpoints (InternVL3 -hf, InternVL3.5 -HF) loaded by name from the fake offline cache."""

from __future__ import annotations

import internvl_reference as ref
import numpy as np
import pytest
import torch
from PIL import Image

from t2v_core.media import Video
from t2v_core.testing import check_scorer

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat"]
RTOL = 1e-4


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    sizes = [(40, 40), (300, 110), (90, 260)]  # one tile; wide and tall images that tile (tile = 56 px)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


def _frames(n: int = 21, seed: int = 3) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.fixture(scope="module")
def plain(checkpoints):
    """The native checkpoint loaded directly with the transformers classes, for the reference forward."""
    from transformers import AutoTokenizer, InternVLForConditionalGeneration

    model = InternVLForConditionalGeneration.from_pretrained(checkpoints["native"]).eval()
    return model, AutoTokenizer.from_pretrained(checkpoints["native"])


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def test_images_and_tiled_images_match_plain_forward(get_score, plain):
    model, tok = plain
    images = _images()
    scores = get_score("internvl3-1b")(images=images, texts=TEXTS)
    assert scores.shape == (3, 3)
    tiles = []
    for i, img in enumerate(images):
        pixels = ref.image_pixels(img, 56)
        tiles.append(pixels.shape[0])
        for j, text in enumerate(TEXTS):
            want = ref.native_score(model, tok, pixels, ref.image_user(pixels.shape[0], 4, text))
            assert _rel(float(scores[i, j]), want) < RTOL, (i, j, float(scores[i, j]), want)
    assert tiles[0] == 1 and tiles[1] > 2 and tiles[2] > 2, tiles  # the large images really were tiled
    assert float(scores.max() - scores.min()) > 1e-3, "scores do not vary: the tiny model is too flat to test"


def test_video_matches_plain_forward_with_frame_layout(get_score, plain):
    model, tok = plain
    frames = _frames()
    video = Video.from_frames(frames, fps=8.0)
    score = get_score("internvl3-1b")
    got = score(images=[video], texts=TEXTS[:2], num_frames=5)
    idx = ref.video_index(len(frames), 5)
    pixels = ref.video_pixels([frames[k] for k in idx], 56)
    for j, text in enumerate(TEXTS[:2]):
        want = ref.native_score(model, tok, pixels, ref.video_user(5, 4, text))
        assert _rel(float(got[0, j]), want) < RTOL, (j, float(got[0, j]), want)
    # the default is the reference's 16 frames
    default = score(images=[video], texts=TEXTS[:1])
    idx16 = ref.video_index(len(frames), 16)
    want16 = ref.native_score(model, tok, ref.video_pixels([frames[k] for k in idx16], 56),
                              ref.video_user(16, 4, TEXTS[0]))
    assert _rel(float(default[0, 0]), want16) < RTOL


def test_m_by_n_equals_pairwise_and_prefix_reuse_is_exact(get_score):
    images = _images()[:2] + [_frames()]
    score = get_score("internvl3-1b")
    full = score(images=images, texts=TEXTS)
    pairs = score.model.forward([images[i] for i in range(3) for _ in TEXTS], TEXTS * 3, num_frames=4)
    whole = get_score("internvl3-1b", prefix_reuse=False)(images=images, texts=TEXTS, num_frames=4)
    reused = score(images=images, texts=TEXTS, num_frames=4)
    torch.testing.assert_close(reused, whole, rtol=RTOL, atol=1e-7)
    torch.testing.assert_close(pairs.reshape(3, 3), whole, rtol=RTOL, atol=1e-7)
    torch.testing.assert_close(full[:2], whole[:2], rtol=RTOL, atol=1e-7)


def test_conformance_kit(get_score):
    report = check_scorer(get_score("internvl3.5-1b"), images=_images()[:2], texts=TEXTS[:2],
                          call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < RTOL


def test_system_prompt_and_templates(get_score, plain):
    model, tok = plain
    img = _images()[0]
    pixels = ref.image_pixels(img, 56)
    none = get_score("internvl3-1b", system_prompt="")(images=[img], texts=TEXTS[:1])
    want = ref.native_score(model, tok, pixels, ref.image_user(1, 4, TEXTS[0]), system=None)
    assert _rel(float(none[0, 0]), want) < RTOL
    no = get_score("internvl3-1b")(images=[img], texts=TEXTS[:1], answer_template="No")
    want_no = ref.native_score(model, tok, pixels, ref.image_user(1, 4, TEXTS[0]), answer="No")
    assert _rel(float(no[0, 0]), want_no) < RTOL


def test_max_tiles_option(get_score, plain):
    model, tok = plain
    img = _images()[1]
    got = get_score("internvl3-1b", max_tiles=2)(images=[img], texts=TEXTS[:1])
    pixels = ref.image_pixels(img, 56, max_num=2)
    assert pixels.shape[0] == 3  # 2 tiles + thumbnail
    want = ref.native_score(model, tok, pixels, ref.image_user(3, 4, TEXTS[0]))
    assert _rel(float(got[0, 0]), want) < RTOL


def test_generate_images_and_videos(get_score):
    score = get_score("internvl3-1b")
    out = score.model.generate([_images()[0], _images()[1], _frames()], ["Describe it.", "What is it?", "And this?"],
                               max_new_tokens=3, num_frames=4)
    assert len(out) == 3 and all(isinstance(s, str) for s in out)


def test_checkpoint_option_serves_a_local_folder(offline_hub, checkpoints, plain):
    import t2v_core

    model, tok = plain
    score = t2v_core.VQAScore(model="internvl3-8b", device="cpu", checkpoint=str(checkpoints["native"]))
    img = _images()[0]
    got = score(images=[img], texts=TEXTS[:1])
    want = ref.native_score(model, tok, ref.image_pixels(img, 56), ref.image_user(1, 4, TEXTS[0]))
    assert _rel(float(got[0, 0]), want) < RTOL
    assert score.provenance["weights_revision"] == str(checkpoints["native"].resolve())


def test_missing_weights_error_names_the_repo(offline_hub):
    import t2v_core

    with pytest.raises(Exception, match="InternVL3-14B-hf"):
        t2v_core.VQAScore(model="internvl3-14b", device="cpu")
    with pytest.raises(FileNotFoundError, match="neither an existing folder"):
        t2v_core.VQAScore(model="internvl3-14b", device="cpu", checkpoint="./no/such/folder")


def test_scoring_needs_no_torchvision(checkpoints):
    """transformers' InternVL processors import torchvision; the plugin reads their settings as JSON instead."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torchvision'] = None\n"
            "import t2v_core\nfrom PIL import Image\n"
            f"s = t2v_core.VQAScore(model='internvl3-8b', device='cpu', checkpoint={str(checkpoints['native'])!r})\n"
            "out = s(images=[Image.new('RGB', (90, 40), 'red')], texts=['a cat', 'a dog'])\n"
            "assert out.shape == (1, 2)\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**__import__("os").environ, "T2V_PROGRESS": "0"})


def test_fps_sampling_and_full_answer_likelihood(get_score, plain):
    from t2v_core.media import uniform_indices

    model, tok = plain
    frames = _frames()
    video = Video.from_frames(frames, fps=8.0)
    got = get_score("internvl3-1b")(images=[video], texts=TEXTS[:1], fps=2.0)
    idx = uniform_indices(len(frames), round(len(frames) / 8.0 * 2.0))
    want = ref.native_score(model, tok, ref.video_pixels([frames[k] for k in idx], 56),
                            ref.video_user(len(idx), 4, TEXTS[0]))
    assert _rel(float(got[0, 0]), want) < RTOL
    # a one-token answer has the same probability under both definitions
    img = _images()[:2]
    first = get_score("internvl3-1b")(images=img, texts=TEXTS)
    full = get_score("internvl3-1b", answer_likelihood="full")(images=img, texts=TEXTS)
    torch.testing.assert_close(full, first, rtol=RTOL, atol=1e-7)


def test_one_text_per_image_across_samples_matches_plain_forward(get_score, plain):
    """Samples of one image (1 to several tiles) and one text, batched across samples after the system prompt
    and user header they share (run once), in two orders: every score is a plain unbatched forward's."""
    model, tok = plain
    images = _images()
    pairs = [(k % 3, (k * 2) % 3) for k in range(6)]
    want = []
    for i, j in pairs:
        pixels = ref.image_pixels(images[i], 56)
        want.append(ref.native_score(model, tok, pixels, ref.image_user(pixels.shape[0], 4, TEXTS[j])))
    score = get_score("internvl3-1b")
    for order, batch_size in ((range(6), 4), ([4, 1, 5, 0, 3, 2], 3)):
        got = score.batch_forward([{"images": [images[pairs[k][0]]], "texts": [TEXTS[pairs[k][1]]]} for k in order],
                                  batch_size=batch_size).reshape(-1)
        for r, k in enumerate(order):
            assert _rel(float(got[r]), want[k]) < RTOL, (k, float(got[r]), want[k])
