"""Scores read after the checkpoint's generation-config logits processors, against transformers' own
``generate(max_new_tokens=1, do_sample=False, output_scores=True)`` on the same tiny checkpoint."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from t2v_hf.loading import transformers_version

import t2v_core

pytestmark = pytest.mark.skipif(transformers_version() < (4, 57),
                                reason="the tiny Qwen2-VL test checkpoint needs transformers >= 4.57 classes")

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
# Processors that read the prompt's ids (penalty, n-gram ban) and ones that do not (suppressed tokens, bad
# words), plus sampling fields that greedy decoding must ignore.
CONFIG = {"repetition_penalty": 1.3, "no_repeat_ngram_size": 2, "suppress_tokens": [5, 6, 7],
          "bad_words_ids": [[8]], "do_sample": True, "temperature": 0.5, "top_k": 3, "top_p": 0.5}


@pytest.fixture(scope="module")
def configured(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint with a generation config that makes several processors run."""
    folder = tmp_path_factory.mktemp("configured") / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    path = folder / "generation_config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**config, **CONFIG}))
    return folder


def generate_scores(folder, images, texts, answer="Yes", extend=""):
    """Independent computation: P(answer's first token) from ``generate``'s scores, one pair at a time
    (``extend``: text appended to the prompt, to put the read position further along)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    token = processor.tokenizer(answer, add_special_tokens=False).input_ids[0]
    out = torch.zeros(len(images), len(texts), dtype=torch.float64)
    for i, image in enumerate(images):
        for j, t in enumerate(texts):
            msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION.format(t)}]}]
            prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False) + extend
            inputs = processor(text=[prompt], images=[image], return_tensors="pt")
            with torch.no_grad():
                res = model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                     return_dict_in_generate=True)
            out[i, j] = res.scores[0][0].double().softmax(-1)[token]
    return out.float()


def rel(a, b):
    return float(((a - b).abs() / b.abs()).max())


def test_scores_equal_generate_scores(configured, images):
    from t2v_hf.processors import describe

    want = generate_scores(configured, images, TEXTS)
    plain = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu", generation_config="none")
    assert rel(plain(images=images, texts=TEXTS), want) > 1e-2  # the processors matter here
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu", batch_size=2)
    names = describe(score.model.read_processors)
    assert {"RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor", "SuppressTokensLogitsProcessor",
            "NoBadWordsLogitsProcessor"} <= set(names)
    assert not any("Warper" in n for n in names)  # greedy: no temperature / top-k / top-p
    assert rel(score(images=images, texts=TEXTS), want) < 1e-5  # prefix reuse, suffix batches of 2 and 1
    pairs = score.model.forward(images, TEXTS)  # whole prompts, left padded together
    assert rel(pairs, torch.diagonal(want)) < 1e-5
    alone = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(alone, torch.diagonal(want)) < 1e-5
    whole = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu", prefix_reuse=False,
                              batch_size=3)
    assert rel(whole(images=images[:2], texts=TEXTS), want[:2]) < 1e-5


def test_full_answer_reads_every_token_after_the_processors(configured, images):
    """``answer_likelihood="full"``: answer token k is read after processors that saw the prompt and the
    answer's first k tokens, as generate's k-th step would have been had it produced them."""
    answer = "Yes it is"
    from transformers import AutoProcessor

    tok = AutoProcessor.from_pretrained(configured).tokenizer
    ids = tok(answer, add_special_tokens=False).input_ids
    assert len(ids) > 1
    # these processors do not depend on how many tokens are new, so step k equals a one-token generate after
    # the prompt extended by the answer's first k tokens
    want = torch.ones(2, len(TEXTS), dtype=torch.float64)
    for k, token in enumerate(ids):
        prefix = tok.decode(ids[:k])
        want *= generate_scores(configured, images[:2], TEXTS, answer=tok.decode([token]), extend=prefix).double()
    for reuse in (True, False):
        score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu", prefix_reuse=reuse,
                                  answer_likelihood="full", batch_size=2)
        assert rel(score(images=images[:2], texts=TEXTS, answer_template=answer), want.float()) < 1e-5, reuse


def test_min_new_tokens_bans_the_end_of_turn(tiny_checkpoint, tmp_path, images):
    """A processor that needs the prompt length (minimum new tokens): P(<|im_end|>) is 0 at the first step."""
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    path = folder / "generation_config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**config, "min_new_tokens": 1}))
    kw = {"answer_template": "<|im_end|>"}
    ref = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(folder), device="cpu")
    none = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(folder), device="cpu", generation_config="none")
    assert float(ref(images=images[:1], texts=TEXTS[:2], **kw).max()) == 0.0
    eos = none(images=images[:1], texts=TEXTS[:2], **kw).double()
    assert float(eos.min()) > 0.0
    # the banned token's mass goes to the others: P(Yes) / (1 - P(<|im_end|>))
    want = none(images=images[:1], texts=TEXTS[:2]).double() / (1 - eos)
    assert rel(ref(images=images[:1], texts=TEXTS[:2]).double(), want) < 1e-5


def test_embeds_families_see_no_prompt_ids(configured, images, monkeypatch):
    """A family whose reference generated from ``inputs_embeds``: the penalty and n-gram ban (which read the
    prompt's ids) are no-ops at the first step; suppressed tokens and bad words still apply."""
    from t2v_hf.scorer import HFVLMScorer

    monkeypatch.setattr(HFVLMScorer, "generation_input", "embeds")
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu")
    plain = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(configured), device="cpu", generation_config="none")
    got = score(images=images[:2], texts=TEXTS)
    assert rel(got, plain(images=images[:2], texts=TEXTS)) > 1e-3
    # independent: the plain softmax with the suppressed and banned tokens' mass taken out
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(configured)
    model = AutoModelForImageTextToText.from_pretrained(configured).eval()
    yes = processor.tokenizer("Yes", add_special_tokens=False).input_ids[0]
    banned = CONFIG["suppress_tokens"] + [w[0] for w in CONFIG["bad_words_ids"]]
    assert yes not in banned
    want = torch.zeros(2, len(TEXTS), dtype=torch.float64)
    for i, image in enumerate(images[:2]):
        for j, t in enumerate(TEXTS):
            msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION.format(t)}]}]
            prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            with torch.no_grad():
                p = model(**processor(text=[prompt], images=[image], return_tensors="pt")).logits[0, -1]
            p = p.double().softmax(-1)
            want[i, j] = p[yes] / (1 - p[banned].sum())
    assert rel(got, want.float()) < 1e-5
    pairs = score.model.forward(images[:2], TEXTS[:2])
    assert rel(pairs, torch.diagonal(want[:, :2]).float()) < 1e-5
    seen = []
    proc = score.model.read_processors
    original = proc.processors(8).__class__.__call__

    def spy(self, input_ids, scores, **kwargs):
        seen.append(input_ids.shape[-1])
        return original(self, input_ids, scores, **kwargs)

    monkeypatch.setattr(proc.processors(8).__class__, "__call__", spy)
    score(images=images[:1], texts=TEXTS)
    assert seen == [0] * len(TEXTS)


def test_bad_option_names_the_choices(tiny_checkpoint):
    with pytest.raises(ValueError, match=r"generation_config must be one of \('reference', 'none'\)"):
        t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu", generation_config="x")


def test_a_model_without_generate_is_refused_with_the_fix():
    from t2v_hf.processors import ReadProcessors

    with pytest.raises(TypeError, match=r"override generation_model\(\).*generation_config='none'"):
        ReadProcessors(torch.nn.Linear(1, 1))
    assert not ReadProcessors(None).active
