"""Tiny Qwen2-VL and Qwen3-VL checkpoints (real classes, random weights) against plain unbatched forwards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from qwen_reference import load_plain, plain_score, reference_image, reference_video
from qwen_testutils import GOLDEN, needs_tiny_builder, offline

import t2v_core
from t2v_core.testing import check_scorer

pytestmark = needs_tiny_builder

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this image show "{}"?'
MODELS = [("qwen2-vl-2b", "qwen2_vl", 14), ("qwen3-vl-2b", "qwen3_vl", 16)]


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("images")
    paths = []
    for k, (h, w) in enumerate([(70, 90), (60, 60), (120, 50)]):
        p = root / f"img{k}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


@pytest.mark.parametrize("name,family,patch", MODELS)
def test_images_equal_plain_forward(tiny_hub, monkeypatch, image_files, name, family, patch):
    hub, folders = tiny_hub
    offline(monkeypatch, hub)
    processor, model = load_plain(folders[family])
    want = [[plain_score(processor, model, QUESTION.format(t), "Yes", image=reference_image(p, patch)) for t in TEXTS]
            for p in image_files]
    score = t2v_core.VQAScore(model=name, device="cpu", batch_size=2)
    # Qwen2-VL carries the published repetition penalty (qwen_published.py): `want` is generate's processed scores
    assert score.model.read_processors.active == (family == "qwen2_vl")
    assert rel(score(images=image_files, texts=TEXTS), want) < 1e-5          # prefix reuse, texts batched
    assert rel(score(images=image_files[:1], texts=TEXTS[:1]), want[0][:1]) < 1e-5  # one whole prompt
    whole = t2v_core.VQAScore(model=name, device="cpu", prefix_reuse=False, batch_size=4)
    assert rel(whole(images=image_files, texts=TEXTS), want) < 1e-5          # left-padded whole prompts


@pytest.mark.parametrize("name,family,patch", MODELS)
def test_video_equals_plain_forward(tiny_hub, monkeypatch, name, family, patch):
    pytest.importorskip("decord")
    hub, folders = tiny_hub
    offline(monkeypatch, hub)
    path = str(GOLDEN / "videos" / "noise_short.mp4")
    processor, model = load_plain(folders[family])
    video, meta = reference_video(path, fps=4.0, patch=patch)
    want = [plain_score(processor, model, QUESTION.format(t), "Yes", video=video, metadata=meta) for t in TEXTS[:2]]
    score = t2v_core.VQAScore(model=name, device="cpu")
    assert rel(score(videos=[path], texts=TEXTS[:2], fps=4.0)[0], want) < 1e-5


def test_batch_composition_does_not_change_scores(tiny_hub, monkeypatch, image_files):
    offline(monkeypatch, tiny_hub[0])
    score = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu", batch_size=2)
    full = score(images=image_files, texts=TEXTS)
    for i, p in enumerate(image_files):
        assert rel(score(images=[p], texts=TEXTS), full[i]) < 1e-5
        assert rel(score(images=[p], texts=TEXTS[::-1]), full[i].flip(0)) < 1e-5


def test_conformance_kit(tiny_hub, monkeypatch, image_files):
    offline(monkeypatch, tiny_hub[0])
    score = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu")
    report = check_scorer(score, images=image_files[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_checkpoint_folder_and_full_answer(tiny_hub, image_files):
    _, folders = tiny_hub
    score = t2v_core.VQAScore(model="qwen3-vl-2b", device="cpu", checkpoint=str(folders["qwen3_vl"]),
                              answer_likelihood="full")
    assert score.provenance["weights_revision"] == str(folders["qwen3_vl"].resolve())
    first = t2v_core.VQAScore(model="qwen3-vl-2b", device="cpu", checkpoint=str(folders["qwen3_vl"]))
    one_token = score(images=image_files[:1], texts=TEXTS[:2])
    assert rel(one_token, first(images=image_files[:1], texts=TEXTS[:2])) < 1e-5  # "Yes" is one token
    two = score(images=image_files[:1], texts=TEXTS[:2], answer_template="Yes.")
    assert (two < one_token).all()


def test_video_sampling_options(tiny_hub, monkeypatch):
    offline(monkeypatch, tiny_hub[0])
    path = str(GOLDEN / "videos" / "moving_square.mp4")  # 48 frames at 24 fps
    score = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu")
    model = score.model
    video = model.load_media([path])[0]
    assert len(model.prepare(video, fps=8.0).metadata["frames_indices"]) == 16
    assert len(model.prepare(video, fps="dynamic").metadata["frames_indices"]) == 4
    assert len(model.prepare(video, num_frames=6).metadata["frames_indices"]) == 6
    a = score(videos=[path], texts=TEXTS[:1], fps="dynamic")
    b = score(videos=[path], texts=TEXTS[:1], fps=2.0)
    assert rel(a, b) < 1e-6
    with pytest.raises(ValueError, match="fps must be a positive number or 'dynamic'"):
        score(videos=[path], texts=TEXTS[:1], fps="fast")
    with pytest.raises(ValueError, match="num_frames between 2 and 48"):
        score(videos=[path], texts=TEXTS[:1], num_frames=100)


def test_generate(tiny_hub, monkeypatch, image_files):
    offline(monkeypatch, tiny_hub[0])
    score = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu")
    out = score.model.generate(image_files[:2], ["Describe the image.", "What is it?"], max_new_tokens=3)
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    alone = score.model.generate(image_files[1:2], ["What is it?"], max_new_tokens=3)
    assert alone[0] == out[1]  # left padding does not change greedy answers


@pytest.mark.parametrize("name,family,patch", MODELS)
def test_one_text_per_image_batched_after_the_shared_header(tiny_hub, monkeypatch, image_files, name, family, patch):
    """Aligned pairs (one text per image, images of three sizes, texts of several lengths) are batched after
    the chat header they share; each score equals a plain unbatched forward, in any order and batch size."""
    hub, folders = tiny_hub
    offline(monkeypatch, hub)
    processor, model = load_plain(folders[family])
    pairs = [(image_files[k % 3], TEXTS[(k * 2) % 3] + " and" * (k % 4)) for k in range(7)]
    want = torch.tensor([plain_score(processor, model, QUESTION.format(t), "Yes", image=reference_image(p, patch))
                         for p, t in pairs])
    score = t2v_core.VQAScore(model=name, device="cpu", batch_size=4)
    calls = []
    forward = score.model.model.forward

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return forward(*args, **kwargs)

    monkeypatch.setattr(score.model.model, "forward", spy)
    got = score.batch_forward([{"images": [p], "texts": [t]} for p, t in pairs]).reshape(-1)
    assert rel(got, want) < 1e-5
    # the header ran alone once, then two batches of 4 + 3 pairs after it, each with a cache and its media
    assert [int(c["input_ids"].shape[0]) for c in calls] == [1, 4, 3]
    assert all(c.get(score.model._cache_kw) is not None and "pixel_values" in c for c in calls[1:]), [sorted(c) for c in calls]
    order = [5, 2, 6, 0, 3, 1, 4]
    again = t2v_core.VQAScore(model=name, device="cpu", batch_size=3)
    shuffled = again.batch_forward([{"images": [pairs[k][0]], "texts": [pairs[k][1]]} for k in order]).reshape(-1)
    assert rel(shuffled, want[order]) < 1e-5
    alone = t2v_core.VQAScore(model=name, device="cpu", batch_size=1)
    assert rel(alone(images=[pairs[3][0]], texts=[pairs[3][1]])[0], want[3:4]) < 1e-5


def test_full_answer_after_the_shared_header(tiny_hub, monkeypatch, image_files):
    """answer_likelihood='full' with a two-token answer, one text per image across samples: the header path
    reads every answer token where the left-padded whole prompts (tested against plain forwards) read them."""
    offline(monkeypatch, tiny_hub[0])
    data = [{"images": [p], "texts": [t]} for p, t in zip(image_files, TEXTS)]
    got = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu", answer_likelihood="full", batch_size=2)
    want = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu", answer_likelihood="full", prefix_reuse=False)
    a = got.batch_forward(data, answer_template="Yes.").reshape(-1)
    b = want.batch_forward(data, answer_template="Yes.").reshape(-1)
    assert rel(a, b) < 1e-5
    first = t2v_core.VQAScore(model="qwen2-vl-2b", device="cpu").batch_forward(data, answer_template="Yes.")
    assert (a < first.reshape(-1)).all()  # two tokens' probability, below the first token's
