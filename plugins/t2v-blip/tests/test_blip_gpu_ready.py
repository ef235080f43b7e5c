"""No host sync inside the batch loops of InstructBLIP and BLIP-2 ITM: scores stay on the device until the
call returns."""

from __future__ import annotations

import pytest
import torch
from _blip_helpers import golden, reference_image

from t2v_core.testing import count_host_syncs

VQA = golden("instructblip-flant5-xl.json")


@pytest.mark.parametrize("which", ["instructblip", "itm"])
def test_no_sync_inside_the_batch_loop(which, request):
    score = request.getfixturevalue(which)
    scorer = score.model
    images = [reference_image(n) for n in VQA["images"]]
    texts = VQA["texts"]
    modules = [scorer.vision_model, scorer.model.qformer]
    if which == "instructblip":
        modules.append(scorer.model.language_model)
    old = scorer.batch_size
    scorer.batch_size = 1
    try:
        want = score(images=images, texts=texts)
        with count_host_syncs(*modules) as syncs:
            got = score(images=images, texts=texts)
    finally:
        scorer.batch_size = old
    assert torch.equal(got, want) and torch.isfinite(got).all()
    assert syncs.sites("t2v_blip/") == []
