"""InternVL's reference generated from ``inputs_embeds``: the generation-config logits processors ran with no
prompt ids, so the repetition penalty was a no-op at the first step while id-free processors still applied."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import t2v_core

TEXTS = ["a red cube on a table", "two dogs playing in the snow", "a cat"]


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in [(40, 40), (200, 90)]]


@pytest.fixture(scope="module")
def configured(checkpoints, tmp_path_factory):
    """The native tiny checkpoint with a generation config: a strong penalty and the "No" token suppressed."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("ivl-gen") / "ckpt"
    shutil.copytree(checkpoints["native"], folder)
    no = AutoTokenizer.from_pretrained(folder)("No", add_special_tokens=False).input_ids
    assert len(no) == 1
    path = folder / "generation_config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**config, "repetition_penalty": 1.5, "suppress_tokens": no}))
    return folder


def rel(a, b):
    return float(((a - b).abs() / b.abs()).max())


def test_processors_see_no_prompt_ids_and_id_free_ones_still_apply(configured, monkeypatch):
    from transformers.generation.logits_process import LogitsProcessorList

    images = _images()
    score = t2v_core.VQAScore(model="internvl3-1b", checkpoint=str(configured), device="cpu", batch_size=2)
    plain = t2v_core.VQAScore(model="internvl3-1b", checkpoint=str(configured), device="cpu",
                              generation_config="none")
    assert score.model.generation_input == "embeds"
    seen = []
    original = LogitsProcessorList.__call__

    def spy(self, input_ids, scores, **kwargs):
        seen.append(input_ids.shape[-1])
        return original(self, input_ids, scores, **kwargs)

    monkeypatch.setattr(LogitsProcessorList, "__call__", spy)
    got = score(images=images, texts=TEXTS)  # prefix reuse
    assert seen == [0] * (len(images) * len(TEXTS))
    # independent: the plain softmax with the suppressed token's mass taken out; the penalty changed nothing
    yes, no = plain(images=images, texts=TEXTS).double(), plain(images=images, texts=TEXTS, answer_template="No")
    assert rel(got.double(), yes / (1 - no.double())) < 1e-5
    seen.clear()
    pairs = score.model.forward(images * 2, TEXTS[:2] * 2)[:2]  # whole prompts, left padded
    assert seen == [0] * 4
    assert rel(pairs.double(), torch.stack([got[0, 0], got[1, 1]]).double()) < 1e-5
    # had the reference passed input_ids, the penalty would have moved these scores
    from t2v_internvl.scorer import InternVLScorer

    monkeypatch.setattr(InternVLScorer, "generation_input", "input_ids")
    ids = t2v_core.VQAScore(model="internvl3-1b", checkpoint=str(configured), device="cpu")
    assert rel(ids(images=images[:1], texts=TEXTS).double(), got[:1].double()) > 1e-3


def test_remote_code_uses_its_language_models_generation_config(get_score):
    score = get_score("internvl2-1b", trust_remote_code=True, isolated=False)
    assert score.model.generation_model() is score.model.ivl.model.language_model
    assert score.model.read_processors.generation_input == "embeds"
