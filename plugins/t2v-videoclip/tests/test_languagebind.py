"""LanguageBind Video CLIPScore against the reference's numbers, loaded by repo id from an offline cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import LB_LAYOUT, VIDEOS, lb_folder
from t2v_videoclip.plugin import LANGUAGEBIND_REPOS

import t2v_core
from t2v_core.testing import check_scorer, random_images


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs().clamp(min=1e-6)).max())


@pytest.mark.parametrize("name", sorted(LANGUAGEBIND_REPOS))
def test_matches_reference_by_repo_id(hub, lb_golden, name):
    variant = LB_LAYOUT[LANGUAGEBIND_REPOS[name]]
    score = t2v_core.CLIPScore(model=name, device="cpu")
    got = score(images=VIDEOS, texts=lb_golden["texts"])
    want = torch.tensor(lb_golden["variants"][variant]["scores"])
    assert got.shape == want.shape == (3, 4)
    assert _rel(got, want) < 1e-4, (got, want)
    assert score.model.weights_revision is not None


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_video_backends_match_reference(hub, lb_golden, backend):
    pytest.importorskip("decord")
    score = t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", video_backend=backend)
    got = score(images=VIDEOS, texts=lb_golden["texts"])
    assert _rel(got, torch.tensor(lb_golden["variants"]["ft"]["scores"])) < 1e-4


def test_per_frame_class_embedding_variant_matches_reference(tmp_path, lb_golden):
    """``clip_type="vl_new"`` (Conv3d patch kernel, one class token per frame), from a local folder."""
    folder = lb_folder(tmp_path / "vlnew", "vlnew")
    score = t2v_core.CLIPScore(model="languagebind-video", device="cpu", path=str(folder))
    got = score(images=VIDEOS, texts=lb_golden["texts"])
    assert _rel(got, torch.tensor(lb_golden["variants"]["vlnew"]["scores"])) < 1e-4


def test_every_checkpoint_key_accounted_for(hub, lb_golden):
    scorer = t2v_core.CLIPScore(model="languagebind-video", device="cpu").model
    assert set(scorer.unused_keys) == {"logit_scale", "vision_model.embeddings.position_ids"}
    loaded = len(scorer.model.state_dict())
    # every key of the published (PEFT) layout is loaded, merged into a loaded weight, or listed as unused
    assert lb_golden["variants"]["lora"]["num_keys"] == loaded + len(scorer.unused_keys) + 16


def test_unknown_checkpoint_key_is_refused(tmp_path):
    folder = lb_folder(tmp_path / "ft", "ft")
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state["vision_model.extra_head.weight"] = torch.zeros(2, 2)
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(ValueError, match="vision_model.extra_head.weight"):
        t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", path=str(folder))


def test_one_encode_per_item_and_text_and_one_product(hub, lb_golden, monkeypatch):
    score = t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", batch_size=2)
    seen = {"media": 0, "text": 0}
    sc = score.model
    media_batch, text_batch = sc.encode_media_batch, sc.encode_text_batch

    def count_media(frames):
        seen["media"] += len(frames)
        return media_batch(frames)

    def count_text(texts):
        seen["text"] += len(texts)
        return text_batch(texts)

    monkeypatch.setattr(sc, "encode_media_batch", count_media)
    monkeypatch.setattr(sc, "encode_text_batch", count_text)
    texts = lb_golden["texts"] + [lb_golden["texts"][0]]
    got = score(images=VIDEOS, texts=texts)
    assert seen == {"media": 3, "text": 4}
    want = torch.tensor(lb_golden["variants"]["ft"]["scores"])
    assert _rel(got[:, :4], want) < 1e-4 and torch.allclose(got[:, 4], got[:, 0], rtol=1e-6, atol=0)


def test_image_is_a_still_video(hub):
    """An image scores as a video of that image repeated (the model needs its 8 frames)."""
    img = random_images(1, size=(80, 60), seed=3)[0]
    score = t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu")
    still = t2v_core.media.Video.from_frames([np.asarray(img)] * 5)
    a = score(images=[img], texts=["a cat", "a dog"])
    b = score(images=[still], texts=["a cat", "a dog"])
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-7)


def test_num_frames_other_than_eight_is_refused(hub):
    score = t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu")
    with pytest.raises(ValueError, match="exactly 8 frames"):
        score(images=VIDEOS[:1], texts=["a cat"], num_frames=4)


def test_conformance(hub):
    check_scorer(t2v_core.CLIPScore(model="languagebind-video-v1.5-ft", device="cpu"),
                 images=random_images(2, size=(70, 50)) + [VIDEOS[0]], texts=["a red car", "two dogs in snow"])


def test_missing_weights_say_how_to_fix(hub, tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json.*path="):
        t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", path=str(Path(tmp_path)))
    with pytest.raises(t2v_core.WeightsNotFoundError, match="LanguageBind/Nope.*t2v download"):
        t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", repo_id="LanguageBind/Nope")


@pytest.mark.parametrize("cap, want", [(1, [1, 1, 1]), (None, [2, 1])])
def test_cpu_encodes_one_video_per_forward(hub, lb_golden, monkeypatch, cap, want):
    """On CPU the tower takes one video per forward (``CPU_MEDIA_BATCH``, faster there), whatever batch_size
    says; with the cap off (what the other tests run) it batches by batch_size. Scores are the reference's."""
    from t2v_videoclip import scorer

    monkeypatch.setattr(scorer, "CPU_MEDIA_BATCH", cap)
    score = t2v_core.CLIPScore(model="languagebind-video-ft", device="cpu", batch_size=2)
    sizes = []
    batch = score.model.encode_media_batch
    monkeypatch.setattr(score.model, "encode_media_batch", lambda frames: sizes.append(len(frames)) or batch(frames))
    got = score(images=VIDEOS, texts=lb_golden["texts"])
    assert sizes == want
    assert _rel(got, torch.tensor(lb_golden["variants"]["ft"]["scores"])) < 1e-4
