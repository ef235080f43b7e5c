"""Scores read through the official clients from the fake servers, checked against the server's own truth."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import torch
from _api_helpers import KEYS, decode_png
from t2v_api.testing import absent_distribution

import t2v_core
from t2v_core.testing import random_images

PROTOS = ["openai", "gemini"]


def _pair_of(request, images, texts) -> tuple[int, int]:
    """Which (image, text) a recorded request was about, read from its decoded pixels and prompt."""
    pix = decode_png(request.media[0][1])
    i = next(k for k, im in enumerate(images) if np.array_equal(np.asarray(im), pix))
    j = next(k for k, t in enumerate(texts) if f'"{t}"' in request.prompt)
    return i, j


@pytest.mark.parametrize("protocol", PROTOS)
def test_scores_are_the_answer_probability(make, server, protocol) -> None:
    images = random_images(3, seed=3)
    texts = ["a red cube", "two dogs", "a blue sky"]
    score = make(protocol)
    out = score(images=images, texts=texts)
    assert out.shape == (3, 3) and out.dtype == torch.float32
    assert len(server.requests) == 9
    seen = set()
    for r in server.requests:
        i, j = _pair_of(r, images, texts)
        seen.add((i, j))
        assert r.media[0][0] == "image/png"
        assert r.top_logprobs == 20
        assert r.prompt == f'Does this figure show "{texts[j]}"? Please answer yes or no.'
        # the truth sums "Yes", " yes" and "YES" by construction; the scorer must find the same
        assert float(out[i, j]) == pytest.approx(server.truth_of(r).yes, rel=1e-6)
    assert seen == {(i, j) for i in range(3) for j in range(3)}
    assert score.model.bounds == [] and score.failures == []


@pytest.mark.parametrize("protocol", PROTOS)
def test_other_answer_template(make, server, protocol) -> None:
    images = random_images(2, seed=4)
    out = make(protocol)(images=images, texts=["a cat"], answer_template="No")
    for r in server.requests:
        i, _ = _pair_of(r, images, ["a cat"])
        assert float(out[i, 0]) == pytest.approx(server.truth_of(r).no, rel=1e-6)


@pytest.mark.parametrize("protocol", PROTOS)
def test_absent_answer_is_a_flagged_bound(make, server, protocol) -> None:
    server.distribution = absent_distribution
    images = random_images(2, seed=5)
    score = make(protocol)
    with pytest.warns(UserWarning, match=r"2 of 2 scores are not exact values \({'upper_bound': 2}\)"):
        out = score(images=images, texts=["a cat"])
    assert len(score.model.bounds) == 2 and score.notes == score.model.bounds
    for r in server.requests:
        i, _ = _pair_of(r, images, ["a cat"])
        truth = server.truth_of(r)
        top20 = sorted((c.prob for c in truth.candidates), reverse=True)[:20]
        bound = 1.0 - sum(top20)  # what the service did not show
        assert float(out[i, 0]) == pytest.approx(bound, rel=1e-5)
        assert float(out[i, 0]) > 0.0 and float(out[i, 0]) >= truth.yes  # a true upper bound, not 0.0
        b = next(b for b in score.model.bounds if b.media_index == i)
        assert b.detail["bound"] == pytest.approx(bound, rel=1e-5) and b.detail["n_returned"] == 20
        assert "is an upper bound" in b.message


@pytest.mark.parametrize("protocol", PROTOS)
def test_absent_answer_can_fail_instead(make, server, protocol) -> None:
    server.distribution = absent_distribution
    score = make(protocol, on_absent="fail")
    with pytest.raises(t2v_core.ScoringError, match="answer_absent"):
        score(images=random_images(1), texts=["a cat"])
    out = score(images=random_images(1), texts=["a cat"], on_error="nan")
    assert torch.isnan(out).all() and score.failures[0].kind == "answer_absent"


@pytest.mark.parametrize("protocol", PROTOS)
def test_a_bound_stays_flagged_when_a_run_resumes_from_the_store(make, server, protocol, tmp_path) -> None:
    server.distribution = absent_distribution
    score = make(protocol)
    data = [{"images": random_images(1, seed=k), "texts": ["a cat", "a dog"]} for k in range(2)]
    store = tmp_path / "s.sqlite"
    with pytest.warns(UserWarning, match="upper_bound"):
        first = score.batch_forward(data, store=store)
    assert len(server.requests) == 4 and len(score.model.bounds) == 4
    with pytest.warns(UserWarning, match=r"4 of 4 scores are not exact values \({'upper_bound': 4}\)"):
        again = score.batch_forward(data, store=store)
    assert len(server.requests) == 4  # nothing asked twice
    assert torch.equal(again, first)
    for n in score.model.bounds:  # the same bounds, now read back from the store
        assert n.detail["stored"] and n.detail["n_returned"] == 20
        assert float(again[n.detail["sample"], n.media_index, n.text_index]) == pytest.approx(n.detail["bound"])


@pytest.mark.parametrize("protocol", PROTOS)
def test_jpeg_images_carry_their_mime_type(make, server, protocol) -> None:
    make(protocol, image_format="jpeg")(images=random_images(1), texts=["x"])
    mime, data = server.requests[0].media[0]
    assert mime == "image/jpeg" and data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("protocol", PROTOS)
def test_multi_word_answer_is_refused_before_any_request(make, server, protocol) -> None:
    with pytest.raises(ValueError, match="first output token"):
        make(protocol)(images=random_images(1), texts=["a cat"], answer_template="{}")
    assert server.requests == []


@pytest.mark.parametrize("protocol", PROTOS)
def test_video_from_frames_is_sent_as_sampled_frames(make, server, protocol) -> None:
    frames = [np.full((16, 24, 3), 40 * k, dtype=np.uint8) for k in range(6)]
    video = t2v_core.media.Video.from_frames(frames, fps=6.0)
    out = make(protocol)(images=[video], texts=["a fade"], num_frames=3)
    r = server.requests[0]
    assert [m for m, _ in r.media] == ["image/png"] * 3
    got = [decode_png(d)[0, 0, 0] for _, d in r.media]
    assert got == [40 * k for k in t2v_core.media.uniform_indices(6, 3)]
    assert "3 images are frames" in r.prompt
    assert float(out[0, 0]) == pytest.approx(server.truth_of(r).yes, rel=1e-6)


def _write_mp4(path, n=8, fps=4) -> bytes:
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for k in range(n):
            f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 20 * k, dtype=np.uint8), format="rgb24")
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path.read_bytes()


def test_gemini_sends_a_video_file_natively(make, server, tmp_path) -> None:
    data = _write_mp4(tmp_path / "clip.mp4")
    score = make("gemini")
    out = score(images=[str(tmp_path / "clip.mp4")], texts=["a fade"], fps=2.0)
    r = server.requests[0]
    assert r.media == [("video/mp4", data)]
    part = r.body["contents"][0]["parts"][0]
    meta = part.get("videoMetadata") or part.get("video_metadata")
    assert meta and float(meta["fps"]) == 2.0
    assert float(out[0, 0]) == pytest.approx(server.truth_of(r).yes, rel=1e-6)
    # num_frames asks for frames instead
    server.reset()
    score(images=[str(tmp_path / "clip.mp4")], texts=["a fade"], num_frames=2)
    assert [m for m, _ in server.requests[0].media] == ["image/png"] * 2


def test_openai_sends_a_video_file_as_frames(make, server, tmp_path) -> None:
    _write_mp4(tmp_path / "clip.mp4")
    make("openai")(images=[str(tmp_path / "clip.mp4")], texts=["a fade"])
    assert [m for m, _ in server.requests[0].media] == ["image/png"] * 8  # default num_frames


@pytest.mark.parametrize("protocol", PROTOS)
def test_usage_tokens_and_cost(make, server, protocol) -> None:
    score = make(protocol)
    score(images=random_images(2), texts=["a", "b"])
    u = score.model.usage
    # the fake bills 10 + words + a fixed count per media item (85 for OpenAI, 258 for Gemini) and 1 output token
    per_media = 85 if protocol == "openai" else 258
    expected_in = sum(10 + len(r.prompt.split()) + per_media * len(r.media) for r in server.requests)
    assert (u.requests, u.succeeded, u.input_tokens, u.output_tokens) == (4, 4, expected_in, 4)
    price = (2.5, 10.0) if protocol == "openai" else (0.3, 2.5)
    assert u.cost_usd == pytest.approx((expected_in * price[0] + 4 * price[1]) / 1e6)
    assert score.model.last_usage.requests == 4
    score(images=random_images(1), texts=["c"])
    assert score.model.usage.requests == 5 and score.model.last_usage.requests == 1


@pytest.mark.parametrize("protocol", PROTOS)
def test_request_shape_on_the_wire(make, server, protocol) -> None:
    make(protocol)(images=random_images(1), texts=["x"])
    body = server.requests[0].body
    if protocol == "openai":
        assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
        parts = body["messages"][0]["content"]
        assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
        assert parts[-1] == {"type": "text", "text": 'Does this figure show "x"? Please answer yes or no.'}
    else:
        cfg = body["generationConfig"]
        get = lambda *ks: next(cfg[k] for k in ks if k in cfg)  # noqa: E731
        assert get("responseLogprobs", "response_logprobs") is True and get("logprobs") == 20
        assert get("maxOutputTokens", "max_output_tokens") == 1
        thinking = get("thinkingConfig", "thinking_config")
        assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 0
    assert not any(k in json.dumps(body) for k in KEYS)


@pytest.mark.parametrize("protocol", PROTOS)
def test_generate_returns_the_models_text(make, server, protocol) -> None:
    score = make(protocol)
    images = random_images(2, seed=8)
    answers = score.model.generate(images=images, texts=["Describe it.", "What colour?"])
    assert len(answers) == 2 and len(server.requests) == 2
    for r in server.requests:
        i = next(k for k, im in enumerate(images) if np.array_equal(np.asarray(im), decode_png(r.media[0][1])))
        assert answers[i] == server.truth_of(r).candidates[0].token  # the fake's answer: its top token
        cfg = r.body.get("generationConfig", {})
        assert not r.body.get("logprobs") and not cfg.get("responseLogprobs", cfg.get("response_logprobs"))
    assert score.model.last_usage.succeeded == 2
