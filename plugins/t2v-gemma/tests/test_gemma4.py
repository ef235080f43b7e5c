"""Gemma 4 against a plain, unbatched float32 forward of the same tiny model; thinking off; registration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gemma_testutils import NAME4, NAME4_12B, NAME4_E2B, REPO4, REPO4_12B, REPO4_E2B
from t2v_hf.testing import check_scoring_paths

import t2v_core
from t2v_core.media import Video
from t2v_core.registry import get_spec
from t2v_core.testing import check_scorer

pytest.importorskip("transformers.models.gemma4")

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
EMPTY_THOUGHT = "<|channel>thought\n<channel|>"


def load_plain(folder, unified=False):
    import transformers

    processor = transformers.AutoProcessor.from_pretrained(folder)
    cls = transformers.Gemma4UnifiedForConditionalGeneration if unified else transformers.Gemma4ForConditionalGeneration
    return processor, cls.from_pretrained(folder, dtype=torch.float32).eval()


def plain_score(processor, model, content, text, answer="Yes"):
    """Independent computation: the images inside the messages, ``apply_chat_template(tokenize=True,
    enable_thinking=False)`` as the reference calls it; if that prompt stops at ``<|turn>model\\n`` (a template
    that leaves the empty thinking channel to the model), the channel's tokens are appended by hand. Softmax
    of the last position's logits (float64) at the answer's first token."""
    msgs = [{"role": "user", "content": [*content, {"type": "text", "text": QUESTION.format(text)}]}]
    inputs = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt", enable_thinking=False)
    tok = processor.tokenizer
    thought = tok(EMPTY_THOUGHT, add_special_tokens=False).input_ids
    ids = inputs["input_ids"][0].tolist()
    if ids[-len(thought):] != thought:
        extra = torch.tensor([thought])
        inputs["input_ids"] = torch.cat([inputs["input_ids"], extra], dim=1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(extra)], dim=1)
    assert (inputs["input_ids"][0] == tok.bos_token_id).sum() == 1
    ans = tok(answer, add_special_tokens=False).input_ids
    with torch.no_grad():
        logp = model(**inputs).logits[0].double().log_softmax(-1)
    return float(logp[-1, ans[0]].exp())


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def test_gemma4_names_registered():
    repos = {"e2b": "E2B", "e4b": "E4B", "12b": "12B", "26b-a4b": "26B-A4B", "31b": "31B"}
    for size, repo in repos.items():
        spec = get_spec(f"gemma-4-{size}-it")
        assert spec.weights == (f"google/gemma-4-{repo}-it",) and spec.plugin == "t2v-gemma"
        assert spec.scorer == "t2v_gemma.scorer:Gemma4Scorer"
        assert spec.question_template == QUESTION and spec.answer_template == "Yes"
        assert spec.media == ("image", "video")


@pytest.mark.parametrize("name,repo", [(NAME4, REPO4), (NAME4_E2B, REPO4_E2B), (NAME4_12B, REPO4_12B)])
def test_gemma4_images_equal_plain_forward(offline4, images, monkeypatch, name, repo):
    processor, model = load_plain(offline4[repo], unified=repo == REPO4_12B)
    want = torch.tensor([[plain_score(processor, model, [{"type": "image", "image": im}], t) for t in TEXTS]
                         for im in images])
    assert want.std() / want.mean() > 0.05  # scores depend on the image and the text
    check_scoring_paths(name, images, TEXTS, want, monkeypatch)  # the image prefix (past the sliding window) reused

@pytest.mark.parametrize("name", [NAME4, NAME4_E2B, NAME4_12B])
def test_gemma4_prompt_ends_in_the_empty_thinking_channel(offline4, images, name):
    score = t2v_core.VQAScore(model=name, device="cpu")
    m = score.model
    prepared = m.prepare(m.load_media([images[0]])[0])
    text = m.render("Is it?", prepared)
    # one <bos>, thinking off (no <|think|>), and the answer read right after the closed, empty channel
    assert text.startswith("<bos><|turn>user\n") and "<|think|>" not in text
    assert text.endswith("Is it?<turn|>\n<|turn>model\n" + EMPTY_THOUGHT)
    ids = m.processor_inputs([text], [prepared])["input_ids"][0].tolist()
    assert ids.count(m.tokenizer.bos_token_id) == 1


@pytest.mark.parametrize("name,repo", [(NAME4, REPO4), (NAME4_12B, REPO4_12B)])
def test_gemma4_video_as_timestamped_frames(offline4, frames, name, repo):
    processor, model = load_plain(offline4[repo], unified=repo == REPO4_12B)
    video = Video.from_frames(frames, fps=4.0)
    score = t2v_core.VQAScore(model=name, device="cpu")
    for n in (10, 3):
        idx = [int(i) for i in np.linspace(0, len(frames) - 1, n, dtype=int)]  # the reference's frame choice
        content = []
        for i in idx:
            content += [{"type": "text", "text": f"Frame at {round(i / 4.0, 2)}s:"}, {"type": "image", "image": frames[i]}]
        want = [plain_score(processor, model, content, t) for t in TEXTS[:2]]
        kwargs = {} if n == 10 else {"num_frames": n}  # 10 frames by default
        assert rel(score(videos=[video], texts=TEXTS[:2], **kwargs)[0], want) < 1e-5


def test_gemma4_batch_forward_and_conformance(offline4, images):
    score = t2v_core.VQAScore(model=NAME4, device="cpu", batch_size=2)
    pairs = score.batch_forward([{"images": [im], "texts": [t]} for im, t in zip(images, TEXTS)])
    processor, model = load_plain(offline4[REPO4])
    want = [plain_score(processor, model, [{"type": "image", "image": im}], t) for im, t in zip(images, TEXTS)]
    assert rel(torch.as_tensor(pairs).flatten(), want) < 1e-5
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 3})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_gemma4_old_transformers_is_named(offline4, monkeypatch):
    from t2v_gemma import scorer as gemma_scorer

    monkeypatch.setattr(gemma_scorer, "transformers_version", lambda: (5, 4, 0))
    with pytest.raises(RuntimeError, match=r"gemma-4-31b-it.*needs transformers>=5\.5\.0"):
        t2v_core.VQAScore(model=NAME4, device="cpu").model.load()
    monkeypatch.setattr(gemma_scorer, "transformers_version", lambda: (5, 10, 0))
    with pytest.raises(RuntimeError, match=r"gemma-4-12b-it.*needs transformers>=5\.10\.1"):
        t2v_core.VQAScore(model=NAME4_12B, device="cpu").model.load()


def test_gemma4_generate_after_the_empty_channel(offline4, images):
    score = t2v_core.VQAScore(model=NAME4_E2B, device="cpu")
    out = score.model.generate(images[:2], ["Describe the image.", "What is it?"], max_new_tokens=3)
    alone = score.model.generate(images[1:2], ["What is it?"], max_new_tokens=3)
    assert len(out) == 2 and alone[0] == out[1]  # left padding changes nothing
    # the prompt generation starts from is the scoring prompt: it already holds the closed empty channel
    prepared = score.model.prepare(score.model.load_media([images[0]])[0])
    assert score.model.render("What is it?", prepared).endswith(EMPTY_THOUGHT)
