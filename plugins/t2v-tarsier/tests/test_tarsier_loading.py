"""The load-time mapping accounts for every checkpoint key and config field, and refuses what it cannot map."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from tarsier_testutils import TINY

import t2v_core


def variant(tmp_path, config=None, tensors=None, template=None):
    """A copy of the tiny checkpoint folder with its config, tensors or chat template changed."""
    folder = tmp_path / "ckpt"
    shutil.copytree(TINY, folder)
    if config is not None:
        raw = json.loads((folder / "config.json").read_text())
        config(raw)
        (folder / "config.json").write_text(json.dumps(raw))
    if tensors is not None:
        sd = load_file(str(folder / "model.safetensors"))
        tensors(sd)
        save_file(sd, str(folder / "model.safetensors"))
    if template is not None:
        (folder / "chat_template.json").write_text(json.dumps({"chat_template": template}))
    return str(folder)


def build(folder):
    return t2v_core.VQAScore(model="tarsier2-7b", device="cpu", checkpoint=folder)


def test_every_key_maps_and_the_folder_loads(tmp_path, golden):
    from t2v_tarsier.loading import check_keys, checkpoint_keys, key_mapping, native_config

    raw = json.loads((TINY / "config.json").read_text())
    config = native_config(raw, "tiny")
    keys = checkpoint_keys(str(TINY))
    assert keys == golden["checkpoint_keys"] and len(keys) == 58
    mapping = key_mapping(config)
    check_keys(keys, mapping, config, "tiny")  # raises on any unaccounted key
    assert {k.split(".")[0] for k in keys} == {"vision_tower", "language_model"}
    score = build(variant(tmp_path))
    assert score.provenance["weights_revision"].endswith("ckpt")
    sd = load_file(str(TINY / "model.safetensors"))
    native = score.model.model.state_dict()
    for key in ("vision_tower.merger.mlp.2.weight", "vision_tower.patch_embed.proj.weight"):
        assert torch.equal(native[mapping[r"^vision_tower\."] + key.removeprefix("vision_tower.")], sd[key])
    lm = mapping[r"^language_model\.model\."]
    assert torch.equal(native[lm + "embed_tokens.weight"], sd["language_model.model.embed_tokens.weight"])
    assert torch.equal(native["lm_head.weight"], sd["language_model.lm_head.weight"])


@pytest.mark.parametrize("change, match", [
    (lambda sd: sd.__setitem__("multi_modal_projector.linear_1.weight", torch.zeros(64, 32)), "match no Qwen2-VL"),
    (lambda sd: sd.pop("vision_tower.merger.ln_q.weight"), "lacks 1 weight"),
    (lambda sd: sd.__setitem__("vision_tower.blocks.9.norm1.weight", torch.zeros(32)), "do not exist"),
])
def test_unaccounted_keys_are_refused(tmp_path, change, match):
    from t2v_tarsier.loading import TarsierLayoutError

    with pytest.raises(TarsierLayoutError, match=match):
        build(variant(tmp_path, tensors=change))


def test_wrong_shapes_are_refused(tmp_path):
    with pytest.raises(Exception, match="(?i)size|shape|mismatch"):
        build(variant(tmp_path, tensors=lambda sd: sd.__setitem__(
            "vision_tower.merger.mlp.2.bias", torch.zeros(65))))


@pytest.mark.parametrize("change, match", [
    (lambda c: c.__setitem__("projection_head", "MLP"), "projection_head"),
    (lambda c: c.pop("projection_head"), "projection_head"),
    (lambda c: c["text_config"].__setitem__("model_type", "llama"), "Tarsier v1"),
    (lambda c: c.__setitem__("image_token_index", 6), "image_token_index"),
    (lambda c: c.__setitem__("architectures", ["LlavaForConditionalGeneration"]), "not a Tarsier"),
])
def test_config_fields_that_do_not_map_are_refused(tmp_path, change, match):
    from t2v_tarsier.loading import TarsierLayoutError

    with pytest.raises(TarsierLayoutError, match=match):
        build(variant(tmp_path, config=change))


def test_template_without_repeated_image_tokens_is_refused(tmp_path):
    raw = json.loads((TINY / "chat_template.json").read_text())["chat_template"]
    one_pad = raw.replace("{% for _ in range(content['num_vision_tokens']) %}<|image_pad|>{% endfor %}",
                          "<|image_pad|>")
    assert one_pad != raw
    with pytest.raises(ValueError, match="num_vision_tokens"):
        build(variant(tmp_path, template=one_pad))


def test_config_as_the_references_save_pretrained_writes_it(tmp_path, golden):
    # the repos' config.json was written by Tarsier's own LlavaConfig.save_pretrained (every legacy
    # PretrainedConfig field in the sub-configs): the same checkpoint with that file scores the same
    from tarsier_testutils import FIXTURES, rel

    saved = json.loads((FIXTURES / "config_as_saved_by_reference.json").read_text())
    assert "add_cross_attention" in saved["text_config"] and "auto_map" in saved["vision_config"]
    folder = variant(tmp_path, config=lambda raw: (raw.clear(), raw.update(saved)))
    score = build(folder)
    assert rel(score(videos=golden["video_paths"], texts=golden["texts"]), golden["matrix"]) < 1e-4
