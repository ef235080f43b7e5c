"""HPSv2 / HPSv2.1: the HPS checkpoint files under the fake xswu/HPSv2 repo, loaded by the production code."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torchvision.transforms import functional as F

import t2v_core
from t2v_core.testing import check_scorer

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def hps_preprocess(image: Image.Image, size: int) -> torch.Tensor:
    """HPSv2's validation transform, written out: longest side to ``size`` (bicubic), zero-pad to a square."""
    w, h = image.size
    scale = size / max(w, h)
    nh, nw = round(h * scale), round(w * scale)
    image = image.resize((nw, nh), Image.BICUBIC) if (nw, nh) != (w, h) else image
    pw, ph = size - nw, size - nh
    image = F.pad(image, [pw // 2, ph // 2, pw - pw // 2, ph - ph // 2], fill=0)
    return F.normalize(F.to_tensor(image), OPENAI_MEAN, OPENAI_STD)


def hps_reference(model, image, text) -> float:
    """HPS of one pair as HPSv2's img_score computes it: model(image, text) features, dot product."""
    import open_clip

    with torch.no_grad():
        out = model(hps_preprocess(image, model.visual.image_size[0]).unsqueeze(0),
                    open_clip.tokenize([text], context_length=77))  # ViT-H-14's tokenizer: CLIP BPE, 77
    img, txt = (out["image_features"], out["text_features"]) if isinstance(out, dict) else out[:2]
    return float((img @ txt.T)[0, 0])


@pytest.mark.parametrize("name", ["hpsv2", "hpsv2.1"])
def test_hps_equals_the_reference_computation(hub, name, images, texts):
    score = t2v_core.CLIPScore(model=name, device="cpu")
    got = score(images=images, texts=texts)
    want = torch.tensor([[hps_reference(hub[name], im, t) for t in texts] for im in images])
    assert float((got - want).abs().max() / want.abs().max()) < 1e-5, (got, want)
    assert score.model.scale == 1.0


def test_v2_and_v21_read_their_own_checkpoint_files(hub, images, texts):
    v20 = t2v_core.CLIPScore(model="hpsv2", device="cpu")
    v21 = t2v_core.CLIPScore(model="hpsv2.1", device="cpu")
    assert not torch.allclose(v20(images=images[:1], texts=texts), v21(images=images[:1], texts=texts))
    assert v20.provenance["weights"] == ["xswu/HPSv2/HPS_v2_compressed.pt"]
    assert v21.provenance["weights"] == ["xswu/HPSv2/HPS_v2.1_compressed.pt"]
    assert v20.provenance["weights_revision"]


def test_local_checkpoint_path(hub, images, texts, tmp_path):
    import shutil

    src = next((hub["cache"] / "models--xswu--HPSv2").rglob("HPS_v2.1_compressed.pt"))
    local = tmp_path / "hps.pt"
    shutil.copy(src, local)
    a = t2v_core.CLIPScore(model="hpsv2", device="cpu", checkpoint=str(local))(images=images[:2], texts=texts)
    b = t2v_core.CLIPScore(model="hpsv2.1", device="cpu")(images=images[:2], texts=texts)
    assert torch.allclose(a, b)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        t2v_core.CLIPScore(model="hpsv2", device="cpu", checkpoint=str(tmp_path / "missing.pt"))


def test_hps_conformance(hub, images):
    check_scorer(t2v_core.CLIPScore(model="hpsv2", device="cpu"), images=images[:3],
                 texts=["a photo of a cat", "two dogs playing in the snow"])
