"""t2v_hf.qwen_vision: the tuned vision towers give the stock towers' outputs, on every installed transformers.

Each case loads one tiny random checkpoint twice, tunes one copy, and feeds both the same patches: several media
items at once (images whose grids leave Qwen2.5-VL edge windows of every shape, and a two-step video), so the
chunk grouping, the per-item split and the patch embedding are all exercised against transformers' own code.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from t2v_hf.loading import transformers_version  # noqa: E402
from t2v_hf.qwen_vision import tune_vision_tower  # noqa: E402
from t2v_hf.testing import build_tiny_qwen_vl  # noqa: E402

LEGACY = transformers_version() < (4, 57)
FAMILIES = ["qwen2_5_vl"] if LEGACY else ["qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5"]
# (t, h, w) in patches: 10 x 14 leaves a bottom row and a right column of partial windows; 16 x 16 tiles
GRIDS = [[1, 10, 14], [2, 8, 8], [1, 16, 16], [1, 6, 4]]


def _visual(model):
    return getattr(model, "visual", None) or model.model.visual


def _tensors(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if hasattr(out, "keys"):
        return [t for k in out.keys() for t in _tensors(out[k])]
    return []


@pytest.fixture(scope="module", params=FAMILIES)
def towers(request, tmp_path_factory):
    folder = build_tiny_qwen_vl(tmp_path_factory.mktemp(request.param) / "ckpt", family=request.param,
                                vision_depth=4, vision_hidden=64, window_size=112, fullatt_block_indexes=[1])
    cls = transformers.AutoModelForImageTextToText if not LEGACY else transformers.Qwen2_5_VLForConditionalGeneration
    stock = cls.from_pretrained(str(folder), attn_implementation="sdpa").eval()
    tuned = cls.from_pretrained(str(folder), attn_implementation="sdpa").eval()
    return request.param, _visual(stock), _visual(tuned), tune_vision_tower(_visual(tuned), "cpu")


def _inputs(visual, grids, seed=0):
    proj = visual.patch_embed.proj
    gen = torch.Generator().manual_seed(seed)
    rows = sum(t * h * w for t, h, w in grids)
    return torch.randn(rows, proj.weight[0].numel(), generator=gen), torch.tensor(grids)


def test_tuned_tower_equals_stock(towers):
    family, stock, tuned, done = towers
    layers = len(tuned.blocks)
    assert done["attention"] == layers, f"{family}: only {done['attention']} of {layers} attention layers batched"
    assert done["one_by_one"] == 0 and done["patch_embed"] == 1
    pixels, grid = _inputs(stock, GRIDS)
    with torch.inference_mode():
        want, got = _tensors(stock(pixels, grid_thw=grid)), _tensors(tuned(pixels, grid_thw=grid))
        # each item alone equals its slice of the batch (the chunks of one item never see another's)
        single = _tensors(tuned(*_inputs(stock, GRIDS[:1])))
    assert len(want) == len(got) and want
    for w, g in zip(want, got):
        assert w.shape == g.shape
        # relative to the output's scale (random towers reach |x| ~ 200): float32 rounding, not a change of sums
        rel = ((w - g).abs().max() / w.abs().max()).item()
        assert rel < 1e-5, f"{family}: max difference {rel:.2e} of the largest output"
    for one, batch in zip(single, got):  # patch-level and merged-token outputs alike: the first item's rows
        part = batch[:one.shape[0]]
        assert one.shape[0] < batch.shape[0] and ((one - part).abs().max() / one.abs().max()).item() < 1e-5


def test_eager_attention_keeps_its_kernel(tmp_path):
    """attn_implementation="eager" is what a user asked for: its layers are not swapped for SDPA. On 4.x such a
    layer builds one dense mask over the whole batch, so the tower then runs item by item (the same numbers);
    on 5.x the eager layers already take one chunk at a time and are left as they are."""
    folder = build_tiny_qwen_vl(tmp_path / "ckpt", family="qwen2_5_vl", vision_depth=2, vision_hidden=64,
                                window_size=112, fullatt_block_indexes=[1])
    cls = transformers.AutoModelForImageTextToText if not LEGACY else transformers.Qwen2_5_VLForConditionalGeneration
    stock, tuned = (_visual(cls.from_pretrained(str(folder), attn_implementation="eager").eval()) for _ in range(2))
    done = tune_vision_tower(tuned, "cpu")
    assert done == {"attention": 0, "one_by_one": int(transformers_version() < (5, 0)), "patch_embed": 1}
    pixels, grid = _inputs(stock, GRIDS)
    with torch.inference_mode():
        for w, g in zip(_tensors(stock(pixels, grid_thw=grid)), _tensors(tuned(pixels, grid_thw=grid))):
            assert ((w - g).abs().max() / w.abs().max()).item() < 1e-5
