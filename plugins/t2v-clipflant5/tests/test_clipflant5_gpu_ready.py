"""No host sync inside the batch loop: every score stays on the device until the call returns."""

from __future__ import annotations

import torch
from _clipflant5_helpers import reference_image

from t2v_core.testing import count_host_syncs


def test_no_sync_inside_the_batch_loop(golden, xxl):
    images = [reference_image(n) for n in golden["images"]]
    texts = golden["texts"]
    scorer = xxl.model
    old = scorer.batch_size
    scorer.batch_size = 1  # every image its own block, every (image, text) job its own batch
    try:
        want = xxl(images=images, texts=texts)
        with count_host_syncs(scorer.model, scorer.model.encoder, scorer.model.clip) as syncs:
            got = xxl(images=images, texts=texts)
    finally:
        scorer.batch_size = old
    assert torch.equal(got, want) and torch.isfinite(got).all()
    assert syncs.sites("t2v_clipflant5/") == []
