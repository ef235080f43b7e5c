"""T2VMetric: torchmetrics' update / compute / reset contract over any scorer, synced across DDP ranks."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
from PIL import Image
from t2v_example.scorer import example_score

from t2v_core import T2VMetric

Q = 'Does this figure show "{}"?'


def _images(values):
    return [Image.fromarray(np.full((6, 6, 3), v, np.uint8)) for v in values]


def test_update_compute_reset_give_the_mean_of_the_pairs():
    m = T2VMetric("example", device="cpu")
    imgs, texts = _images([0, 90, 255]), ["a", "b", "c"]
    batch = m(imgs[:2], texts[:2])
    m.update(imgs[2:], texts[2:])
    want = [example_score(i, Q.format(t), "Yes") for i, t in zip(imgs, texts)]
    assert abs(float(batch) - np.mean(want[:2])) < 1e-6
    assert abs(float(m.compute()) - np.mean(want)) < 1e-6
    assert m.compute_counts() == {"scored": 3, "failed": 0}
    m.reset()
    assert torch.isnan(m.compute()) and m.compute_counts() == {"scored": 0, "failed": 0}


def test_a_clip_model_keeps_the_aligned_pairs_only():
    from t2v_core import CLIPScore

    m = T2VMetric("example-clip", device="cpu")
    imgs, texts = _images([10, 200]), ["red", "a longer text"]
    m.update(imgs, texts)
    full = CLIPScore(model="example-clip", device="cpu")(images=imgs, texts=texts)
    assert abs(float(m.compute()) - float(full.diagonal().mean())) < 1e-6


def test_bad_inputs_are_named():
    m = T2VMetric("example", device="cpu")
    with pytest.raises(ValueError, match="Expected as many texts as images"):
        m.update(_images([1, 2]), ["only one"])


def _worker(rank: int, port: int, values: list[list[int]], out: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "T2V_PLUGINS": "example"})
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    try:
        m = T2VMetric("example", device="cpu")
        imgs = _images(values[rank])
        m.update(imgs, [f"t{rank}{k}" for k in range(len(imgs))])
        torch.save({"mean": m.compute(), "counts": m.compute_counts(), "local_n": int(m.n)}, f"{out}.{rank}")
    finally:
        torch.distributed.destroy_process_group()


def test_states_are_synced_across_two_ddp_ranks(tmp_path):
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    values = [[0, 50, 100], [255]]  # unequal shards: a mean of the ranks' means would be wrong
    mp.spawn(_worker, args=(port, values, str(tmp_path / "r")), nprocs=2, join=True)
    want = np.mean([example_score(i, Q.format(f"t{r}{k}"), "Yes")
                    for r in range(2) for k, i in enumerate(_images(values[r]))])
    for rank in range(2):
        got = torch.load(tmp_path / f"r.{rank}")
        assert abs(float(got["mean"]) - want) < 1e-6
        assert got["counts"] == {"scored": 4, "failed": 0} and got["local_n"] == len(values[rank])
