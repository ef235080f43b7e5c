"""InternVideo2 stage-2 CLIPScore and ITMScore against the reference's numbers, loaded by repo id offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import IV2, VIDEOS

import t2v_core
from t2v_core.testing import check_scorer, random_images

FRONT = {"clip": t2v_core.CLIPScore, "itm": t2v_core.ITMScore}


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs().clamp(min=1e-6)).max())


@pytest.mark.parametrize("backend", ["pyav", "decord"])
@pytest.mark.parametrize("kind", ["clip", "itm"])
def test_matches_reference_by_repo_id(hub, iv2_golden, kind, backend):
    if backend == "decord":
        pytest.importorskip("decord")
    score = FRONT[kind](model=f"internvideo2-1b-stage2-{kind}", device="cpu", video_backend=backend)
    got = score(images=VIDEOS, texts=iv2_golden["texts"])
    want = torch.tensor(iv2_golden[kind])
    assert got.shape == want.shape == (3, 4)
    assert _rel(got, want) < 1e-4, (got, want)


def test_every_checkpoint_key_accounted_for(hub, iv2_golden):
    m = t2v_core.ITMScore(model="internvideo2-1b-stage2-itm", device="cpu").model
    assert len(m.key_sources) + len(m.unused_keys) == iv2_golden["num_keys"]
    assert {k.split(".")[1] for k in m.unused_keys if k.startswith("vision_encoder.")} == {
        "clip_decoder", "final_clip_decoder", "clip_pos_embed", "clip_img_pos_embed"}
    assert "temp" in m.unused_keys and "text_encoder.embeddings.position_ids" in m.unused_keys
    assert m.num_frames == 4


def test_unknown_checkpoint_key_is_refused(hub, tmp_path):
    state = torch.load(IV2 / "internvideo2_1b_stage2.pth", weights_only=True)
    state["module"]["vision_encoder.extra"] = torch.zeros(1)
    torch.save(state, tmp_path / "internvideo2_1b_stage2.pth")
    with pytest.raises(ValueError, match="vision_encoder.extra"):
        t2v_core.CLIPScore(model="internvideo2-1b-stage2-clip", device="cpu", path=str(tmp_path))


def test_probability_option_is_the_softmax(hub, iv2_golden):
    logit = t2v_core.ITMScore(model="internvideo2-1b-stage2-itm", device="cpu")
    prob = t2v_core.ITMScore(model="internvideo2-1b-stage2-itm", device="cpu", itm_output="probability")
    p = prob(images=VIDEOS[:1], texts=iv2_golden["texts"][:2])
    m = logit.model
    with torch.no_grad():
        item = m.load_media(VIDEOS[:1])[0]
        tokens = m.model.encode_video(m.preprocess(m.media_frames(item)).unsqueeze(0))[0]
        for j, text in enumerate(iv2_golden["texts"][:2]):
            enc = m.tokenizer([text], return_tensors="pt")
            feats = m.model.text_encoder.encode_text(enc["input_ids"], enc["attention_mask"])
            fused = m.model.text_encoder.fuse(feats, enc["attention_mask"], tokens,
                                              torch.ones(tokens.shape[:2], dtype=torch.long))
            two = m.model.itm_head(fused[:, 0])[0]
            assert abs(float(two.softmax(-1)[1]) - float(p[0, j])) < 1e-5
            assert abs(float(two[1]) - iv2_golden["itm"][0][j]) < 1e-4 * abs(float(two[1]))


def test_image_is_a_one_frame_input_with_the_image_position_table(hub):
    """An image is encoded as one frame with the checkpoint's image position table; a video file, even of
    one frame, is sampled to 4 frames (repeats) and uses the video table."""
    score = t2v_core.CLIPScore(model="internvideo2-1b-stage2-clip", device="cpu")
    m = score.model
    img = random_images(1, size=(80, 60), seed=3)[0]
    got = score(images=[img], texts=["a cat", "a dog"])
    with torch.no_grad():
        pixels = m.preprocess([img]).unsqueeze(0)  # (1, T=1, 3, 224, 224)
        tokens, pooled = m.model.vision_encoder(pixels.permute(0, 2, 1, 3, 4))
        assert tokens.shape[1] == m.model.vision_encoder.img_pos_embed.shape[1]
        v = torch.nn.functional.normalize(m.model.vision_proj(pooled), dim=-1)
        enc = m.tokenizer(["a cat", "a dog"], padding=True, return_tensors="pt")
        t = m.model.text_proj(m.model.text_encoder.encode_text(enc["input_ids"], enc["attention_mask"])[:, 0])
        want = v @ torch.nn.functional.normalize(t, dim=-1).T
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-7)
    still = score(images=[t2v_core.media.Video.from_frames([np.asarray(img)])], texts=["a cat", "a dog"])
    assert not torch.allclose(got, still, rtol=1e-3, atol=0)


@pytest.mark.parametrize("kind", ["clip", "itm"])
def test_conformance(hub, kind):
    check_scorer(FRONT[kind](model=f"internvideo2-1b-stage2-{kind}", device="cpu"),
                 images=random_images(2, size=(70, 50)) + [VIDEOS[2]], texts=["a red car", "two dogs in snow"])
