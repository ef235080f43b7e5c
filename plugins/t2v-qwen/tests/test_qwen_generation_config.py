"""Parity with the reference on the published Qwen repos' generation config (``repetition_penalty: 1.05``).

The reference read its score from ``generate(max_new_tokens=1, do_sample=False, output_scores=True)``: the
logits after the checkpoint's logits processors. ``fixtures/golden/with-generation-config/`` holds the published
generation config (dropped into the fixture snapshot in place of the plain one) and the scores the reference's
own code computed with it on transformers 4.49.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PIL import Image as PILImage
from qwen_testutils import GOLDEN, GOLDEN_HUB, offline, transformers_version

import t2v_core

REPO = "models--Qwen--Qwen2.5-VL-7B-Instruct"
WITH_CONFIG = GOLDEN / "with-generation-config"
IS_449 = transformers_version()[:2] == (4, 49)


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def _hub_copy(root, generation_config):
    """The fixture cache with the snapshot's generation_config.json replaced (or removed, for None)."""
    hub = root / "hub"
    shutil.copytree(GOLDEN_HUB, hub)
    snapshot = next((hub / REPO / "snapshots").iterdir())
    (snapshot / "generation_config.json").unlink()
    if generation_config is not None:
        shutil.copy(generation_config, snapshot / "generation_config.json")
    return hub


@pytest.fixture(scope="session")
def published_hub(tmp_path_factory):
    return _hub_copy(tmp_path_factory.mktemp("published"), WITH_CONFIG / "generation_config.json")


@pytest.fixture(scope="session")
def bare_hub(tmp_path_factory):
    return _hub_copy(tmp_path_factory.mktemp("bare"), None)


@pytest.fixture(scope="session")
def published(golden):
    data = json.loads((WITH_CONFIG / "golden.json").read_text())
    assert data["texts"] == golden["texts"] and data["images"] == golden["images"]
    return data


def cases(data, media):
    return [c for c in data["cases"] if c.get("media", "image") == media]


def kw(case):
    return {"question_template": case["question_template"], "answer_template": case["answer_template"]}


def test_published_config_moves_the_reference_numbers(golden, published):
    # the fixture is what it says: the penalty moves scores far beyond the tolerance of the tests below
    for plain, pub in zip(golden["cases"], published["cases"]):
        assert plain["template"] == pub["template"]
        assert rel(pub["scores"], plain["scores"]) > 5e-3


def test_images_match_as_one_call(golden, published, published_hub, monkeypatch):
    offline(monkeypatch, published_hub)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    assert score.provenance["options"]["generation_config"] == "reference"
    for case in cases(published, "image"):
        got = score(images=golden["image_paths"], texts=published["texts"], **kw(case))
        assert rel(got, case["scores"]) < 1e-4, case["template"]


def test_images_match_pair_by_pair_and_in_batches(golden, published, published_hub, monkeypatch):
    offline(monkeypatch, published_hub)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=3)
    case = next(c for c in cases(published, "image") if c["template"] == "seed-readme")
    texts, paths = published["texts"], golden["image_paths"]
    got = [[float(score(images=[p], texts=[t], **kw(case))[0, 0]) for t in texts] for p in paths[:3]]
    assert rel(got, case["scores"][:3]) < 1e-4
    # batch_forward: one image x all texts per sample (prefix reuse, suffix batches of 3 and 1) ...
    for bs in (1, 3):
        out = score.batch_forward([{"images": [p], "texts": texts} for p in paths], batch_size=bs, **kw(case))
        assert rel(out[:, 0], case["scores"]) < 1e-4, bs
    # ... and single pairs, batched whole with left padding (prompts of different lengths in one batch)
    pairs = [(i, j) for i in range(len(paths)) for j in range(len(texts))]
    for bs in (2, 5):
        out = score.batch_forward([{"images": [paths[i]], "texts": [texts[j]]} for i, j in pairs], batch_size=bs,
                                  **kw(case))
        assert rel(out[:, 0, 0], [case["scores"][i][j] for i, j in pairs]) < 1e-4, bs


