"""LLaVA-Video: a tiny checkpoint in the lmms-lab (LLaVA-NeXT llava_qwen) layout, against the test's own plain
forward of the reference's prompt, with the video tokens laid out as LLaVA-NeXT's get_2dPool (average, stride 2)
and add_token_per_grid describe them (here in their permute/flatten form)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from t2v_core.testing import make_fake_hf_cache, random_images, write_video

REPO, TOWER = "lmms-lab/LLaVA-Video-7B-Qwen2", "google/siglip-so400m-patch14-384"
Q = 'Does this image show "{}"? Answer the question with Yes or No'
SIDE, LAYERS = 56, 3  # 4 x 4 patches per frame; the checkpoint's tower has LAYERS - 1 layers (LLaVA-NeXT)


@pytest.fixture(scope="module")
def video_hub(offline_hub, tmp_path_factory):
    import transformers as tf
    from t2v_hf.testing import build_qwen_tokenizer

    tmp = tmp_path_factory.mktemp("llava-video")
    torch.manual_seed(40)
    tok = build_qwen_tokenizer(tmp / "tok")
    vocab = len(tok) + 6  # padded rows, as the published lm_head has
    text = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False)
    lm = tf.Qwen2ForCausalLM(tf.Qwen2Config(**text))
    vcfg = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS, num_attention_heads=2,
                image_size=SIDE, patch_size=14)
    tower = tf.SiglipVisionModel(tf.SiglipVisionConfig(**vcfg, vision_use_head=False))
    g = torch.Generator().manual_seed(41)
    with torch.no_grad():
        for p in [*lm.parameters(), *tower.parameters()]:
            p.add_(torch.randn(p.shape, generator=g) * 0.1)
    state = {k: v.clone() for k, v in lm.state_dict().items()}
    tower_sd = {k: v.clone() for k, v in tower.state_dict().items()
                if "position_ids" not in k and f"layers.{LAYERS - 1}." not in k}
    state.update({"model.vision_tower.vision_tower.vision_model." + k: v for k, v in tower_sd.items()})
    state["model.mm_projector.0.weight"] = torch.randn(64, 32, generator=g) * 0.2
    state["model.mm_projector.0.bias"] = torch.randn(64, generator=g) * 0.1
    state["model.mm_projector.2.weight"] = torch.randn(64, 64, generator=g) * 0.2
    state["model.mm_projector.2.bias"] = torch.randn(64, generator=g) * 0.1
    state["model.image_newline"] = torch.randn(64, generator=g)
    config = {**text, "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava", "mm_vision_tower": TOWER,
              "mm_hidden_size": 32, "mm_projector_type": "mlp2x_gelu", "mm_vision_select_layer": -2,
              "mm_spatial_pool_mode": "average", "mm_spatial_pool_stride": 2, "mm_newline_position": "grid",
              "mm_tunable_parts": "mm_vision_tower,mm_mlp_adapter,mm_language_model", "image_aspect_ratio": "anyres_max_9",
              "mm_patch_merge_type": "spatial_unpad"}
    snap = make_fake_hf_cache(offline_hub, REPO, tmp / "tok")
    (snap / "config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in state.items()}, str(snap / "model.safetensors"), metadata={"format": "pt"})
    full = {"model_type": "siglip", "vision_config": {**vcfg, "model_type": "siglip_vision_model"},
            "text_config": {"model_type": "siglip_text_model"}}
    pre = {"image_processor_type": "SiglipImageProcessor", "do_resize": True, "size": {"height": SIDE, "width": SIDE},
           "resample": 3, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
           "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    make_fake_hf_cache(offline_hub, TOWER, {"config.json": json.dumps(full), "preprocessor_config.json": json.dumps(pre)})
    return {"state": state, "tok": tok, "tower_cfg": vcfg, "text": text, "hub": offline_hub}


def _hub(video_hub):
    return video_hub["hub"]


def _reference(video_hub, frames, fps, total, indices, question):
    """One plain forward of the reference's prompt; P(first token of "Yes") over every lm_head row."""
    lm, x = _reference_inputs(video_hub, frames, fps, total, indices, question)
    with torch.no_grad():
        logits = lm(inputs_embeds=x).logits[0, -1]
    return float(torch.softmax(logits, -1)[video_hub["tok"]("Yes").input_ids[0]])


def _reference_inputs(video_hub, frames, fps, total, indices, question):
    """The language model and the reference prompt's input embeddings, built by the test's own code."""
    import transformers as tf

    st = video_hub["state"]
    tok = video_hub["tok"]
    lm = tf.Qwen2ForCausalLM(tf.Qwen2Config(**video_hub["text"])).eval()
    lm.load_state_dict({k: v for k, v in st.items() if not k.startswith(("model.mm_", "model.vision_", "model.image_"))})
    tower = tf.SiglipVisionModel(tf.SiglipVisionConfig(**{**video_hub["tower_cfg"], "num_hidden_layers": LAYERS - 1},
                                                       vision_use_head=False)).eval()
    pre = "model.vision_tower.vision_tower.vision_model."
    tower.load_state_dict({k[len(pre):]: v for k, v in st.items() if k.startswith(pre)}, strict=False)
    # LLaVA-NeXT's SigLIP preprocessing: PIL bicubic resize to the tile, x / 255, (x - 0.5) / 0.5
    from PIL import Image

    arr = np.stack([np.asarray(fr.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC), dtype=np.float32)
                    for fr in frames])
    px = torch.from_numpy((arr / 255.0 - 0.5) / 0.5).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        f = tower(px, output_hidden_states=True).hidden_states[-1]
        f = torch.nn.functional.gelu(f @ st["model.mm_projector.0.weight"].T + st["model.mm_projector.0.bias"])
        f = f @ st["model.mm_projector.2.weight"].T + st["model.mm_projector.2.bias"]
        n, t, d = f.shape
        s = math.isqrt(t)
        f = torch.nn.functional.avg_pool2d(f.view(n, s, s, d).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        r = f.shape[1]
        f = f.reshape(n, r * r, d).view(n, 1, r, r, d).permute(4, 0, 2, 1, 3).flatten(1, 2).flatten(2, 3)
        nl = st["model.image_newline"][:, None, None].expand(*f.shape[:-1], 1)
        f = torch.cat([f, nl], -1).flatten(1, 2).transpose(0, 1)
        times = ",".join(f"{i / fps:.2f}s" for i in indices)
        instr = (f"The video lasts for {total / fps:.2f} seconds, and {len(indices)} frames are uniformly sampled from "
                 f"it. These frames are located at {times}.Please answer the following questions related to this video.")
        prompt = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n" + instr
                  + "\n" + question + "<|im_end|>\n<|im_start|>assistant\n")
        a, b = prompt.split("<image>")
        emb = lm.get_input_embeddings()
        x = torch.cat([emb(torch.tensor(tok(a).input_ids)), f, emb(torch.tensor(tok(b).input_ids))])[None]
    return lm, x


