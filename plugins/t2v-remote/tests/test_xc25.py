"""InternLM-XComposer2.5 through a fake remote-code repository, scored in a worker environment (the worker
path; ``worker_specs`` in conftest drops the era pins in this process and the tests ask for ``isolated=True``)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from fake_repo import fake_hub
from fake_xc25 import REPO, write_xc25_repo
from PIL import Image

import t2v_core
from t2v_core.media import load_media
from t2v_core.testing import write_video

NAME = "internlmxcomposer25-7b"
Q = 'Does this figure show "{}"? Please answer yes or no.'
META = "You are an AI assistant whose name is InternLM-XComposer (浦语·灵笔).\n"
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def world(tmp_path_factory, worker_specs):
    root = tmp_path_factory.mktemp("xc25")
    folder = write_xc25_repo(root / "repo")
    video = write_video(root / "clip.mp4", [np.full((32, 32, 3), (9 * k) % 256, np.uint8) for k in range(12)], fps=4)
    with fake_hub(root, {REPO: folder}):
        yield {"folder": folder, "video": video}


@functools.lru_cache(maxsize=1)
def _load(folder):
    from transformers import AutoModel, AutoTokenizer

    return (AutoTokenizer.from_pretrained(folder, trust_remote_code=True),
            AutoModel.from_pretrained(folder, trust_remote_code=True, dtype=torch.float32).eval())


def _direct(folder, pixels, question, video, answer="Yes"):
    """By hand: the chat prompt with the image embedding at its place, a plain forward, softmax at the end."""
    tok, model = _load(folder)
    embed = model.get_input_embeddings()
    query = f"Here are some frames of a video. {question}" if video else f"<ImageHere> {question}"
    prompt = (f"[UNUSED_TOKEN_146]system\n{META}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user\n{query}"
              "[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n")
    if video:
        before, after = "", prompt
    else:
        before, after = prompt.split("<ImageHere>")
    first = [tok.bos_token_id] + tok.encode(before, add_special_tokens=False)
    rest = tok.encode(after, add_special_tokens=False)
    img = Image.fromarray(pixels).resize((28, 28))
    pix = torch.from_numpy(np.asarray(img, np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        vis = model.vit(pix).flatten(1)[None] * (1 + 0.01 * 24)
        embeds = torch.cat([embed(torch.tensor([first])), vis, embed(torch.tensor([rest]))], 1)
        logits = model(inputs_embeds=embeds).logits[0, -1].double()
    return torch.softmax(logits, -1)[tok.encode(answer)[1]].item()


def test_refused_without_trust_remote_code(world):
    with pytest.raises(ValueError, match=r"internlm/internlm-xcomposer2d5-7b.*trust_remote_code=True"):
        t2v_core.VQAScore(model=NAME, device="cpu", isolated=True)


def test_images_and_video_in_the_worker_equal_the_direct_computation(world):
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 256, (36, 30, 3), dtype=np.uint8) for _ in range(2)]
    texts = ["a cat", "two dogs"]
    score = t2v_core.VQAScore(model=NAME, device="cpu", isolated=True, trust_remote_code=True)
    try:
        got = score(images=[*[Image.fromarray(a) for a in images], str(world["video"])], texts=texts).numpy()
        assert "worker_env" in score.provenance
    finally:
        score.close()
    frames = load_media(str(world["video"])).frames([0, 11])
    mean = ((np.asarray(frames[0], np.float32) + np.asarray(frames[1], np.float32)) / 2).round().astype(np.uint8)
    want = [[_direct(world["folder"], a, Q.format(t), video=False) for t in texts] for a in images]
    want.append([_direct(world["folder"], mean, Q.format(t), video=True) for t in texts])
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)
