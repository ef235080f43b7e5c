"""A `t2v score` rerun whose pairs are all in the store never loads a t2v-hf model, and reads the same keys."""

from __future__ import annotations

import json

import pytest
from hf_testutils import REPO
from t2v_hf.loading import transformers_version
from t2v_hf.scorer import HFVLMScorer

from t2v_core.cli import main

pytestmark = pytest.mark.skipif(transformers_version() < (4, 57),
                                reason="the tiny Qwen2-VL test checkpoint needs transformers >= 4.57 classes")


def test_rerun_served_by_the_store_skips_the_load(offline_hub, images, tmp_path, monkeypatch, capsys):
    loads = []
    real = HFVLMScorer.load_model_and_processor
    monkeypatch.setattr(HFVLMScorer, "load_model_and_processor",
                        lambda self, *a, **k: (loads.append(self.name), real(self, *a, **k))[1])
    paths = []
    for k, im in enumerate(images[:2]):
        paths += ["--image", str(tmp_path / f"{k}.png")]
        im.save(tmp_path / f"{k}.png")
    args = ["score", "--model", "hf-vlm", "--option", f"checkpoint={REPO}", "--device", "cpu", *paths,
            "--text", "a red cube", "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out.jsonl")]
    assert main(args) == 0 and loads == ["hf-vlm"]
    first = (tmp_path / "out.jsonl").read_text()
    capsys.readouterr()
    assert main(args) == 0
    assert "0 scored, 2 reused from the store" in capsys.readouterr().err
    assert loads == ["hf-vlm"]  # not loaded again: the revision came from the cache
    assert (tmp_path / "out.jsonl").read_text() == first
    prov = json.loads((tmp_path / "out.jsonl.provenance.json").read_text())
    assert prov["weights_revision"] == "c0ffee" + "0" * 34
