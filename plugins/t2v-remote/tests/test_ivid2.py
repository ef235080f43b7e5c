"""InternVideo2-Chat-8B through a fake remote-code repository, scored in a worker environment (the worker path;
``worker_specs`` in conftest drops the era pins in this process and the tests ask for ``isolated=True``)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from fake_ivid2 import HD_REPO, INTERNLM_REPO, REPO, write_ivid2_internlm_repo, write_ivid2_repo
from fake_repo import fake_hub
from PIL import Image

import t2v_core
from t2v_core.media import load_media
from t2v_core.testing import write_video

NAME = "internvideo2-chat-8b"
Q = 'Does this figure show "{}"? Please answer yes or no.'
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def world(tmp_path_factory, worker_specs):
    root = tmp_path_factory.mktemp("ivid2")
    folder = write_ivid2_repo(root / "repo")
    hd = write_ivid2_repo(root / "hd", seed=1)
    internlm = write_ivid2_internlm_repo(root / "internlm", seed=2)
    rng = np.random.default_rng(11)
    video = write_video(root / "clip.mp4", [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(30)],
                        fps=10)
    with fake_hub(root, {REPO: folder, HD_REPO: hd, INTERNLM_REPO: internlm}):
        yield {"folder": folder, "hd": hd, "internlm": internlm, "video": video}


@functools.lru_cache(maxsize=3)
def _load(folder):
    from transformers import AutoModel, AutoTokenizer

    return (AutoTokenizer.from_pretrained(folder, trust_remote_code=True, use_fast=False),
            AutoModel.from_pretrained(folder, trust_remote_code=True, dtype=torch.float32).eval())


def _clip(frames):
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tf

    x = torch.stack([torch.from_numpy(np.asarray(f, np.float32) / 255).permute(2, 0, 1) for f in frames])
    x = tf.center_crop(tf.resize(x, 224, interpolation=InterpolationMode.BICUBIC, antialias=True), 224)
    return tf.normalize(x, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _direct(folder, frames, question, answer="Yes"):
    """By hand: BOS + "[INST] <Image>", 96 media slots, BOS + "</Image>[/INST] [INST] {q} [/INST]"; the fake's
    media embeddings written into the slots; a plain forward; softmax at the end; encode(answer)[1]."""
    tok, model = _load(folder)
    head = tok("[INST] <Image>").input_ids
    tail = tok(f"</Image>[/INST] [INST] {question} [/INST]").input_ids
    with torch.no_grad():
        emb = model.lm.get_input_embeddings()
        media = model.query + model.patch(_clip(frames)).flatten(2).mean(-1).mean(0)
        embeds = torch.cat([emb(torch.tensor(head)), media, emb(torch.tensor(tail))])[None]
        logits = model.lm(inputs_embeds=embeds).logits[0, -1].double()
    return torch.softmax(logits, -1)[tok.encode(answer)[1]].item()


def test_refused_without_trust_remote_code(world):
    with pytest.raises(ValueError, match=r"OpenGVLab/InternVideo2-Chat-8B.*trust_remote_code=True"):
        t2v_core.VQAScore(model=NAME, device="cpu", isolated=True)


def test_video_and_image_in_the_worker_equal_the_direct_computation(world):
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    texts = ["a cat", "two dogs"]
    score = t2v_core.VQAScore(model=NAME, device="cpu", isolated=True, trust_remote_code=True)
    try:
        got = score(images=[str(world["video"]), image], texts=texts).numpy()
        four = score(images=[str(world["video"])], texts=texts[:1], num_frames=4).item()
    finally:
        score.close()
    # 30 frames, 8 segments of 29/8: centres int(1.8125) + round(3.625 k)
    idx = [1 + int(round(29 / 8 * k)) for k in range(8)]
    frames = load_media(str(world["video"])).frames(idx)
    want = [[_direct(world["folder"], frames, Q.format(t)) for t in texts],
            [_direct(world["folder"], [image], Q.format(t)) for t in texts]]
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)
    idx4 = [3 + int(round(29 / 4 * k)) for k in range(4)]
    assert four == pytest.approx(_direct(world["folder"], load_media(str(world["video"])).frames(idx4),
                                         Q.format(texts[0])), rel=1e-4)


def _hd_clip(frames):
    import torch.nn.functional as F
    from torchvision.transforms import functional as tf

    x = torch.stack([torch.from_numpy(np.asarray(f, np.float32)).permute(2, 0, 1) for f in frames])
    x = F.interpolate(x, size=(224, 448), mode="bicubic", align_corners=False) / 255
    x = tf.normalize(x, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    left, right = x[..., :224], x[..., 224:]
    return [left, right, F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False)]


def _direct_hd(folder, frames, question, answer="Yes"):
    """By hand: three <Video> slots of 96 (left tile, right tile, global), each text chunk with BOS."""
    tok, model = _load(folder)
    chunks = ["[INST] <Video>", "</Video><Video>", "</Video><Video>", f"</Video>[/INST] [INST] {question} [/INST]"]
    emb = model.lm.get_input_embeddings()
    with torch.no_grad():
        parts = [emb(torch.tensor(tok(chunks[0]).input_ids))]
        for tile, chunk in zip(_hd_clip(frames), chunks[1:]):
            parts += [model.query + model.patch(tile).flatten(2).mean(-1).mean(0), emb(torch.tensor(tok(chunk).input_ids))]
        logits = model.lm(inputs_embeds=torch.cat(parts)[None]).logits[0, -1].double()
    return torch.softmax(logits, -1)[tok.encode(answer)[1]].item()


def test_hd_video_and_image_in_the_worker_equal_the_direct_computation(world):
    image = Image.fromarray(np.random.default_rng(4).integers(0, 256, (40, 50, 3), dtype=np.uint8))
    score = t2v_core.VQAScore(model="internvideo2-chat-8b-hd", device="cpu", isolated=True, trust_remote_code=True)
    try:
        got = score(images=[str(world["video"]), image], texts=["a cat"]).numpy()
    finally:
        score.close()
    frames = load_media(str(world["video"])).frames([1 + int(round(29 / 8 * k)) for k in range(8)])
    want = [[_direct_hd(world["hd"], frames, Q.format("a cat"))], [_direct_hd(world["hd"], [image], Q.format("a cat"))]]
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)


def test_internlm_variant_scores_as_its_definition_in_the_worker(world):
    """Ours (the reference crashed on this name): the HD clip and prompt, through the repo's InternLM2 tokenizer."""
    from transformers import AutoTokenizer

    with pytest.raises(ValueError, match=r"OpenGVLab/InternVideo2_Chat_8B_InternLM2_5.*trust_remote_code=True"):
        t2v_core.VQAScore(model="internvideo2-chat-8b-internlm", device="cpu", isolated=True)
    with pytest.raises(Exception, match="InternLM2Tokenizer|trust_remote_code"):  # the tokenizer is remote code
        AutoTokenizer.from_pretrained(world["internlm"])
    assert type(_load(world["internlm"])[0]).__name__ == "InternLM2Tokenizer"
    image = Image.fromarray(np.random.default_rng(6).integers(0, 256, (30, 44, 3), dtype=np.uint8))
    texts = ["a cat", "two dogs"]
    score = t2v_core.VQAScore(model="internvideo2-chat-8b-internlm", device="cpu", isolated=True,
                              trust_remote_code=True)
    try:
        got = score(images=[str(world["video"]), image], texts=texts).numpy()
        four = score(images=[str(world["video"])], texts=texts[:1], num_frames=4).item()
        assert score.provenance["worker_env"]["requirements"] == []  # this process dropped the pins (conftest)
    finally:
        score.close()
    frames = load_media(str(world["video"])).frames([1 + int(round(29 / 8 * k)) for k in range(8)])
    want = [[_direct_hd(world["internlm"], frames, Q.format(t)) for t in texts],
            [_direct_hd(world["internlm"], [image], Q.format(t)) for t in texts]]
    np.testing.assert_allclose(got, np.array(want), rtol=1e-4, atol=1e-7)
    frames4 = load_media(str(world["video"])).frames([3 + int(round(29 / 4 * k)) for k in range(4)])
    assert four == pytest.approx(_direct_hd(world["internlm"], frames4, Q.format(texts[0])), rel=1e-4)


def test_refused_before_any_worker_environment_is_made(world, monkeypatch):
    from t2v_remote.scorer import RemoteCodeRefusedError

    from t2v_core import isolated

    def no_env(*args, **kwargs):
        raise AssertionError("a worker environment was made for a model that had to be refused")

    monkeypatch.setattr(isolated, "ensure_env", no_env)
    with pytest.raises(RemoteCodeRefusedError, match=r"OpenGVLab/InternVideo2_Chat_8B_InternLM2_5.*trust_remote_code"):
        t2v_core.VQAScore(model="internvideo2-chat-8b-internlm", device="cpu", isolated=True)
    # a checkpoint= override is the repo the refusal names
    with pytest.raises(RemoteCodeRefusedError, match=r"my/fork"):
        t2v_core.VQAScore(model=NAME, device="cpu", isolated=True, checkpoint="my/fork")
