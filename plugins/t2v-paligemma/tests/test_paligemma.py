"""PaliGemma against a plain, unbatched float32 forward of the same tiny model; registration and errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from paligemma_testutils import NAMES

import t2v_core
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'


def plain_scores(folder, images, texts, answer="Yes"):
    """Independent computation: the processor on the bare question (it writes <image>s, <bos>, "\\n"), one
    pair at a time, softmax of the last logits at the answer's first token (no BOS)."""
    from transformers import AutoProcessor, PaliGemmaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    model = PaliGemmaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    yes = processor.tokenizer(answer, add_special_tokens=False).input_ids[0]
    out = torch.zeros(len(images), len(texts), dtype=torch.float64)
    for i, im in enumerate(images):
        for j, t in enumerate(texts):
            inputs = processor(text=QUESTION.format(t), images=im, return_tensors="pt")
            inputs.pop("labels")
            with torch.no_grad():
                out[i, j] = model(**inputs).logits[0, -1].double().softmax(-1)[yes]
    return out


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_registered_names():
    from t2v_paligemma.plugin import MODELS

    assert {"paligemma-3b-mix-224", "paligemma-3b-mix-448", "paligemma-3b-mix-896"} <= set(MODELS)
    for name, (repo, _) in MODELS.items():
        spec = get_spec(name)
        assert spec.weights == (repo,) and repo.startswith("google/") and spec.plugin == "t2v-paligemma"
        assert spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.media == ("image", "video")


def test_listing_imports_nothing_heavy():
    code = ("import sys, t2v_core; assert 'paligemma-3b-mix-224' in t2v_core.list_all_vqascore_models(); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("version", [1, 2])
def test_scores_equal_plain_forward(offline, images, version):
    want = plain_scores(offline[version], images, TEXTS)
    assert want.std() / want.mean() > 0.05  # the tiny model's scores depend on image and text
    score = t2v_core.VQAScore(model=NAMES[version], device="cpu", batch_size=4)
    got = score(images=images, texts=TEXTS)
    assert rel(got, want) < 1e-5  # M x N: whole prompts, left padded, batched
    pairs = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    one = t2v_core.VQAScore(model=NAMES[version], device="cpu", batch_size=1)
    assert rel(one(images=images, texts=TEXTS), got) < 1e-5  # batch-size independent
    assert score.provenance["weights_revision"]


def test_each_image_encoded_once_per_call_on_cpu(offline, images, monkeypatch):
    """A CPU user's scorer (whole prompts one by one) runs SigLIP once per image, not once per pair, and the
    scores stay those of the plain per-pair forward; a second call encodes again (nothing kept across calls)."""
    from t2v_hf.scorer import HFVLMScorer

    monkeypatch.setattr(HFVLMScorer, "cpu_whole_prompt_batch", 1)
    want = plain_scores(offline[1], images, TEXTS)
    score = t2v_core.VQAScore(model=NAMES[1], device="cpu")
    tower = score.model.model.model.vision_tower
    calls = []
    tower.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    got = score(images=images, texts=TEXTS)
    assert rel(got, want) < 1e-5
    assert calls == [1, 1, 1]  # 3 images x 3 texts: three encodings of one image each
    assert score.model._feature_memo.computed == 3
    again = score(images=images[:1], texts=TEXTS)
    assert calls == [1, 1, 1, 1] and rel(again, want[:1]) < 1e-5


def test_answer_token_is_not_bos(offline):
    score = t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu")
    tok = score.model.tokenizer
    assert score.model._answer_ids("Yes") == [tok.convert_tokens_to_ids("Yes")] != [tok.bos_token_id]


def test_conformance(offline, images):
    score = t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_options_it_cannot_honour_are_refused(offline):
    with pytest.raises(ValueError, match="prefix_reuse=True is not possible"):
        t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu", prefix_reuse=True)
    with pytest.raises(ValueError, match="answer_likelihood='first'"):
        t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu", answer_likelihood="full")
    with pytest.raises(OSError, match="hf download google/paligemma-3b-mix-896"):
        t2v_core.VQAScore(model="paligemma-3b-mix-896", device="cpu")


def test_generate(offline, images):
    score = t2v_core.VQAScore(model="paligemma-3b-mix-224", device="cpu")
    out = score.model.generate(images[:2], ["caption en", "answer en what is it?"], max_new_tokens=3)
    alone = score.model.generate(images[1:2], ["answer en what is it?"], max_new_tokens=3)
    assert len(out) == 2 and alone[0] == out[1]


def test_video_as_frames_side_by_side(offline):
    from t2v_hf.testing import random_images, side_by_side

    from t2v_core.media import Video

    frames = random_images([(30, 40)] * 11, seed=7)
    video = Video.from_frames(frames, fps=5.0)
    score = t2v_core.VQAScore(model=NAMES[1], device="cpu", batch_size=2)
    for n in (8, 3):
        want = plain_scores(offline[1], [side_by_side(frames, n)], TEXTS[:2])
        kwargs = {} if n == 8 else {"num_frames": n}  # 8 frames by default, as the reference's concat mode
        assert rel(score(videos=[video], texts=TEXTS[:2], **kwargs), want) < 1e-5
