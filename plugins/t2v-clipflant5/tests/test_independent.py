"""Scores, videos and generation checked against a plain forward pass written here, one pair at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _clipflant5_helpers import TOKENIZER, TOWER, snapshot
from PIL import Image
from transformers import AutoTokenizer, CLIPImageProcessorPil

from t2v_core.media import concat_frames, uniform_indices
from t2v_core.testing import random_images

SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
          "detailed, and polite answers to the user's questions.")


class Plain:
    """The reference's computation for one pair, written out step by step with the loaded modules."""

    def __init__(self, score, cache):
        from t2v_clipflant5.modeling import load_clip_t5

        self.model = score.model.model
        # the scorer's tower stops at the layer it reads: the plain computation runs the whole stock tower
        full, _ = load_clip_t5(score.model.spec.weights[0], dtype=torch.float32, device="cpu", fused=False,
                               trim=False)
        self.clip = full.clip
        self.tok = AutoTokenizer.from_pretrained(str(snapshot(cache, TOKENIZER)))
        self.proc = CLIPImageProcessorPil.from_pretrained(str(snapshot(cache, TOWER)))

    def pixels(self, img: Image.Image) -> torch.Tensor:
        w, h = img.size
        side = max(w, h)
        mean = tuple(int(x * 255) for x in self.proc.image_mean)
        canvas = Image.new("RGB", (side, side), mean)
        canvas.paste(img, ((side - w) // 2, (side - h) // 2))
        return self.proc(images=[canvas], return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def encoder_input(self, img: Image.Image, prompt: str) -> torch.Tensor:
        m = self.model
        hidden = self.clip(self.pixels(img), output_hidden_states=True).hidden_states[-2][:, 1:]
        feats = m.mm_projector(hidden)[0]
        before, after = prompt.split("<image>")
        ids = [torch.tensor(self.tok(c).input_ids) for c in (before, after)]
        return torch.cat([m.shared(ids[0]), feats, m.shared(ids[1])])[None]

    @torch.no_grad()
    def score(self, img: Image.Image, question: str, answer: str) -> float:
        x = self.encoder_input(img, f"{SYSTEM} USER: <image>\n{question} ASSISTANT: ")
        labels = torch.tensor(self.tok(answer).input_ids)[None]
        loss = self.model(inputs_embeds=x, labels=labels).loss
        return float(torch.exp(-loss))

    @torch.no_grad()
    def greedy(self, img: Image.Image, prompt: str, max_new_tokens: int) -> str:
        x = self.encoder_input(img, f"{SYSTEM} USER: <image>\n{prompt} ASSISTANT: ")
        enc = self.model.encoder(inputs_embeds=x).last_hidden_state
        out = [self.model.config.decoder_start_token_id]
        for _ in range(max_new_tokens):
            logits = self.model(encoder_outputs=(enc,), decoder_input_ids=torch.tensor([out])).logits
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            if nxt == self.tok.eos_token_id:
                break
        return self.tok.decode(out, skip_special_tokens=True).strip()


@pytest.fixture(scope="module")
def plain(xxl, offline_hub):
    return Plain(xxl, offline_hub)


def test_matrix_equals_plain_forward(xxl, plain):
    images = random_images(2, size=(80, 30), seed=11) + random_images(1, size=(20, 50), seed=12)
    texts = ["a red cube", "a photo of two cats sleeping on a sofa", "{braces} stay literal"]
    got = xxl(images=images, texts=texts, question_template='Is "{}" shown?', answer_template="Yes, {}")
    for i, img in enumerate(images):
        for j, t in enumerate(texts):
            want = plain.score(img, f'Is "{t}" shown?', f"Yes, {t}")
            assert abs(float(got[i, j]) - want) / want < 1e-5


def test_video_frames_side_by_side(xxl, plain):
    """A video is num_frames uniformly sampled frames laid side by side, scored as one image."""
    frames = [np.asarray(im) for im in random_images(9, size=(40, 30), seed=13)]
    for num_frames in (4, 3):
        got = xxl(images=[frames], texts=["a red cube"], num_frames=num_frames)
        idx = uniform_indices(len(frames), num_frames)
        image = concat_frames([Image.fromarray(frames[k]) for k in idx])
        assert image.size == (40 * num_frames, 30)
        want = plain.score(image, 'Does this figure show "a red cube"? Please answer yes or no.', "Yes")
        assert abs(float(got[0, 0]) - want) / want < 1e-5


def test_generate_greedy(xxl, plain):
    images = random_images(2, size=(50, 60), seed=14)
    prompts = ["Describe the image.", "What is in the figure? Answer briefly please."]
    got = xxl.model.generate(images=images, texts=prompts, max_new_tokens=6)
    want = [plain.greedy(img, p, 6) for img, p in zip(images, prompts)]
    assert got == want and any(want)


def test_generate_refuses_unknown_options(xxl):
    with pytest.raises(TypeError, match="max_new_tokens"):
        xxl.model.generate(images=random_images(1), texts=["hi"], max_tokens=3)


def test_image_token_in_text_is_refused(xxl):
    with pytest.raises(ValueError, match="<image>"):
        xxl(images=random_images(1), texts=["a <image> in the text"])



def test_fused_gelu_equals_the_stock_transformers_modules(xxl, offline_hub):
    """The scorer swaps T5's six-op ``gelu_new`` for torch's fused kernel; a model loaded with the stock
    modules, run the reference's way one pair at a time, gives the same scores."""
    from t2v_clipflant5.modeling import TanhGELU, load_clip_t5
    from transformers.activations import NewGELUActivation

    fused = xxl.model.model
    assert sum(isinstance(m, TanhGELU) for m in fused.modules()) == 4  # 2 encoder + 2 decoder layers
    assert not any(isinstance(m, NewGELUActivation) for m in fused.modules())
    stock, _ = load_clip_t5("zhiqiulin/clip-flant5-xxl", dtype=torch.float32, device="cpu", fused=False,
                            trim=False)
    assert sum(isinstance(m, NewGELUActivation) for m in stock.modules()) == 4
    plain = Plain(xxl, offline_hub)
    plain.model = stock
    images = random_images(2, size=(64, 48), seed=21)
    texts = ["a red cube", "two dogs playing in the snow"]
    got = xxl(images=images, texts=texts)
    for i, img in enumerate(images):
        for j, t in enumerate(texts):
            want = plain.score(img, f'Does this figure show "{t}"? Please answer yes or no.', "Yes")
            assert abs(float(got[i, j]) - want) / want < 1e-5


def test_the_tower_stops_at_the_layer_it_reads(xxl, offline_hub):
    """The scorer's CLIP tower has no layer after the second-to-last (which the score reads); its image
    features equal the whole stock tower's second-to-last hidden state, and its scores the stock model's."""
    from t2v_clipflant5.modeling import load_clip_t5

    full, _ = load_clip_t5("zhiqiulin/clip-flant5-xxl", dtype=torch.float32, device="cpu", fused=False,
                           trim=False)
    ours = xxl.model.model
    n_full = len(full.clip_layers)
    assert len(ours.clip_layers) == n_full - 1 and full.select_layer == -2
    plain = Plain(xxl, offline_hub)
    img = random_images(1, size=(64, 48), seed=5)[0]
    pix = plain.pixels(img)
    with torch.no_grad():
        want = full.mm_projector(full.clip(pix, output_hidden_states=True).hidden_states[-2][:, 1:])
        got = ours.encode_images(pix)
        assert not torch.allclose(want, full.mm_projector(full.clip(pix).last_hidden_state[:, 1:]))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    score = xxl(images=[img], texts=["a red cube"])
    expected = plain.score(img, 'Does this figure show "a red cube"? Please answer yes or no.', "Yes")
    assert abs(float(score[0, 0]) - expected) / expected < 1e-5
