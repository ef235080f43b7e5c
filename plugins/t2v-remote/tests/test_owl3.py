"""mPLUG-Owl3 through a fake remote-code repository, scored in a worker environment (the worker path).

The spec pins the era's transformers, which this environment does not have; ``worker_specs`` (conftest) drops
the pins in this process and the tests ask for ``isolated=True``, so the worker path runs on this transformers.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from fake_owl3 import PENALTY, REPO, write_owl3_repo
from fake_repo import fake_hub
from PIL import Image

import t2v_core
from t2v_core.media import load_media
from t2v_core.testing import write_video

NAME = "mplug-owl3-7b"
Q = 'Does this figure show "{}"? Please answer yes or no.'
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def world(tmp_path_factory, worker_specs):
    """The fake repo in a fake offline hub cache, and a video."""
    root = tmp_path_factory.mktemp("owl3")
    folder = write_owl3_repo(root / "repo")
    video = write_video(root / "clip.mp4", [np.full((32, 32, 3), (7 * k) % 256, np.uint8) for k in range(40)], fps=2)
    with fake_hub(root, {REPO: folder}):
        yield {"folder": folder, "video": video}


@pytest.fixture(scope="module")
def scorer(world):
    score = t2v_core.VQAScore(model=NAME, device="cpu", isolated=True, trust_remote_code=True)
    yield score
    score.close()


@functools.lru_cache(maxsize=1)
def _load(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    return tok, AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True, dtype=torch.float32).eval()


def _direct(folder, media_frames, question, answer="Yes"):
    """The fake model's computation done here by hand: prompt ids, a plain forward, the repetition penalty."""
    tok, model = _load(folder)
    pad = "<|image_pad|>" * len(media_frames)
    ids = tok.encode(f"<|im_start|>user\n{pad}\n{question}<|im_end|>\n<|im_start|>assistant\n")
    pos = [i for i, t in enumerate(ids) if t == tok.convert_tokens_to_ids("<|image_pad|>")]
    pix = torch.stack([torch.from_numpy(np.asarray(f.convert("RGB").resize((28, 28)), np.float32) / 255)
                       .permute(2, 0, 1) for f in media_frames])
    with torch.no_grad():
        logits = model.language_model(input_ids=torch.tensor([ids]), image_embeds=model.forward_image(pix),
                                      media_offset=torch.tensor([pos])).logits[0, -1].double()
    seen = torch.tensor(sorted(set(ids)))
    picked = logits[seen]
    logits[seen] = torch.where(picked > 0, picked / PENALTY, picked * PENALTY)
    return torch.softmax(logits, -1)[tok.encode(answer)[0]].item()


def _images():
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)) for _ in range(2)]


def test_refused_without_trust_remote_code(world):
    with pytest.raises(ValueError, match=r"trust_remote_code=True.*VQAScore\(model='mplug-owl3-7b'"):
        t2v_core.VQAScore(model=NAME, device="cpu", isolated=True)
    with pytest.raises(ValueError, match="runs only through the Python code in its checkpoint"):
        t2v_core.VQAScore(model=NAME, device="cpu", isolated=False)  # in-process: the same refusal


def test_images_and_video_in_the_worker_equal_the_direct_computation(world, scorer):
    images, texts = _images(), ["a cat", "Yes"]  # "Yes" in the prompt: the repetition penalty hits the answer
    got = scorer(images=[*images, str(world["video"])], texts=texts).numpy()
    assert got.shape == (3, 2)
    prov = scorer.provenance
    assert prov["worker_env"]["requirements"] == [] and prov["options"]["attn_implementation"] == "eager"
    # 40 frames at 2 fps: every 2nd frame (20), then the centres of 16 equal bins of those
    idx = [list(range(0, 40, 2))[int(i * 1.25 + 0.625)] for i in range(16)]
    frames = load_media(str(world["video"])).frames(idx)
    want = [[_direct(world["folder"], [im], Q.format(t)) for t in texts] for im in images]
    want.append([_direct(world["folder"], frames, Q.format(t)) for t in texts])
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)
    # the score is taken after generate's repetition penalty: without it the numbers differ clearly
    assert abs(got[0, 1] / _no_penalty(world["folder"], images[0], Q.format(texts[1])) - 1) > 0.05


def _no_penalty(folder, image, question):
    global PENALTY
    saved, PENALTY = PENALTY, 1.0
    try:
        return _direct(folder, [image], question)
    finally:
        PENALTY = saved


def test_answer_template_and_frame_options_reach_the_worker(world, scorer):
    images = _images()[:1]
    got = scorer(images=images, texts=["a cat"], answer_template="No").item()
    assert got == pytest.approx(_direct(world["folder"], images, Q.format("a cat"), answer="No"), rel=1e-4)
    short = scorer(images=[str(world["video"])], texts=["a cat"], num_frames=4).item()
    idx = [list(range(0, 40, 2))[int(i * 5 + 2.5)] for i in range(4)]
    frames = load_media(str(world["video"])).frames(idx)
    assert short == pytest.approx(_direct(world["folder"], frames, Q.format("a cat")), rel=1e-4)
