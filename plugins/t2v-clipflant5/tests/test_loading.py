"""Checkpoint layouts the loader must read as the Hub has them, each scored against the reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from _clipflant5_helpers import CHECKPOINT, TOKENIZER, TOWER, reference_image, snapshot
from safetensors.torch import save_file

import t2v_core
from t2v_core.testing import make_fake_hf_cache, offline_hf_cache, random_images

RTOL = 1e-4


def _original(hub_cache: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    snap = snapshot(hub_cache, CHECKPOINT)
    config = json.loads((snap / "config.json").read_text())
    return config, torch.load(snap / "pytorch_model.bin", weights_only=True)


def _cache_with(tmp_path: Path, hub_cache: Path, files: dict[str, bytes | str]) -> Path:
    """A new HF cache: the fixture's tokenizer and vision tower, and ``files`` as the CLIP-FlanT5 repo."""
    cache = tmp_path / "hub"
    for repo in (TOKENIZER, TOWER):
        make_fake_hf_cache(cache, repo, snapshot(hub_cache, repo))
    make_fake_hf_cache(cache, CHECKPOINT, files)
    return cache


def _golden_scores(golden, cache: Path, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    with offline_hf_cache(cache):  # restores the session's cache afterwards
        score = t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", **kwargs)
        images = [reference_image(n) for n in golden["images"]]
        return score(images=images, texts=golden["texts"]), torch.tensor(golden["cases"][0]["scores"])


def _assert_golden(got: torch.Tensor, want: torch.Tensor) -> None:
    assert float(((got - want).abs() / want).max()) < RTOL, (got, want)


def test_safetensors_shards_with_index(golden, offline_hub, tmp_path):
    config, weights = _original(offline_hub)
    keys = list(weights)
    half = len(keys) // 2
    files: dict[str, bytes | str] = {"config.json": json.dumps(config)}
    weight_map = {}
    for n, part in enumerate((keys[:half], keys[half:]), start=1):
        name = f"model-{n:05d}-of-00002.safetensors"
        # safetensors refuses tensors that share storage (the .bin aliases embed_tokens and shared)
        path = tmp_path / name
        save_file({k: weights[k].clone().contiguous() for k in part}, str(path), metadata={"format": "pt"})
        files[name] = path.read_bytes()
        weight_map.update({k: name for k in part})
    files["model.safetensors.index.json"] = json.dumps({"metadata": {}, "weight_map": weight_map})
    got, want = _golden_scores(golden, _cache_with(tmp_path, offline_hub, files))
    _assert_golden(got, want)


def test_checkpoint_without_vision_tower(golden, offline_hub, tmp_path):
    """The tower then comes from the repo named by mm_vision_tower. The fixture's tower repo holds other
    weights than the checkpoint's tower (so the golden test also proves the checkpoint's tower wins): here
    the tower repo is rewritten with the checkpoint's tower, in the Hub's ``vision_model.*`` layout."""
    config, weights = _original(offline_hub)
    prefix = "vision_tower.vision_tower."
    kept = {k: v for k, v in weights.items() if not k.startswith(prefix)}
    tower = {k[len(prefix):]: v.clone().contiguous() for k, v in weights.items() if k.startswith(prefix)}
    assert tower and len(kept) < len(weights)
    torch.save(kept, tmp_path / "pytorch_model.bin")
    files = {"config.json": json.dumps(config), "pytorch_model.bin": (tmp_path / "pytorch_model.bin").read_bytes()}
    cache = _cache_with(tmp_path, offline_hub, files)
    # with the fixture's own tower repo the scores must move: the tower really comes from that repo
    other, want = _golden_scores(golden, cache)
    assert float(((other - want).abs() / want).max()) > 1e-2
    tower_snapshot = snapshot(cache, TOWER)
    save_file(tower, str(tower_snapshot / "model.safetensors"), metadata={"format": "pt"})
    got, want = _golden_scores(golden, cache)
    _assert_golden(got, want)


def test_bin_shards_with_index_and_local_folder(golden, offline_hub, tmp_path):
    """pytorch_model-0000N-of-0000M.bin shards, loaded from a local folder with the checkpoint option."""
    config, weights = _original(offline_hub)
    folder = tmp_path / "local-clip-flant5"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    keys = list(weights)
    weight_map = {}
    for n, part in enumerate((keys[:40], keys[40:]), start=1):
        name = f"pytorch_model-{n:05d}-of-00002.bin"
        torch.save({k: weights[k] for k in part}, folder / name)
        weight_map.update({k: name for k in part})
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    got, want = _golden_scores(golden, offline_hub, checkpoint=str(folder))
    _assert_golden(got, want)
    assert t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", checkpoint=str(folder)).provenance[
        "weights_revision"] == str(folder)


def test_extra_vocabulary_rows_are_dropped(golden, offline_hub, tmp_path):
    """Flan-T5 matrices have 32128 rows for a 32100-token tokenizer; the reference resizes the embeddings to
    the tokenizer, so rows beyond it never enter the softmax. Extra rows with huge logits must not matter."""
    config, weights = _original(offline_hub)
    extra = 18
    gen = torch.Generator().manual_seed(0)
    for key in ("shared.weight", "lm_head.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                "embed_tokens.weight"):
        w = weights[key]
        weights[key] = torch.cat([w, 50 * torch.randn(extra, w.shape[1], generator=gen)])
    config["vocab_size"] += extra
    path = tmp_path / "pytorch_model.bin"
    torch.save(weights, path)
    files = {"config.json": json.dumps(config), "pytorch_model.bin": path.read_bytes()}
    got, want = _golden_scores(golden, _cache_with(tmp_path, offline_hub, files))
    _assert_golden(got, want)


def test_provenance_names_the_snapshot(xxl, offline_hub):
    commit = snapshot(offline_hub, CHECKPOINT).name
    assert xxl.provenance["weights_revision"] == commit
    assert xxl.provenance["weights"][0] == CHECKPOINT


def test_fp16_is_refused_with_the_reason(offline_hub):
    with pytest.raises(ValueError, match="NaN"):
        t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", dtype="fp16")


def test_unknown_option_is_refused(offline_hub):
    with pytest.raises(TypeError, match="conversation"):
        t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", not_an_option=1)


def test_wrong_checkpoint_type_is_named(offline_hub, tmp_path):
    folder = tmp_path / "plain-t5"
    shutil.copytree(snapshot(offline_hub, TOKENIZER), folder)
    with pytest.raises(ValueError, match="not a CLIP-FlanT5"):
        t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", checkpoint=str(folder))


def test_bf16_runs_and_stays_close_to_fp32(xxl, offline_hub):
    """bf16 (the GPU default) on CPU: finite scores within a few percent of float32."""
    images = random_images(2, seed=21)
    texts = ["a red cube", "two dogs in the snow"]
    bf16 = t2v_core.VQAScore(model="clip-flant5-xxl", device="cpu", dtype="bf16")
    assert bf16.provenance["dtype"] == "bfloat16"
    got, want = bf16(images=images, texts=texts), xxl(images=images, texts=texts)
    assert torch.isfinite(got).all()
    assert float(((got - want).abs() / want).max()) < 0.05
