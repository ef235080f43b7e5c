"""generate for InstructBLIP, and videos as their frames side by side (the reference's "concat" mode)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _blip_helpers import RTOL, reference_image, rel
from PIL import Image

from t2v_core.testing import random_images


def test_generate_equals_transformers_generate(instructblip):
    """Greedy answers equal InstructBlipForConditionalGeneration.generate on the same pixels and ids."""
    scorer = instructblip.model
    images = [reference_image("square_rgb.png"), reference_image("wide_rgb.png")]
    prompts = ["Describe the image.", 'Question: Does this figure show "a cat"? Please answer yes or no.']
    got = scorer.generate(images=images, texts=prompts, max_new_tokens=6)
    assert len(got) == 2 and all(isinstance(g, str) for g in got)
    want = []
    for img, p in zip(images, prompts):
        q = scorer.qformer_tokenizer([p], return_tensors="pt")
        ids = torch.tensor(
            [[scorer.config.image_token_index] * scorer.num_query + scorer.t5_tokenizer(p).input_ids]
        )
        out = scorer.model.generate(
            pixel_values=scorer.pixels([img]),
            qformer_input_ids=q.input_ids,
            qformer_attention_mask=q.attention_mask,
            input_ids=ids,
            max_new_tokens=6,
            do_sample=False,
            num_beams=1,
        )
        want.append(scorer.t5_tokenizer.decode(out[0], skip_special_tokens=True).strip())
    assert got == want


def test_generate_refuses_bad_input(instructblip):
    img = random_images(1)
    with pytest.raises(TypeError, match="unexpected option.*'beams'"):
        instructblip.model.generate(images=img, texts=["hi"], beams=2)
    with pytest.raises(ValueError, match="1 media and 2 prompts"):
        instructblip.model.generate(images=img, texts=["a", "b"])


def _strip(frames: list[np.ndarray], gap: int = 10) -> Image.Image:
    h, w = frames[0].shape[:2]
    canvas = Image.new("RGB", (w * len(frames) + gap * (len(frames) - 1), h))
    for k, f in enumerate(frames):
        canvas.paste(Image.fromarray(f), (k * (w + gap), 0))
    return canvas


@pytest.mark.parametrize("which", ["instructblip", "itm", "itc"])
def test_video_is_its_frames_side_by_side(which, request):
    score = request.getfixturevalue(which)
    frames = [np.asarray(im) for im in random_images(4, size=(40, 30), seed=5)]
    texts = ["a red cube", "two dogs in the snow"]
    got = score(images=[frames], texts=texts, num_frames=4)
    want = score(images=[_strip(frames)], texts=texts)
    assert rel(got, want) < RTOL
    assert not torch.allclose(got, score(images=[Image.fromarray(frames[0])], texts=texts))