def test_plain_softmax_on_request_and_without_a_generation_config(golden, published_hub, bare_hub, monkeypatch):
    default = next(c for c in golden["cases"] if c["template"] == "default")
    offline(monkeypatch, published_hub)
    none = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", generation_config="none")
    assert rel(none(images=golden["image_paths"], texts=golden["texts"]), default["scores"]) < 1e-4
    pairs = none.model.forward(golden["image_paths"][:4], golden["texts"])
    assert rel(pairs, [default["scores"][i][i] for i in range(4)]) < 1e-4
    # a checkpoint that ships no generation_config.json: transformers derives one without processors
    offline(monkeypatch, bare_hub)
    bare = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    assert not bare.model.read_processors.active
    assert rel(bare(images=golden["image_paths"], texts=golden["texts"]), default["scores"]) < 1e-4


def test_option_is_in_the_store_key_and_checked(published_hub, monkeypatch, golden, tmp_path):
    offline(monkeypatch, published_hub)
    ref = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    none = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", generation_config="none")
    assert ref.model.identity["options"]["generation_config"] == "reference"
    assert none.model.identity["options"]["generation_config"] == "none"
    store = tmp_path / "scores.sqlite"
    sample = [{"images": golden["image_paths"][:1], "texts": golden["texts"][:2]}]
    a = ref.batch_forward(sample, store=store)
    b = none.batch_forward(sample, store=store)  # not served from the other option's stored scores
    assert rel(a, b) > 1e-3
    with pytest.raises(ValueError, match="generation_config"):
        t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", generation_config="greedy")


@pytest.mark.skipif(not IS_449, reason="exact video parity holds under the reference's transformers 4.49 only")
def test_videos_match_on_transformers_449(golden, published, published_hub, monkeypatch):
    offline(monkeypatch, published_hub)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    for case in cases(published, "video"):
        got = score(videos=golden["video_paths"], texts=published["texts"], fps=case["fps"], **kw(case))
        assert rel(got, case["scores"]) < 1e-4, case["fps"]
    case = cases(published, "video")[0]
    whole = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", prefix_reuse=False, batch_size=3)
    got = whole(videos=golden["video_paths"], texts=published["texts"], fps=case["fps"], **kw(case))
    assert rel(got, case["scores"]) < 1e-4
    got = [float(score(videos=[p], texts=[t], fps=case["fps"], **kw(case))[0, 0])
           for p, t in zip(golden["video_paths"], published["texts"])]
    assert rel(got, [case["scores"][i][i] for i in range(len(got))]) < 1e-4


def test_processors_see_the_prompt_ids_the_reference_generate_saw(golden, published_hub, monkeypatch):
    """Qwen's reference called ``generate(**processor(...))``: its processors saw the whole prompt's
    ``input_ids``, media tokens included, without padding. Recorded at the repetition penalty itself."""
    from transformers import AutoProcessor
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    offline(monkeypatch, published_hub)
    seen = []
    original = RepetitionPenaltyLogitsProcessor.__call__

    def spy(self, input_ids, scores):
        seen.append(input_ids[0].tolist())
        return original(self, input_ids, scores)

    monkeypatch.setattr(RepetitionPenaltyLogitsProcessor, "__call__", spy)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=2)
    texts, image = golden["texts"][:3], golden["image_paths"][1]
    question = score.spec.question_template
    snapshot = next((published_hub / REPO / "snapshots").iterdir())
    processor = AutoProcessor.from_pretrained(str(snapshot))
    pil = score.model.prepare_image(PILImage.open(image).convert("RGB"))
    want = []
    for t in texts:
        msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question.format(t)}]}]
        prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        want.append(processor(text=[prompt], images=[pil], return_tensors="pt")["input_ids"][0].tolist())
    assert len({len(w) for w in want}) > 1  # prompts of different lengths: padding would show
    score(images=[image], texts=texts)  # prefix reuse
    assert seen == want
    seen.clear()
    score.model.forward([image] * 3, texts)  # one text per image: batches of 2 after the shared header
    assert sorted(seen) == sorted(want)  # pairs are batched in order of length
    seen.clear()
    whole = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=2, prefix_reuse=False)
    whole.model.forward([image] * 3, texts)  # whole prompts, left padded in batches of 2
    assert sorted(seen) == sorted(want)