def test_llava_video_matches_reference(video_hub, tmp_path, golden):
    import t2v_core
    from t2v_core.media import load_media

    path = write_video(tmp_path / "v.mp4", [np.asarray(im) for im in random_images(90, size=(64, 48), seed=6)], fps=10)
    score = t2v_core.VQAScore(model="llava-video-7b", device="cpu")
    assert score.model.unused_keys == []
    texts = golden["texts"][:3]
    got = score(images=[str(path)], texts=texts)
    video = load_media(str(path))
    total = video.info.num_frames
    idx = [int(x) for x in np.linspace(0, total - 1, 64, dtype=int)]
    frames = video.frames(idx)
    want = torch.tensor([_reference(video_hub, frames, video.info.fps, total, idx, Q.format(t)) for t in texts])
    assert float(((got[0] - want).abs() / want).max()) < 1e-4, (got, want)
    assert got.shape == (1, 3)
    # llava-video-72B reads its own repo id (here a copy of the same tiny checkpoint)
    from _llava_helpers import alias_repo

    alias_repo(_hub(video_hub), REPO,
               "lmms-lab/LLaVA-Video-72B-Qwen2")
    big = t2v_core.VQAScore(model="llava-video-72B", device="cpu")(images=[str(path)], texts=texts)
    assert torch.allclose(big, got, rtol=1e-5)


def test_llava_video_refuses_images(video_hub):
    import t2v_core

    score = t2v_core.VQAScore(model="llava-video-7b", device="cpu")
    with pytest.raises(Exception, match="(?i)video"):
        score(images=random_images(1), texts=["a cat"])
    with pytest.raises(TypeError, match="image_aspect_ratio"):
        t2v_core.VQAScore(model="llava-video-7b", device="cpu", image_aspect_ratio="pad")


def test_llava_video_generate_equals_a_plain_greedy_loop(video_hub, tmp_path):
    import t2v_core
    from t2v_core.media import load_media

    path = write_video(tmp_path / "g.mp4", [np.asarray(im) for im in random_images(30, size=(64, 48), seed=8)], fps=6)
    score = t2v_core.VQAScore(model="llava-video-7b", device="cpu")
    prompts = ["Describe the video.", "What colour is the cube?"]
    got = score.model.generate(images=[str(path)] * 2, texts=prompts, max_new_tokens=6, num_frames=8)
    video = load_media(str(path))
    total = video.info.num_frames
    idx = [int(x) for x in np.linspace(0, total - 1, 8, dtype=int)]
    tok = video_hub["tok"]
    want = []
    for p in prompts:
        # the greedy loop: a full forward of everything so far, argmax, until <|im_end|> or 6 tokens
        lm, x = _reference_inputs(video_hub, video.frames(idx), video.info.fps, total, idx, p)
        new: list[int] = []
        with torch.no_grad():
            for _ in range(6):
                t = int(lm(inputs_embeds=x).logits[0, -1].argmax())
                if t == tok.eos_token_id:
                    break
                new.append(t)
                x = torch.cat([x, lm.get_input_embeddings()(torch.tensor([[t]]))], dim=1)
        want.append(tok.decode(new, skip_special_tokens=True).strip())
    assert got == want
    assert any(want)  # something was generated, so the comparison is not between empty strings
    with pytest.raises(ValueError, match="accepts only video"):
        score.model.generate(images=random_images(1), texts=["Describe it."])


def test_newline_layouts_and_config_rule():
    from t2v_llava.video import layout, newline_position

    grid = torch.randn(3, 2, 2, 5)
    nl = torch.randn(5)
    # "frame": each frame's 4 tokens, then one newline
    want = torch.cat([torch.cat([grid[f].reshape(4, 5), nl[None]]) for f in range(3)])
    assert torch.equal(layout(grid, nl, "frame"), want)
    # "grid": each frame's rows, a newline after each row
    rows = [torch.cat([grid[f, r], nl[None]]) for f in range(3) for r in range(2)]
    assert torch.equal(layout(grid, nl, "grid"), torch.cat(rows))
    assert newline_position({"mm_patch_merge_type": "spatial_unpad", "mm_newline_position": "grid"}) == "grid"
    assert newline_position({"mm_patch_merge_type": "flat", "mm_newline_position": "grid"}) == "no_token"
    assert newline_position({"mm_patch_merge_type": "spatial", "mm_newline_position": "one_token"}) == "no_token"
    assert newline_position({"mm_patch_merge_type": "spatial_unpad"}) == "one_token"
    assert newline_position({}) == "no_token"
