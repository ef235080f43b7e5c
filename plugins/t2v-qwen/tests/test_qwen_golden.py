"""Parity with the reference implementation's scores (golden.json) on the tiny Qwen2.5-VL fixture checkpoint."""

from __future__ import annotations

import pytest
import torch
from qwen_reference import load_plain, plain_score, reference_video
from qwen_testutils import GOLDEN_HUB, transformers_version

import t2v_core

SNAPSHOT = next((GOLDEN_HUB / "models--Qwen--Qwen2.5-VL-7B-Instruct" / "snapshots").iterdir())
IS_449 = transformers_version()[:2] == (4, 49)


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def cases(golden, media):
    return [c for c in golden["cases"] if c.get("media", "image") == media]


def test_default_templates_are_the_references(golden):
    from t2v_core.registry import get_spec

    default = next(c for c in golden["cases"] if c["template"] == "default")
    s = get_spec("qwen2.5-vl-7b")
    assert (s.question_template, s.answer_template) == (default["question_template"], default["answer_template"])
    assert s.weights == ("Qwen/Qwen2.5-VL-7B-Instruct",)


def test_images_match_golden_as_one_call(golden, golden_hub):
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    assert score.provenance["weights_revision"] == SNAPSHOT.name
    for case in cases(golden, "image"):
        got = score(images=golden["image_paths"], texts=golden["texts"],
                    question_template=case["question_template"], answer_template=case["answer_template"])
        assert rel(got, case["scores"]) < 1e-4, case["template"]
    default = next(c for c in golden["cases"] if c["template"] == "default")
    assert rel(score(images=golden["image_paths"], texts=golden["texts"]), default["scores"]) < 1e-4


def test_images_match_golden_pair_by_pair(golden, golden_hub):
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    case = next(c for c in golden["cases"] if c["template"] == "seed-readme")
    kw = {"question_template": case["question_template"], "answer_template": case["answer_template"]}
    got = [[float(score(images=[p], texts=[t], **kw)[0, 0]) for t in golden["texts"]] for p in golden["image_paths"]]
    assert rel(got, case["scores"]) < 1e-4
    # the reference's pairwise API: forward(images, texts) scores images[k] with texts[k]
    k = len(golden["texts"])
    pairs = score.model.forward(golden["image_paths"][:k], golden["texts"], **kw)
    assert rel(pairs, [case["scores"][i][i] for i in range(k)]) < 1e-4


@pytest.mark.skipif(not IS_449, reason="exact video parity holds under the reference's transformers 4.49 only "
                                       "(later versions preprocess and position video tokens differently)")
def test_videos_match_golden_on_transformers_449(golden, golden_hub):
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    for case in cases(golden, "video"):
        got = score(videos=golden["video_paths"], texts=golden["texts"], fps=case["fps"],
                    question_template=case["question_template"], answer_template=case["answer_template"])
        assert rel(got, case["scores"]) < 1e-4, case["fps"]
    # whole prompts (no prefix reuse), pair by pair, agree too
    whole = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", prefix_reuse=False)
    case = cases(golden, "video")[0]
    got = whole(videos=golden["video_paths"][:1], texts=golden["texts"][:2], fps=case["fps"],
                question_template=case["question_template"], answer_template=case["answer_template"])
    assert rel(got[0], case["scores"][0][:2]) < 1e-4
    # the documented option: true temporal spacing moves fps-8 scores away from the reference's
    true = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", temporal_spacing="true")
    case = next(c for c in cases(golden, "video") if c["fps"] == 8.0)
    got = true(videos=golden["video_paths"][:1], texts=golden["texts"][:2], fps=8.0,
               question_template=case["question_template"], answer_template=case["answer_template"])
    assert rel(got[0], case["scores"][0][:2]) > 1e-3


@pytest.mark.skipif(transformers_version() < (4, 57), reason="checks the transformers 5 video path (video_metadata)")
@pytest.mark.parametrize("spacing", ["reference", "true"])
def test_videos_equal_plain_forward_on_the_same_frames(golden, golden_hub, spacing):
    pytest.importorskip("qwen_vl_utils")
    pytest.importorskip("decord")
    processor, model = load_plain(SNAPSHOT)
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", temporal_spacing=spacing)
    case = next(c for c in cases(golden, "video") if c["fps"] == 8.0)
    texts = golden["texts"][:3]
    got = score(videos=golden["video_paths"], texts=texts, fps=8.0)
    for i, path in enumerate(golden["video_paths"]):
        video, meta = reference_video(path, fps=8.0)
        sample_fps = len(meta["frames_indices"]) / meta["total_num_frames"] * meta["fps"]
        seconds = 1.0 if spacing == "reference" else 2 / sample_fps
        want = [plain_score(processor, model, case["question_template"].format(t), "Yes", video=video, metadata=meta,
                            second_per_grid_ts=seconds) for t in texts]
        assert rel(got[i], want) < 1e-5, path


def test_transparent_image_files_are_read_as_the_reference_reads_them(golden, golden_hub):
    k = next(i for i, p in enumerate(golden["image_paths"]) if p.endswith("rgba.png"))
    default = next(c for c in golden["cases"] if c["template"] == "default")
    drop = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu")
    assert rel(drop(images=[golden["image_paths"][k]], texts=golden["texts"][:2]), [default["scores"][k][:2]]) < 1e-4
    white = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", alpha="white")
    got = white(images=[golden["image_paths"][k]], texts=golden["texts"][:2])
    assert rel(got, [default["scores"][k][:2]]) > 1e-3  # composited on white: other pixels, other scores


def embed_owner_blocks(model):
    return (getattr(model, "visual", None) or model.model.visual).blocks


@pytest.mark.parametrize("batch_size", [3, 8])
def test_one_text_per_image_across_samples_matches_golden(golden, golden_hub, batch_size):
    """GenAI-Bench's shape: many samples of one image and one text, batched across samples after the shared
    chat header (images of several sizes, texts of several lengths, in a shuffled order). Each score is the
    reference's; the vision tower takes each batch in one call on every transformers version, its attention
    chunks batched by t2v_hf.qwen_vision (4.x's own dense mask over the batch would cost its square)."""
    score = t2v_core.VQAScore(model="qwen2.5-vl-7b", device="cpu", batch_size=batch_size)
    default = next(c for c in golden["cases"] if c["template"] == "default")
    paths, texts = golden["image_paths"], golden["texts"]
    pairs = [(i, j) for i in range(len(paths)) for j in range(len(texts))][::-3]
    model = score.model.model
    embed = (getattr(model, "visual", None) or model.model.visual).patch_embed
    calls = []
    forward = embed.forward

    def spy(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    embed.forward = spy
    out = score.batch_forward([{"images": [paths[i]], "texts": [texts[j]]} for i, j in pairs], batch_size=batch_size)
    assert out.shape == (len(pairs), 1, 1)
    assert rel(out.reshape(-1), [default["scores"][i][j] for i, j in pairs]) < 1e-4
    batches = -(-len(pairs) // batch_size)
    assert len(calls) == batches
    assert score.model.vision_tuning == {"attention": len(embed_owner_blocks(model)), "one_by_one": 0, "patch_embed": 1}
