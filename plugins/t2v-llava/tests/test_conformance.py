"""The core's conformance kit, generation, and videos as frames side by side."""

from __future__ import annotations

import numpy as np
import torch

from t2v_core.testing import check_scorer, random_images


def test_check_scorer(llava):
    report = check_scorer(llava, images=random_images(3, seed=7), texts=["a red cube", "two dogs in the snow"])
    assert report["max_pairwise_rel_dev"] < 1e-5


def test_check_scorer_llava16(offline_hub):
    import t2v_core

    score = t2v_core.VQAScore(model="llava-v1.6-13b", device="cpu")
    check_scorer(score, images=random_images(2, seed=8), texts=["a red cube", "a blue ball"])


def test_video_is_its_frames_side_by_side(llava):
    """A video is scored as its 8 sampled frames concatenated with a 10 px black gap (the reference's way)."""
    from t2v_core.media import concat_frames

    frames = [np.asarray(im) for im in random_images(8, size=(40, 30), seed=3)]
    texts = ["a red cube", "two dogs in the snow"]
    got = llava(images=[frames], texts=texts)
    strip = concat_frames([im for im in random_images(8, size=(40, 30), seed=3)], gap=10)
    want = llava(images=[strip], texts=texts)
    assert torch.allclose(got, want, rtol=1e-5)
    assert not torch.allclose(llava(images=[frames], texts=texts, num_frames=2), want, rtol=1e-4)


def test_generate_is_greedy_decoding_of_the_prompt(golden, llava, offline_hub):
    """generate() equals a plain greedy loop over full forwards of the vicuna prompt (no cache)."""
    from _llava_helpers import CLIP, LLAVA15, ReferenceLlava, reference_image, snapshot
    from safetensors.torch import load_file

    lm = {}
    for f in sorted(snapshot(offline_hub, LLAVA15).glob("*.bin")):
        lm.update(torch.load(f, weights_only=True))
    tower = {k: v for k, v in load_file(str(snapshot(offline_hub, CLIP) / "model.safetensors")).items()
             if k.startswith("vision_model.")}
    ref = ReferenceLlava(offline_hub, LLAVA15, lm, tower, CLIP)
    img = reference_image(golden["images"][1])
    prompt = "Describe the image."
    got = llava.model.generate([img], [prompt], max_new_tokens=6)
    # the reference's generation prompt: the conversation ends with "ASSISTANT:"
    from _llava_helpers import SYSTEM

    ids = ref.ids(SYSTEM + " USER: <image>\n" + prompt + " ASSISTANT:")
    at = ids.index(-200)
    emb = ref.lm.get_input_embeddings()
    w, h = img.size
    from PIL import Image

    canvas = Image.new("RGB", (max(w, h),) * 2, tuple(int(x * 255) for x in ref.proc.image_mean))
    canvas.paste(img, ((max(w, h) - w) // 2, (max(w, h) - h) // 2))
    px = ref.proc(images=[canvas], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        feats = ref.tower(px, output_hidden_states=True).hidden_states[-2][:, 1:]
        w0, b0, w2, b2 = ref.proj
        feats = torch.nn.functional.gelu(feats @ w0.T + b0) @ w2.T + b2
        x = torch.cat([emb(torch.tensor(ids[:at])), feats[0], emb(torch.tensor(ids[at + 1:]))])[None]
        new = []
        for _ in range(6):
            nxt = int(ref.lm(inputs_embeds=x).logits[0, -1].argmax())
            if nxt == ref.tok.eos_token_id:
                break
            new.append(nxt)
            x = torch.cat([x, emb(torch.tensor([[nxt]]))], 1)
    assert got == [ref.tok.decode(new, skip_special_tokens=True).strip()]
    assert len(got[0]) > 0
