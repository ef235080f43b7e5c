"""blip2-itm-vitL / blip2-itc-vitL: the LAVIS checkpoints (CLIP ViT-L + BLIP-2) mapped onto native classes.

The fixture's LAVIS BLIP-2 file (``lavis/blip2_pretrained.pth``) holds the same Q-Former weights as the
fixture's HF conversion ``Salesforce/blip2-itm-vit-g``; the CLIP-layout ViT is made here. The reference
numbers come from an independent path: the ViT written with ``torch.nn.MultiheadAttention`` in OpenAI CLIP's
layout, and ``Blip2ForImageTextRetrieval``'s own forward on the converted Q-Former.
"""

from __future__ import annotations

import shutil

import pytest
import torch
from _blip_helpers import BLIP2_REPO, FIXTURES, RTOL, copy_hub, golden, reference_image, rel, snapshot
from torch import nn

import t2v_core
from t2v_core.testing import offline_hf_cache

LAVIS = FIXTURES / "lavis"
ITM = golden("blip2-itm.json")
WIDTH, PATCH, BLOCKS = 32, 14, 3


def _clip_vit_state(seed: int = 4) -> dict[str, torch.Tensor]:
    """A random ViT in OpenAI CLIP's layout (with the ln_post/proj LAVIS ignores)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, s=0.15):
        return torch.randn(*shape, generator=g) * s

    sd = {
        "conv1.weight": r(WIDTH, 3, PATCH, PATCH, s=0.05),
        "class_embedding": r(WIDTH),
        "positional_embedding": r(257, WIDTH),
        "ln_pre.weight": 1 + r(WIDTH),
        "ln_pre.bias": r(WIDTH),
        "ln_post.weight": 1 + r(WIDTH),
        "ln_post.bias": r(WIDTH),
        "proj": r(WIDTH, 16),
    }
    for b in range(BLOCKS):
        p = f"transformer.resblocks.{b}."
        sd.update(
            {
                p + "attn.in_proj_weight": r(3 * WIDTH, WIDTH),
                p + "attn.in_proj_bias": r(3 * WIDTH),
                p + "attn.out_proj.weight": r(WIDTH, WIDTH),
                p + "attn.out_proj.bias": r(WIDTH),
                p + "ln_1.weight": 1 + r(WIDTH),
                p + "ln_1.bias": r(WIDTH),
                p + "ln_2.weight": 1 + r(WIDTH),
                p + "ln_2.bias": r(WIDTH),
                p + "mlp.c_fc.weight": r(4 * WIDTH, WIDTH),
                p + "mlp.c_fc.bias": r(4 * WIDTH),
                p + "mlp.c_proj.weight": r(WIDTH, 4 * WIDTH),
                p + "mlp.c_proj.bias": r(WIDTH),
            }
        )
    return sd


def _reference_vit(
    sd: dict[str, torch.Tensor], ln_vision: tuple[torch.Tensor, torch.Tensor], pixels: torch.Tensor
) -> torch.Tensor:
    """OpenAI CLIP's vision transformer (sequence-first nn.MultiheadAttention, QuickGELU), then ln_vision."""
    x = nn.functional.conv2d(pixels, sd["conv1.weight"], stride=PATCH).flatten(2).transpose(1, 2)
    cls = sd["class_embedding"].expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], 1) + sd["positional_embedding"]
    x = nn.functional.layer_norm(x, (WIDTH,), sd["ln_pre.weight"], sd["ln_pre.bias"])
    x = x.transpose(0, 1)
    for b in range(BLOCKS):
        p = f"transformer.resblocks.{b}."
        attn = nn.MultiheadAttention(WIDTH, 1)
        attn.load_state_dict(
            {
                "in_proj_weight": sd[p + "attn.in_proj_weight"],
                "in_proj_bias": sd[p + "attn.in_proj_bias"],
                "out_proj.weight": sd[p + "attn.out_proj.weight"],
                "out_proj.bias": sd[p + "attn.out_proj.bias"],
            }
        )
        h = nn.functional.layer_norm(x, (WIDTH,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        x = x + attn(h, h, h, need_weights=False)[0]
        h = nn.functional.layer_norm(x, (WIDTH,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = nn.functional.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        x = x + nn.functional.linear(
            h * torch.sigmoid(1.702 * h), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"]
        )
    return nn.functional.layer_norm(x.transpose(0, 1), (WIDTH,), *ln_vision, eps=1e-5)


@pytest.fixture(scope="module")
def vitl_env(tmp_path_factory, offline_hub):
    """TORCH_HOME with both LAVIS files where the reference caches them; HF cache with bert-base-uncased."""
    root = tmp_path_factory.mktemp("vitl")
    ckpts = root / "torch" / "hub" / "checkpoints"
    ckpts.mkdir(parents=True)
    shutil.copy(LAVIS / "blip2_pretrained.pth", ckpts / "blip2_pretrained_vitL.pth")
    vit = _clip_vit_state()
    torch.save(vit, ckpts / "clip_vit_L.pth")
    cache = copy_hub(root / "hub")
    shutil.copytree(LAVIS / "models--bert-base-uncased", cache / "models--bert-base-uncased")
    mp = pytest.MonkeyPatch()
    mp.setenv("TORCH_HOME", str(root / "torch"))
    yield cache, vit
    mp.undo()


def test_lavis_blip2_keys_map_onto_the_conversion():
    """Every Q-Former / head / ln_vision weight of the LAVIS file lands on the HF conversion's same tensor."""
    from safetensors.torch import load_file
    from t2v_blip.vitl import map_blip2

    lavis = torch.load(LAVIS / "blip2_pretrained.pth", weights_only=True)["model"]
    hf = load_file(str(snapshot(FIXTURES / "hub", BLIP2_REPO) / "model.safetensors"))
    mapped = map_blip2(lavis)
    want = {k for k in hf if not k.startswith("vision_model.")} | {
        "vision_model.post_layernorm.weight",
        "vision_model.post_layernorm.bias",
    }
    assert set(mapped) == want
    for k, v in mapped.items():
        assert torch.equal(v, hf[k]), k


@pytest.mark.parametrize("name", ["blip2-itm-vitL", "blip2-itc-vitL"])
def test_vitl_equals_an_independent_forward(name, vitl_env):
    from transformers import AutoTokenizer, Blip2ForImageTextRetrieval, BlipImageProcessorPil
    from transformers.modeling_outputs import BaseModelOutput

    cache, vit = vitl_env
    images = [reference_image(n) for n in ITM["images"]]
    texts = ITM["texts"]
    with offline_hf_cache(cache):
        kind = t2v_core.ITMScore if "itm" in name else t2v_core.CLIPScore
        score = kind(model=name, device="cpu", batch_size=3)
        got = score(images=images, texts=texts)
        assert score.model.weights_revision.endswith("clip_vit_L.pth")
        ref = Blip2ForImageTextRetrieval.from_pretrained(BLIP2_REPO).eval()
        tok = AutoTokenizer.from_pretrained(BLIP2_REPO)
    lavis = torch.load(LAVIS / "blip2_pretrained.pth", weights_only=True)["model"]
    pixels = BlipImageProcessorPil(
        size={"height": 224, "width": 224},
        resample=3,
        do_convert_rgb=False,
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )(images=images, return_tensors="pt")["pixel_values"]

    class Stub(nn.Module):
        def forward(self, pixel_values, **_):
            return BaseModelOutput(
                last_hidden_state=_reference_vit(
                    vit, (lavis["ln_vision.weight"], lavis["ln_vision.bias"]), pixel_values
                )
            )

    ref.vision_model = Stub()
    t = tok(texts, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    ids = torch.cat([torch.full((len(texts), 32), ref.config.image_token_index), t.input_ids], 1)
    mask = torch.cat([torch.ones(len(texts), 32, dtype=torch.long), t.attention_mask], 1)
    with torch.no_grad():
        if "itc" in name:
            want = ref(
                pixel_values=pixels, input_ids=ids, attention_mask=mask, use_image_text_matching_head=False
            ).logits_per_image
        else:
            want = torch.stack(
                [
                    ref(
                        pixel_values=pixels[i : i + 1].expand(len(texts), -1, -1, -1),
                        input_ids=ids,
                        attention_mask=mask,
                        use_image_text_matching_head=True,
                    ).logits_per_image.softmax(-1)[:, 1]
                    for i in range(len(images))
                ]
            )
    assert rel(got, want) < RTOL, (got, want)
    # the ViT really differs from the EVA one of blip2-itm: different numbers than its golden
    other = torch.tensor(ITM["cases"][0 if "itm" in name else 1]["scores"])
    assert rel(got, other) > 1e-3


def test_unmappable_key_is_named():
    from t2v_blip.vitl import map_blip2, map_vit

    with pytest.raises(RuntimeError, match="Qformer.bert.pooler.dense.weight"):
        map_blip2({"Qformer.bert.pooler.dense.weight": torch.zeros(1)})
    with pytest.raises(RuntimeError, match="transformer.resblocks.0.attn.weird"):
        map_vit({"transformer.resblocks.0.attn.weird": torch.zeros(1)}, 21)


def test_missing_checkpoint_file_is_an_error(tmp_path):
    from t2v_blip.vitl import fetch_checkpoint

    with pytest.raises(FileNotFoundError, match="not-there.pth"):
        fetch_checkpoint(str(tmp_path / "not-there.pth"))
