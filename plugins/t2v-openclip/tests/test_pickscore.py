"""PickScore: a tiny transformers CLIPModel under yuvalkirstain/PickScore_v1, processor under the laion repo."""

from __future__ import annotations

import warnings

import pytest
import torch
from t2v_openclip import CaptionTruncationWarning

import t2v_core
from t2v_core.testing import check_scorer


def pickscore_reference(model, processor, image, text) -> float:
    """PickScore of one pair as its model card computes it."""
    with torch.no_grad():
        pix = processor(images=[image], return_tensors="pt")
        tok = processor(text=[text], padding=True, truncation=True, max_length=77, return_tensors="pt")
        img = model.get_image_features(**pix)
        txt = model.get_text_features(**tok)
    img = img if isinstance(img, torch.Tensor) else img.pooler_output
    txt = txt if isinstance(txt, torch.Tensor) else txt.pooler_output
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return float(model.logit_scale.detach().exp() * (txt @ img.T)[0, 0])


@pytest.fixture(scope="module")
def pick(hub):
    return t2v_core.CLIPScore(model="pickscore-v1", device="cpu")


def test_pickscore_equals_the_model_card_computation(hub, pick, images, texts):
    got = pick(images=images, texts=texts)
    want = torch.tensor([[pickscore_reference(hub["pickscore"], hub["pickscore_processor"], im, t)
                          for t in texts] for im in images])
    assert float((got - want).abs().max() / want.abs().max()) < 1e-5, (got, want)
    assert pick.model.scale == pytest.approx(float(hub["pickscore"].logit_scale.detach().exp()))


def test_unscaled_pickscore_is_the_cosine(hub, pick, images, texts):
    plain = t2v_core.CLIPScore(model="pickscore-v1", device="cpu", scaled=False)
    assert torch.allclose(plain(images=images, texts=texts) * pick.model.scale, pick(images=images, texts=texts),
                          rtol=1e-5, atol=1e-5)
    assert plain.provenance["score_scale"] == 1.0


def test_pickscore_long_caption_warns(pick, images):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        pick(images=images[:1], texts=["a cat", "dog " * 100])
    mine = [w for w in caught if issubclass(w.category, CaptionTruncationWarning)]
    assert len(mine) == 1 and "1 of 2 captions" in str(mine[0].message) and "by 25" in str(mine[0].message)


def test_pickscore_conformance(pick, images):
    check_scorer(pick, images=images[:3], texts=["a photo of a cat", "two dogs playing in the snow"])
