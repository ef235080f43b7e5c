"""Original-layout checkpoints: mapped onto the native classes (InternVL2.5 on Qwen2), or run as remote code."""

from __future__ import annotations

import internvl_reference as ref
import numpy as np
import pytest
import torch
from PIL import Image

from t2v_core.media import Video

TEXTS = ["a red cube on a table", "two dogs playing in the snow"]


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in [(40, 40), (200, 90)]]


def test_mapped_original_weights_score_like_the_native_checkpoint(get_score):
    """InternVL2.5-1B ships in the original layout; mapped onto the native classes it must score exactly as the
    same weights saved natively."""
    images = _images()
    frames = [np.asarray(im.resize((48, 48))) for im in _images() * 3]
    mapped = get_score("internvl2.5-1b")
    native = get_score("internvl3-1b")
    assert mapped.model.ivl.layout == "hf"  # no remote code ran
    torch.testing.assert_close(mapped(images=images + [frames], texts=TEXTS, num_frames=4),
                               native(images=images + [frames], texts=TEXTS, num_frames=4), rtol=1e-5, atol=1e-7)


def test_remote_code_is_refused_without_trust_remote_code(offline_hub):
    from t2v_internvl.loading import RemoteCodeRequiredError

    import t2v_core

    with pytest.raises(RemoteCodeRequiredError, match="trust_remote_code=True") as info:
        t2v_core.VQAScore(model="internvl2-1b", device="cpu", isolated=False)
    assert "'internvl2-1b'" in str(info.value) and "remote code" in str(info.value)


@pytest.fixture(scope="module")
def remote_plain(checkpoints):
    """The fake remote repo loaded with its own code, for a plain forward written like the reference's."""
    from transformers import AutoModel, AutoTokenizer

    folder = checkpoints["remote"]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    model.img_context_token_id = tok.convert_tokens_to_ids("<IMG_CONTEXT>")
    return model, tok


def _remote_ref(model, tok, pixels: torch.Tensor, user: str) -> float:
    # the remote Hermes-2 conversation: turns separated by <|im_end|> with no newline
    query = (f"<|im_start|>system\n{model.system_message}<|im_end|><|im_start|>user\n{user}<|im_end|>"
             "<|im_start|>assistant\n")
    enc = tok(query, return_tensors="pt")
    with torch.no_grad():
        out = model(pixel_values=pixels, input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                    image_flags=torch.ones(pixels.shape[0], 1, dtype=torch.long))
    return ref.p_answer(out.logits, tok)


def test_remote_code_path_matches_its_own_forward(get_score, remote_plain):
    model, tok = remote_plain
    score = get_score("internvl2-1b", trust_remote_code=True, isolated=False)  # in-process despite the pins
    assert score.model.ivl.layout == "remote"
    images = _images()
    frames = [Image.fromarray(f) for f in np.random.default_rng(2).integers(0, 256, (9, 30, 30, 3), dtype=np.uint8)]
    got = score(images=images + [Video.from_frames(frames)], texts=TEXTS, num_frames=3)
    for i, img in enumerate(images):
        pixels = ref.image_pixels(img, 56)
        for j, text in enumerate(TEXTS):
            want = _remote_ref(model, tok, pixels, ref.image_user(pixels.shape[0], model.num_image_token, text))
            assert abs(float(got[i, j]) - want) / want < 1e-4, (i, j, float(got[i, j]), want)
    idx = ref.video_index(len(frames), 3)
    pixels = ref.video_pixels([frames[k] for k in idx], 56)
    for j, text in enumerate(TEXTS):
        want = _remote_ref(model, tok, pixels, ref.video_user(3, model.num_image_token, text))
        assert abs(float(got[2, j]) - want) / want < 1e-4
    # one text per image, batched across samples after the shared header: the same scores
    cols = [(i + 1) % len(TEXTS) for i in range(len(images))]
    pairs = score.batch_forward([{"images": [img], "texts": [TEXTS[j]]} for img, j in zip(images, cols)])
    torch.testing.assert_close(pairs.reshape(-1), torch.stack([got[i, j] for i, j in enumerate(cols)]), rtol=1e-4,
                               atol=0)
    answers = score.model.generate(images[:1], ["What is it?"], max_new_tokens=2)
    assert len(answers) == 1 and isinstance(answers[0], str)


def test_refusals_happen_before_download_and_name_the_reason(offline_hub, checkpoints):
    from t2v_internvl.loading import RemoteCodeRequiredError

    import t2v_core

    # not in the cache: refused at once, not after a download
    with pytest.raises(RemoteCodeRequiredError, match="defined only in that code"):
        t2v_core.VQAScore(model="internvl2-40b", device="cpu", isolated=False)
    # an original-layout checkpoint on a Qwen2 model but another conversation template cannot be mapped
    with pytest.raises(RemoteCodeRequiredError, match="'Hermes-2'"):
        t2v_core.VQAScore(model="internvl2.5-1b", device="cpu", checkpoint=str(checkpoints["remote"]))


def test_remote_code_path_projects_only_the_read_positions(get_score, remote_plain):
    """Remote code with a transformers LM (Qwen2 here): lm_head sees 1 position per prompt (the prefix's
    forward keeps 1, each suffix batch its read positions), and the scores equal the remote model's own."""
    model, tok = remote_plain
    score = get_score("internvl2-1b", trust_remote_code=True, isolated=False)  # in-process: the hook needs the model here
    head = score.model.ivl.model.language_model.lm_head
    widths = []
    handle = head.register_forward_hook(lambda m, args, out: widths.append(args[0].shape[1]))
    try:
        img = _images()[0]
        got = score(images=[img], texts=TEXTS)
        single = score(images=[img], texts=TEXTS[:1])  # whole prompt, no prefix reuse
    finally:
        handle.remove()
    assert widths and max(widths) == 1, widths
    pixels = ref.image_pixels(img, 56)
    for j, text in enumerate(TEXTS):
        want = _remote_ref(model, tok, pixels, ref.image_user(pixels.shape[0], model.num_image_token, text))
        assert abs(float(got[0, j]) - want) / want < 1e-4
    assert abs(float(single[0, 0]) - float(got[0, 0])) / float(got[0, 0]) < 1e-4
