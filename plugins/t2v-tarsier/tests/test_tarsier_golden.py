"""Scores equal the reference's (golden.json: its vendored Tarsier code on the tiny checkpoint, transformers
4.49), as one M x N call, pair by pair and through batch_forward."""

from __future__ import annotations

import pytest
import torch
from tarsier_testutils import rel

import t2v_core
from t2v_core.media import load_media


@pytest.mark.parametrize("name", ["tarsier2-7b", "tarsier-recap-7b"])
def test_m_by_n_matches_golden(golden, hub, name):
    import hashlib

    score = t2v_core.VQAScore(model=name, device="cpu")
    repo = score.spec.weights[0]
    assert score.provenance["weights_revision"] == hashlib.sha1(repo.encode()).hexdigest()  # the fake snapshot
    got = score(videos=golden["video_paths"], texts=golden["texts"])
    assert tuple(got.shape) == (2, 3)
    assert rel(got, golden["matrix"]) < 1e-4


def test_pair_by_pair_and_without_prefix_reuse(golden, hub):
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    got = [[float(score(videos=[v], texts=[t])[0, 0]) for t in golden["texts"]] for v in golden["video_paths"]]
    assert rel(got, golden["matrix"]) < 1e-4
    whole = t2v_core.VQAScore(model="tarsier2-7b", device="cpu", prefix_reuse=False, batch_size=4)
    assert rel(whole(videos=golden["video_paths"], texts=golden["texts"]), golden["matrix"]) < 1e-4


@pytest.mark.parametrize("batch_size", [1, 2])
def test_batch_forward_matches_golden(golden, hub, batch_size):
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    rows = score.batch_forward([{"videos": [v], "texts": golden["texts"]} for v in golden["video_paths"]],
                               batch_size=batch_size)
    assert rel(rows[:, 0, :], golden["matrix"]) < 1e-4
    pairs = [(i, j) for i in range(2) for j in range(3)]
    single = score.batch_forward([{"videos": [golden["video_paths"][i]], "texts": [golden["texts"][j]]}
                                  for i, j in pairs], batch_size=batch_size)
    assert rel(single[:, 0, 0], [golden["matrix"][i][j] for i, j in pairs]) < 1e-4


def test_plain_softmax_without_generation_config(golden, hub):
    # generation_config="none" drops the checkpoint's repetition penalty: the reference's plain forward softmax
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu", generation_config="none")
    got = score(videos=golden["video_paths"], texts=golden["texts"])
    plain = [[golden["inputs"][f"{v}|{t}"]["plain_softmax"] for t in golden["texts"]] for v in golden["videos"]]
    assert rel(got, plain) < 1e-4
    assert rel(got, golden["matrix"]) > 1e-3  # the penalty moves scores well beyond the tolerance


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_prompt_and_pixels_are_the_references(golden, hub, backend):
    pytest.importorskip("decord") if backend == "decord" else None
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    scorer = score.model
    for v, path in zip(golden["videos"], golden["video_paths"]):
        prepared = scorer.prepare(load_media(path, video_backend=backend))
        for t in golden["texts"]:
            ref = golden["inputs"][f"{v}|{t}"]
            inputs = scorer.processor_inputs([scorer.render(golden["question_template"].format(t), prepared)],
                                             [prepared])
            assert inputs["input_ids"][0].tolist() == ref["input_ids"]
            assert inputs["image_grid_thw"].tolist() == ref["image_grid_thw"]
            assert abs(float(inputs["pixel_values"].double().sum()) - ref["pixel_values_sum"]) < 1e-6 * abs(
                ref["pixel_values_sum"])


def test_native_positions_would_not_match(golden, hub):
    # transformers' own Qwen2-VL positions continue after a video from its spatial extent, Tarsier's from its
    # last position + 1: with the native rule the scores leave the reference's
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    inner = score.model.model.model
    del inner.get_rope_index  # back to the class's method
    score.model.use_prefix_reuse = False  # whole prompts: positions come from the forward alone
    got = score(videos=golden["video_paths"], texts=golden["texts"])
    assert rel(got, golden["matrix"]) > 1e-3
    assert torch.isfinite(got).all()


def test_pre_resize_is_the_references(golden, hub):
    # a per-frame cap below the fixtures' frame sizes: Tarsier's own resize runs before the image processor
    score = t2v_core.VQAScore(model="tarsier2-7b", device="cpu", max_pixels=3000)
    for v, path in zip(golden["videos"], golden["video_paths"]):
        ref = golden["pre_resize"][v]
        patches, grid = score.model.prepare(load_media(path)).data
        assert [list(grid)] == ref["image_grid_thw"]
        assert abs(float(patches.double().sum()) - ref["pixel_values_sum"]) < 1e-6 * ref["pixel_values_abs_sum"]
        assert abs(float(patches.double().abs().sum()) - ref["pixel_values_abs_sum"]) < 1e-6 * ref["pixel_values_abs_sum"]
    default = t2v_core.VQAScore(model="tarsier2-7b", device="cpu")
    assert list(default.model.prepare(load_media(golden["video_paths"][0])).data[1]) == [16, 4, 6]
