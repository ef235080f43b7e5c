"""The generic `hf-vlm` scorer against a plain, unbatched forward pass of the same tiny model."""

from __future__ import annotations

import pytest
import torch
from hf_testutils import REPO
from t2v_hf.loading import transformers_version

import t2v_core
from t2v_core.testing import check_scorer

pytestmark = pytest.mark.skipif(transformers_version() < (4, 57),
                                reason="the tiny Qwen2-VL test checkpoint needs transformers >= 4.57 classes")

TEXTS = ["a red cube", "two dogs playing in the snow", "three apples and a banana"]
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'


def plain_scores(folder, media, texts, answer="Yes", kind="image", full=False, question=QUESTION):
    """Independent computation: one prompt at a time, processor + model, softmax of the last logits."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    ans = processor.tokenizer(answer, add_special_tokens=False).input_ids
    out = torch.zeros(len(media), len(texts), dtype=torch.float64)
    for i, m in enumerate(media):
        for j, t in enumerate(texts):
            msgs = [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": question.format(t)}]}]
            prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            if kind == "image":
                inputs = processor(text=[prompt + (answer if full else "")], images=[m], return_tensors="pt")
            else:
                meta = {"fps": 4.0, "total_num_frames": len(m), "frames_indices": list(range(len(m)))}
                inputs = processor(text=[prompt + (answer if full else "")], videos=[m], video_metadata=[meta],
                                   do_sample_frames=False, return_tensors="pt")
            with torch.no_grad():
                logp = model(**inputs).logits[0].double().log_softmax(-1)
            if full:
                n = inputs["input_ids"].shape[1]
                out[i, j] = sum(logp[n - len(ans) - 1 + k, a] for k, a in enumerate(ans)).exp()
            else:
                out[i, j] = logp[-1, ans[0]].exp()
    return out.float()


def rel(a, b):
    return float(((a - b).abs() / b.abs()).max())


def test_hub_id_matches_plain_forward(offline_hub, tiny_checkpoint, images):
    ref = plain_scores(tiny_checkpoint, images, TEXTS)
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=REPO, device="cpu", batch_size=2)
    assert rel(score(images=images, texts=TEXTS), ref) < 1e-5  # prefix reuse (mrope offsets)
    pairs = torch.stack([score(images=[im], texts=[t])[0, 0] for im, t in zip(images, TEXTS)])
    assert rel(pairs, torch.diagonal(ref)) < 1e-5  # whole prompts
    assert score.provenance["weights_revision"] == "c0ffee" + "0" * 34


def test_without_prefix_reuse_and_local_folder(tiny_checkpoint, images):
    ref = plain_scores(tiny_checkpoint, images[:2], TEXTS)
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu", prefix_reuse=False)
    assert rel(score(images=images[:2], texts=TEXTS), ref) < 1e-5
    assert score.provenance["weights_revision"] == str(tiny_checkpoint.resolve())


def test_full_answer_likelihood(tiny_checkpoint, images):
    answer = "Yes, a cat"
    ref = plain_scores(tiny_checkpoint, images[:2], TEXTS[:2], answer=answer, full=True)
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu",
                              answer_likelihood="full")
    got = score(images=images[:2], texts=TEXTS[:2], answer_template=answer)
    assert rel(got, ref) < 1e-5
    single = score(images=images[:1], texts=TEXTS[:1], answer_template=answer)
    assert rel(single[0, 0], ref[0, 0]) < 1e-5


def test_video_frames_match_plain_forward(tiny_checkpoint, frames):
    ref = plain_scores(tiny_checkpoint, [frames], TEXTS[:2], kind="video")
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    video = t2v_core.media.Video.from_frames(frames, fps=4.0)
    assert rel(score(images=[video], texts=TEXTS[:2], num_frames=6), ref) < 1e-5


def test_conformance(offline_hub, images):
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=REPO, device="cpu")
    report = check_scorer(score, images=images[:2], texts=TEXTS[:2], call_kwargs={"num_frames": 4})
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_generate_matches_greedy(tiny_checkpoint, images):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint).eval()
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe."}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[prompt], images=[images[0]], return_tensors="pt")
    ids = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    expected = processor.tokenizer.decode(ids[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu")
    got = score.model.generate(images[:2], ["Describe.", "What is it?"], max_new_tokens=4)
    assert len(got) == 2 and got[0] == expected


def test_errors_name_the_fix(offline_hub):
    with pytest.raises(ValueError, match="checkpoint="):
        t2v_core.VQAScore(model="hf-vlm", device="cpu")
    with pytest.raises(OSError, match="hf download t2v-test/not-there"):
        t2v_core.VQAScore(model="hf-vlm", checkpoint="t2v-test/not-there", device="cpu")
    with pytest.raises(TypeError, match="unexpected option"):
        t2v_core.VQAScore(model="hf-vlm", checkpoint=REPO, device="cpu", chekpoint="x")
    with pytest.raises(ValueError, match="answer_likelihood"):
        t2v_core.VQAScore(model="hf-vlm", checkpoint=REPO, device="cpu", answer_likelihood="all")


def test_llava_one_dimensional_positions(tmp_path, images, monkeypatch):
    """A non-Qwen family with plain 1-D rope: prefix reuse (and whole prompts) against plain forwards."""
    from t2v_hf import scorer as scorer_mod
    from t2v_hf.testing import build_tiny_llava

    folder = build_tiny_llava(tmp_path / "llava", seed=2)
    ref = plain_scores(folder, images[:2], TEXTS)
    used = []
    original = scorer_mod.HFVLMScorer._score_shared_prefix

    def spy(self, *args, **kwargs):
        row = original(self, *args, **kwargs)
        used.append(row is not None)
        return row

    monkeypatch.setattr(scorer_mod.HFVLMScorer, "_score_shared_prefix", spy)
    score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(folder), device="cpu", batch_size=2)
    assert rel(score(images=images[:2], texts=TEXTS), ref) < 1e-5
    assert used == [True, True]  # the shared prefix was used, not the whole-prompt fallback
    whole = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(folder), device="cpu", prefix_reuse=False)
    assert rel(whole(images=images[:2], texts=TEXTS), ref) < 1e-5


def test_whole_prompts_on_cpu_go_one_by_one_whatever_the_batch_size(tiny_checkpoint, images, monkeypatch):
    """On CPU a batch of whole prompts loses to the same prompts alone (t2v-hf README), so they go one per
    forward, with or without a batch_size (an upper bound); ``cpu_whole_prompt_batch=None`` (what the other
    tests set, to keep the batched path a GPU takes under test) batches them. All equal plain forwards."""
    from t2v_hf.scorer import HFVLMScorer

    ref = plain_scores(tiny_checkpoint, images[:2], TEXTS)
    for cap, given, want in ((1, None, {1}), (1, 4, {1}), (None, 4, {4, 2})):
        monkeypatch.setattr(HFVLMScorer, "cpu_whole_prompt_batch", cap)
        kwargs = {} if given is None else {"batch_size": given}
        score = t2v_core.VQAScore(model="hf-vlm", checkpoint=str(tiny_checkpoint), device="cpu",
                                  prefix_reuse=False, **kwargs)
        score.model.load()
        rows = []
        hook = score.model.model.register_forward_hook(lambda m, a, kw, out, rows=rows: rows.append(kw["input_ids"].shape[0]),
                                                       with_kwargs=True)
        try:
            got = score(images=images[:2], texts=TEXTS)
        finally:
            hook.remove()
        assert set(rows) == want, (cap, given, rows)
        assert rel(got, ref) < 1e-5
