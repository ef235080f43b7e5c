"""GPU readiness, checked on CPU: the attention kernel asked for at load time, and no host-device
synchronisation inside the batch loops (every read stays on the device until the call returns)."""

from __future__ import annotations

import pytest
import torch
from t2v_hf.loading import transformers_version

import t2v_core
from t2v_core.testing import count_host_syncs

pytestmark = pytest.mark.skipif(transformers_version() < (4, 57),
                                reason="the tiny Qwen2-VL test checkpoint needs transformers >= 4.57 classes")

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana", "a cat"]


def test_sdpa_by_default_and_the_option_overrides(tiny_checkpoint):
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    assert score.model.attn_implementation == "sdpa"
    assert score.model.model.config._attn_implementation == "sdpa"
    eager = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu",
                              attn_implementation="eager")
    assert eager.model.model.config._attn_implementation == "eager"


def test_the_counter_sees_a_sync(tiny_checkpoint, images):
    """The instrument itself: a read of the model's output on the host is recorded, with its line."""
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    model = score.model.model
    with count_host_syncs(model) as syncs:
        out = model(input_ids=torch.tensor([[1, 2, 3]]))
        float(out.logits[0, -1, 0])
        if out.logits.sum() > 0:
            pass
        out.logits[0, -1].tolist()
    assert [m for m, _ in syncs.sites("test_hf_gpu_ready.py")] == ["__float__", "__bool__", "tolist"]


@pytest.mark.parametrize("answer_likelihood", ["first", "full"])
@pytest.mark.parametrize("prefix_reuse", [True, False])
def test_no_sync_inside_the_batch_loops(tiny_checkpoint, images, prefix_reuse, answer_likelihood):
    """batch_size=1 makes every pair its own batch: 3 images x 4 texts = 12 forward passes over the
    suffixes (or whole prompts), none of whose outputs is read on the host before the call returns. The
    one documented exception is mrope's next position, one int per image (Qwen-VL family only)."""
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu", batch_size=1,
                              prefix_reuse=prefix_reuse, answer_likelihood=answer_likelihood)
    answer = "Yes, a cat" if answer_likelihood == "full" else "Yes"
    expected = score(images=images, texts=TEXTS, answer_template=answer)
    with count_host_syncs(score.model.model) as syncs:
        got = score(images=images, texts=TEXTS, answer_template=answer)
    assert torch.equal(got, expected) and torch.isfinite(got).all()
    ours = syncs.sites("t2v_hf/")
    allowed = {"next_position"}
    bad = [s for s in ours if not any(a in _function_at(s[1]) for a in allowed)]
    assert bad == [], f"host syncs inside the batch loop: {bad}"
    # mrope's next position: at most one per image and call, never one per batch
    assert len(ours) <= len(images)


def _function_at(site: str) -> str:
    """The name of the function that holds ``file:line``."""
    import ast

    path, line = site.rsplit(":", 1)
    tree = ast.parse(open(path).read())
    best = ""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.lineno <= int(line) <= (node.end_lineno or 0):
            best = node.name
    return best


def test_bf16_is_honoured_at_load_time(tiny_checkpoint, images):
    """dtype='bf16' (the CUDA default) reaches from_pretrained: weights and pixels in bf16, scores near fp32's."""
    fp32 = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    bf16 = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu", dtype="bf16")
    assert {p.dtype for p in bf16.model.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in fp32.model.model.parameters()} == {torch.float32}
    inputs = bf16.model._to_device({"pixel_values": torch.rand(2, 3), "input_ids": torch.tensor([[1, 2]]),
                                    "second_per_grid_ts": torch.tensor([0.5])})
    assert inputs["pixel_values"].dtype == torch.bfloat16 and inputs["input_ids"].dtype == torch.long
    assert inputs["second_per_grid_ts"].dtype == torch.float32  # temporal positions are never rounded to bf16
    a, b = bf16(images=images[:2], texts=TEXTS[:2]), fp32(images=images[:2], texts=TEXTS[:2])
    assert float(((a - b).abs() / b).max()) < 0.05


def test_preferred_kernel_refused_falls_back_but_an_asked_one_never(tiny_checkpoint, monkeypatch):
    """flash attention 2 preferred (as on CUDA with flash_attn) but unusable here: the load falls back to
    transformers' default; the same kernel asked for by name fails loudly instead."""
    import t2v_hf.scorer as hf_scorer

    monkeypatch.setattr(hf_scorer, "preferred_attn_implementation", lambda device: "flash_attention_2")
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    assert score.model.attn_implementation == "sdpa"
    with pytest.raises(Exception, match="(?i)flash"):
        t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu",
                          attn_implementation="flash_attention_2")
