"""Molmo (0924) through a fake remote-code repository, scored in a worker environment (the worker path;
``worker_specs`` in conftest drops the era pins in this process and the tests ask for ``isolated=True``).
All four names share one scorer and differ only in their repo; each is built and scored here."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from fake_molmo import write_molmo_repo
from fake_repo import fake_hub
from PIL import Image

import t2v_core
from t2v_core.errors import MediaError

REPOS = {"molmo-72b-0924": "allenai/Molmo-72B-0924", "molmo-7b-d-0924": "allenai/Molmo-7B-D-0924",
         "molmo-7b-o-0924": "allenai/Molmo-7B-O-0924", "molmoe-1b-0924": "allenai/MolmoE-1B-0924"}
Q = 'Does this image show "{}"? Answer the question with Yes or No'
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def world(tmp_path_factory, worker_specs):
    """One fake repo per name (different seeds, so that a mix-up of repos shows), in a fake offline hub."""
    root = tmp_path_factory.mktemp("molmo")
    folders = {name: write_molmo_repo(root / name, seed=seed) for seed, name in enumerate(REPOS)}
    with fake_hub(root, {repo: folders[name] for name, repo in REPOS.items()}):
        yield folders


@functools.lru_cache(maxsize=4)
def _load(folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoTokenizer.from_pretrained(folder),
            AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True, dtype=torch.float32).eval())


def _direct(folder, image, question, answer="Yes"):
    """By hand: image token + " User: {q} Assistant:", the image embedding added there, a plain forward."""
    tok, model = _load(folder)
    ids = [tok.convert_tokens_to_ids("<|image_pad|>")] + tok.encode(f" User: {question} Assistant:")
    pix = torch.from_numpy(np.asarray(image.resize((28, 28)), np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        embeds = model.get_input_embeddings()(torch.tensor([ids])).clone()
        embeds[0, 0] += model.vit(pix).flatten(1)[0]
        logits = model(inputs_embeds=embeds).logits[0, -1].double()
    return torch.softmax(logits, -1)[tok.encode(" " + answer)[0]].item()


def test_refused_without_trust_remote_code(world):
    with pytest.raises(ValueError, match=r"allenai/MolmoE-1B-0924.*trust_remote_code=True"):
        t2v_core.VQAScore(model="molmoe-1b-0924", device="cpu", isolated=True)


def test_every_name_scores_its_repo_in_the_worker(world):
    rng = np.random.default_rng(7)
    images = [Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)) for _ in range(2)]
    texts = ["a cat", "two dogs"]
    for name, folder in world.items():
        score = t2v_core.VQAScore(model=name, device="cpu", isolated=True, trust_remote_code=True)
        try:
            got = score(images=images, texts=texts).numpy()
            assert score.provenance["weights"] == [REPOS[name]]
        finally:
            score.close()
        want = [[_direct(folder, im, Q.format(t)) for t in texts] for im in images]
        np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7, err_msg=name)


def test_video_is_refused_with_the_reason(world, tmp_path):
    from t2v_core.testing import write_video

    video = write_video(tmp_path / "v.mp4", [np.zeros((16, 16, 3), np.uint8)] * 4, fps=4)
    score = t2v_core.VQAScore(model="molmo-7b-d-0924", device="cpu", isolated=True, trust_remote_code=True)
    try:
        with pytest.raises(MediaError, match="video"):
            score(images=[str(video)], texts=["a cat"])
    finally:
        score.close()
