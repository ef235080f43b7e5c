"""Loading the original layouts: every checkpoint key accounted for, clear errors on anything else."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from _llava_helpers import LLAVA15, snapshot


def _copy(offline_hub, tmp_path):
    dest = tmp_path / "ckpt"
    shutil.copytree(snapshot(offline_hub, LLAVA15), dest)
    return dest


def test_every_fixture_key_is_used(llava, offline_hub):
    """All 23 tensors of the fixture checkpoint land in the model, equal to the file's (none left over)."""
    model = llava.model.model
    state = {}
    for f in sorted(snapshot(offline_hub, LLAVA15).glob("*.bin")):
        state.update(torch.load(f, weights_only=True))
    assert llava.model.unused_keys == []
    lm = model.language_model.state_dict()
    for k, v in state.items():
        if k.startswith("model.mm_projector."):
            got = model.mm_projector.state_dict()[k[len("model.mm_projector."):]]
        else:
            got = lm[k]
        assert torch.equal(got, v), k


def test_unknown_key_is_refused(offline_hub, tmp_path):
    from t2v_llava.modeling import CheckpointLayoutError, load_llava

    ckpt = _copy(offline_hub, tmp_path)
    for f in ckpt.glob("pytorch_model-*.bin"):
        f.unlink()
    (ckpt / "pytorch_model.bin.index.json").unlink()
    state = {}
    for f in sorted(snapshot(offline_hub, LLAVA15).glob("*.bin")):
        state.update(torch.load(f, weights_only=True))
    torch.save({**state, "model.mm_resampler.weight": torch.zeros(2)}, ckpt / "pytorch_model.bin")
    with pytest.raises(CheckpointLayoutError, match="mm_resampler"):
        load_llava(str(ckpt), dtype=torch.float32, device="cpu")
    del state["model.layers.1.mlp.up_proj.weight"]
    torch.save(state, ckpt / "pytorch_model.bin")
    with pytest.raises(CheckpointLayoutError, match="up_proj"):
        load_llava(str(ckpt), dtype=torch.float32, device="cpu")


def test_converted_layout_is_refused_with_the_reason(offline_hub, tmp_path):
    from t2v_llava.modeling import CheckpointLayoutError, read_config

    ckpt = _copy(offline_hub, tmp_path)
    (ckpt / "config.json").write_text(json.dumps({"model_type": "llava", "text_config": {}, "vision_config": {}}))
    with pytest.raises(CheckpointLayoutError, match="llava-hf conversion"):
        read_config(str(ckpt))


def test_checkpoint_option_loads_a_local_folder(golden, offline_hub, tmp_path):
    from _llava_helpers import reference_image

    import t2v_core

    ckpt = _copy(offline_hub, tmp_path)
    score = t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", checkpoint=str(ckpt))
    assert score.model.weights_revision == str(ckpt.resolve())
    got = score(images=[reference_image(golden["images"][1])], texts=golden["texts"][:2])
    want = torch.tensor(golden["cases"][0]["scores"][1][:2])
    assert float(((got[0] - want).abs() / want).max()) < 1e-4


def test_bad_options_are_refused(offline_hub):
    import t2v_core

    with pytest.raises(TypeError, match="image_grid"):
        t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", image_grid=3)
    with pytest.raises(ValueError, match="image_aspect_ratio"):
        t2v_core.VQAScore(model="llava-v1.5-7b", device="cpu", image_aspect_ratio="tiles")


def test_image_token_in_text_is_refused(llava):
    from t2v_core.testing import random_images

    with pytest.raises(ValueError, match="<image>"):
        llava(images=random_images(1), texts=["a <image> of a dog"])
