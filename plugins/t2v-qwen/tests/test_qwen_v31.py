"""Qwen3.5 (hybrid linear-attention cache, thinking off) and Qwen3-VL Thinking (thinking block closed) against
plain unbatched forwards of tiny checkpoints with their thinking templates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from qwen_reference import load_plain, reference_image
from qwen_testutils import needs_tiny_builder, offline

import t2v_core
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer, make_fake_hf_cache

pytestmark = needs_tiny_builder

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
EMPTY_THINK = "<think>\n\n</think>\n\n"


@pytest.fixture(scope="module")
def v31_hub(tmp_path_factory):
    pytest.importorskip("transformers", reason="needs transformers")
    import transformers

    if not hasattr(transformers, "Qwen3_5ForConditionalGeneration"):
        pytest.skip("this transformers has no Qwen3.5 class")
    from t2v_hf.testing import build_tiny_qwen_vl

    root = tmp_path_factory.mktemp("v31")
    folders = {}
    for family, repo, seed in [("qwen3_5", "Qwen/Qwen3.5-4B", 7), ("qwen3_vl_thinking", "Qwen/Qwen3-VL-2B-Thinking", 8)]:
        folders[family] = build_tiny_qwen_vl(root / family, family=family, seed=seed)
        make_fake_hf_cache(root / "hub", repo, folders[family])
    return root / "hub", folders


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    rng = np.random.default_rng(5)
    root = tmp_path_factory.mktemp("images")
    paths = []
    for k, (h, w) in enumerate([(70, 90), (64, 64), (120, 50)]):
        p = root / f"img{k}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def plain(folder, paths, texts, *, thinking_template_kwargs, suffix=""):
    """One pair at a time: the template (with the given kwargs) + ``suffix``, the processor, softmax."""
    processor, model = load_plain(folder)
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    out = torch.zeros(len(paths), len(texts), dtype=torch.float64)
    for i, p in enumerate(paths):
        for j, t in enumerate(texts):
            msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION.format(t)}]}]
            prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False,
                                                   **thinking_template_kwargs) + suffix
            assert prompt.endswith(EMPTY_THINK)
            inputs = processor(text=[prompt], images=[reference_image(p, 16)], return_tensors="pt")
            with torch.no_grad():
                out[i, j] = model(**inputs).logits[0, -1].double().softmax(-1)[yes]
    return out


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_v31_names_are_registered():
    for name, repo in [("qwen3.5-4b", "Qwen/Qwen3.5-4B"), ("qwen3.5-9b", "Qwen/Qwen3.5-9B"),
                       ("qwen3.5-27b", "Qwen/Qwen3.5-27B"), ("qwen3-vl-8b-thinking", "Qwen/Qwen3-VL-8B-Thinking"),
                       ("qwen3-vl-235b-a22b-thinking", "Qwen/Qwen3-VL-235B-A22B-Thinking")]:
        spec = get_spec(name)
        assert spec.weights == (repo,) and spec.question_template == QUESTION and spec.plugin == "t2v-qwen"


def test_qwen3_5_thinking_off_without_prefix_reuse(v31_hub, monkeypatch, image_files):
    hub, folders = v31_hub
    offline(monkeypatch, hub)
    want = plain(folders["qwen3_5"], image_files, TEXTS, thinking_template_kwargs={"enable_thinking": False})
    assert want.std() / want.mean() > 0.05
    score = t2v_core.VQAScore(model="qwen3.5-4b", device="cpu", batch_size=2)
    assert score.model.use_prefix_reuse is False  # the hybrid cache cannot be repeated per text
    got = score(images=image_files, texts=TEXTS)
    assert rel(got, want) < 1e-5  # whole prompts, left padded (linear-attention layers too)
    one = t2v_core.VQAScore(model="qwen3.5-4b", device="cpu", batch_size=1)
    assert rel(one(images=image_files, texts=TEXTS), got) < 1e-5
    with pytest.raises(ValueError, match="prefix_reuse=True is not supported"):
        t2v_core.VQAScore(model="qwen3.5-4b", device="cpu", prefix_reuse=True)


def test_qwen3_5_encodes_each_image_once_per_call_on_cpu(v31_hub, monkeypatch, image_files):
    """A CPU user's scorer (whole prompts one by one) runs the vision tower once per image, not per pair."""
    from t2v_hf.scorer import HFVLMScorer

    hub, folders = v31_hub
    offline(monkeypatch, hub)
    monkeypatch.setattr(HFVLMScorer, "cpu_whole_prompt_batch", 1)
    want = plain(folders["qwen3_5"], image_files, TEXTS, thinking_template_kwargs={"enable_thinking": False})
    score = t2v_core.VQAScore(model="qwen3.5-4b", device="cpu")
    calls = []
    score.model.model.model.visual.register_forward_hook(lambda module, args, out: calls.append(1))
    assert rel(score(images=image_files, texts=TEXTS), want) < 1e-5
    assert len(calls) == len(image_files) == score.model._feature_memo.computed


def test_qwen3_5_conformance(v31_hub, monkeypatch, image_files):
    offline(monkeypatch, v31_hub[0])
    score = t2v_core.VQAScore(model="qwen3.5-4b", device="cpu")
    report = check_scorer(score, images=image_files[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_thinking_model_closes_the_thinking_block(v31_hub, monkeypatch, image_files):
    hub, folders = v31_hub
    offline(monkeypatch, hub)
    want = plain(folders["qwen3_vl_thinking"], image_files, TEXTS, thinking_template_kwargs={},
                 suffix="\n</think>\n\n")
    score = t2v_core.VQAScore(model="qwen3-vl-2b-thinking", device="cpu", batch_size=2)
    assert rel(score(images=image_files, texts=TEXTS), want) < 1e-5  # prefix reuse on the closed prompt
    pairs = torch.stack([score(images=[p], texts=[t])[0, 0] for p, t in zip(image_files, TEXTS)])
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    opened = t2v_core.VQAScore(model="qwen3-vl-2b-thinking", device="cpu", close_thinking=False)
    prepared = opened.model.prepare(opened.model.load_media(image_files[:1])[0])
    assert opened.model.render("q", prepared).endswith("<think>\n")
    assert score.model.render("q", prepared).endswith(EMPTY_THINK)
