"""image_aspect_ratio="anyres": LLaVA-1.6 as its authors run it, checked against native transformers pieces
(``select_best_resolution`` and ``LlavaNextModel.pack_image_features``, which implement the same AnyRes layout)
and the test's own re-implementation of the forward and score."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from _llava_helpers import CLIP, LLAVA16, ReferenceLlava, reference_image, snapshot
from PIL import Image


def _native_anyres_features(ref: ReferenceLlava, image: Image.Image, pinpoints: list, newline: torch.Tensor):
    from transformers.image_processing_utils import select_best_resolution
    from transformers.models.llava_next.modeling_llava_next import LlavaNextModel

    w, h = image.size
    tile = ref.proc.crop_size["height"]
    # the config lists (width, height); transformers' helpers take (height, width)
    pins_hw = [[p[1], p[0]] for p in pinpoints]
    th, tw = select_best_resolution((h, w), pins_hw)
    scale = min(tw / w, th / h)
    import math

    nw, nh = (tw, min(math.ceil(h * scale), th)) if tw / w < th / h else (min(math.ceil(w * scale), tw), th)
    canvas = Image.new("RGB", (tw, th), (0, 0, 0))
    canvas.paste(image.resize((nw, nh), Image.Resampling.BICUBIC), ((tw - nw) // 2, (th - nh) // 2))
    grid = [canvas.crop((x, y, x + tile, y + tile)) for y in range(0, th, tile) for x in range(0, tw, tile)]
    feats = ref.features([image.resize((tile, tile), Image.Resampling.BICUBIC)] + grid)
    fake = SimpleNamespace(config=SimpleNamespace(
        vision_config=SimpleNamespace(image_size=tile, patch_size=14), image_grid_pinpoints=pins_hw))
    packed, lens = LlavaNextModel.pack_image_features(fake, [feats], torch.tensor([[h, w]]), "default", newline)
    return packed[0] if isinstance(packed, (list, tuple)) else packed


@pytest.mark.parametrize("name", ["wide_rgb.png", "tall_rgb.jpg", "square_rgb.png"])
def test_anyres_matches_native_layout(name, golden, offline_hub, tiny_weights):
    import t2v_core

    w = tiny_weights["llava16"]
    score = t2v_core.VQAScore(model="llava-v1.6-13b", device="cpu", image_aspect_ratio="anyres")
    ref = ReferenceLlava(offline_hub, LLAVA16, w["lm"], w["tower"], CLIP)
    pinpoints = json.loads((snapshot(offline_hub, LLAVA16) / "config.json").read_text())["image_grid_pinpoints"]
    img = reference_image(name)
    feats = _native_anyres_features(ref, img, pinpoints, w["lm"]["model.image_newline"])
    mine = score.model.encode_images([img])[0]
    assert mine.shape == feats.shape and mine.shape[0] > 16  # more than the one padded tile's 16 tokens
    assert torch.allclose(mine, feats, rtol=1e-4, atol=1e-5)
    texts = golden["texts"][:2]
    got = score(images=[img, reference_image("gray.png")], texts=texts)
    want = torch.tensor([ref.score_features(feats, f'Does this figure show "{t}"? Please answer yes or no.', "Yes")
                         for t in texts])
    assert float(((got[0] - want).abs() / want).max()) < 1e-4
    # the reference's default (one padded tile) gives other numbers
    assert not torch.allclose(t2v_core.VQAScore(model="llava-v1.6-13b", device="cpu")(images=[img], texts=texts)[0],
                              got[0], rtol=1e-3)


def test_anyres_needs_pinpoints(offline_hub):
    import t2v_core

    with pytest.raises(ValueError, match="image_grid_pinpoints"):
        t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", image_aspect_ratio="anyres")
