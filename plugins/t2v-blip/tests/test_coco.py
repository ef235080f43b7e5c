"""The -coco pair (Salesforce/blip2-itm-vit-g-coco, 364 px) on a tiny checkpoint of that layout, against a
plain forward of transformers' Blip2ForImageTextRetrieval on independently made pixels."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from _blip_helpers import BLIP2_REPO, GOLDEN, RTOL, golden, reference_image, rel, snapshot

import t2v_core
from t2v_core.testing import make_fake_hf_cache, offline_hf_cache

COCO_REPO = "Salesforce/blip2-itm-vit-g-coco"
ITM = golden("blip2-itm.json")


@pytest.fixture(scope="module")
def coco(offline_hub, tmp_path_factory):
    """A random 364 px checkpoint with the fixture's tokenizer, in its own offline cache, and the model."""
    from transformers import Blip2Config, Blip2ForImageTextRetrieval

    src = snapshot(offline_hub, BLIP2_REPO)
    config = json.loads((src / "config.json").read_text())
    config["vision_config"]["image_size"] = 364
    torch.manual_seed(3)
    model = Blip2ForImageTextRetrieval(Blip2Config(**config)).eval()
    with torch.no_grad():  # larger weights than the default init, so that scores vary visibly
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.15)
    out = tmp_path_factory.mktemp("coco")
    model.save_pretrained(out / "ckpt")
    for f in src.iterdir():
        if f.is_file() and f.name not in ("config.json", "model.safetensors"):
            shutil.copy(f, out / "ckpt" / f.name)
    cache = out / "hub"
    make_fake_hf_cache(cache, COCO_REPO, out / "ckpt")
    return cache, model


def _plain(model, images, texts, itm: bool) -> torch.Tensor:
    """Blip2ForImageTextRetrieval's own forward, pixels from transformers' PIL Blip image processor at 364."""
    from transformers import AutoTokenizer, BlipImageProcessorPil

    proc = BlipImageProcessorPil(
        size={"height": 364, "width": 364},
        resample=3,
        do_convert_rgb=False,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    pixels = proc(images=images, return_tensors="pt")["pixel_values"]
    assert pixels.shape[-2:] == (364, 364)
    tok = AutoTokenizer.from_pretrained(COCO_REPO)
    t = tok(texts, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    # the checkpoint sets image_token_index: the model expects 32 query placeholders before the text
    n = model.config.num_query_tokens
    ids = torch.cat([torch.full((len(texts), n), model.config.image_token_index), t.input_ids], 1)
    mask = torch.cat([torch.ones(len(texts), n, dtype=torch.long), t.attention_mask], 1)
    model.vision_model.post_layernorm.eps = 1e-5  # LAVIS's ln_vision
    with torch.no_grad():
        if not itm:
            return model(
                pixel_values=pixels, input_ids=ids, attention_mask=mask, use_image_text_matching_head=False
            ).logits_per_image
        out = torch.empty(len(images), len(texts))
        for i in range(len(images)):
            logits = model(
                pixel_values=pixels[i : i + 1].expand(len(texts), -1, -1, -1),
                input_ids=ids,
                attention_mask=mask,
                use_image_text_matching_head=True,
            ).logits_per_image
            out[i] = logits.softmax(-1)[:, 1]
        return out


@pytest.mark.parametrize("name", ["blip2-itm-coco", "blip2-itc-coco"])
def test_coco_at_364_px_equals_a_plain_forward(name, coco):
    cache, model = coco
    images = [reference_image(n) for n in ITM["images"]]
    texts = ITM["texts"]
    with offline_hf_cache(cache):
        kind = t2v_core.ITMScore if "itm" in name else t2v_core.CLIPScore
        score = kind(model=name, device="cpu", batch_size=4)
        assert score.model.image_size == 364 and score.model.pixels(images[:1]).shape[-2:] == (364, 364)
        got = score(images=images, texts=texts)
        want = _plain(model, images, texts, itm="itm" in name)
    assert rel(got, want) < RTOL, (got, want)
    assert float(got.std()) > 1e-3  # the check is not vacuous: scores differ across pairs
    paths = [str(GOLDEN / "images" / n) for n in ITM["images"]]
    with offline_hf_cache(cache):
        assert rel(score(images=paths[:2], texts=texts[:1]), want[:2, :1]) < RTOL
