"""Compute only what is read, and no host sync inside the batch loop, on the llava-v1.5-7b fixture."""

from __future__ import annotations

import torch
from _llava_helpers import reference_image

from t2v_core.testing import count_host_syncs


def test_trimmed_tower_equals_the_stock_towers_second_to_last_layer(llava, golden):
    """The scorer's tower lost its last layer; its features equal the full stock tower's hidden_states[-2]
    (CLS dropped), read from transformers' own CLIPVisionModel of the same repo."""
    from transformers import CLIPVisionModel

    scorer = llava.model
    stock = CLIPVisionModel.from_pretrained(scorer.config["mm_vision_tower"]).eval()
    n = stock.config.num_hidden_layers
    tower = scorer.model.vision_tower
    assert scorer.model.select_layer == -1 and tower.config.num_hidden_layers == n - 1
    assert len(tower.vision_model.encoder.layers if hasattr(tower, "vision_model") else tower.encoder.layers) == n - 1
    pixels = scorer._pixels([reference_image(name) for name in golden["images"][:2]])
    with torch.inference_mode():
        want = scorer.model.mm_projector(stock(pixels, output_hidden_states=True).hidden_states[-2][:, 1:])
        got = scorer.model.encode_images(pixels)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) < 1e-5


def test_untrimmed_load_keeps_every_layer(offline_hub):
    from t2v_llava.modeling import load_llava

    model, cfg, _ = load_llava("liuhaotian/llava-v1.5-7b", dtype=torch.float32, device="cpu", trim=False)
    assert model.select_layer == int(cfg.get("mm_vision_select_layer", -2))
    assert model.trim_vision_tower() == 1 and model.select_layer == -1


def test_no_sync_inside_the_batch_loop(llava, golden):
    images = [reference_image(name) for name in golden["images"]]
    texts = golden["texts"]
    scorer = llava.model
    old = scorer.batch_size
    scorer.batch_size = 1  # every image its own block, every pair its own suffix batch
    try:
        want = llava(images=images, texts=texts)
        with count_host_syncs(scorer.model.language_model.model, scorer.model.vision_tower) as syncs:
            got = llava(images=images, texts=texts)
    finally:
        scorer.batch_size = old
    assert torch.equal(got, want)
    assert syncs.sites("t2v_llava/") == []
