"""The model list: complete, in sync with open_clip, and readable without importing torch or open_clip."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from t2v_openclip.catalogue import build_catalogue, load_catalogue


def test_catalogue_matches_installed_open_clip():
    import open_clip

    packaged = load_catalogue()
    assert packaged == build_catalogue(), (
        f"catalogue.json was built for open_clip {packaged['open_clip_version']}, but open_clip "
        f"{open_clip.__version__} is installed: regenerate it with `python -m t2v_openclip.catalogue`")
    names = {m["name"] for m in packaged["models"]}
    assert names == {f"{tag}:{arch}" for arch, tag in open_clip.list_pretrained()}
    assert all(m["hf_hub"] for m in packaged["models"]), "every pair should name its Hugging Face repo"


def test_listing_models_imports_neither_torch_nor_open_clip():
    code = (
        "import json, sys, t2v_core\n"
        "clip = t2v_core.list_all_clipscore_models()\n"
        "from t2v_core import registry\n"
        "spec = registry.get_spec('openai:ViT-L-14').as_dict()\n"
        "print(json.dumps({'clip': clip, 'spec': spec, 'heavy': sorted(m for m in ('torch', 'open_clip', "
        "'transformers', 'torchvision') if m in sys.modules)}))\n"
    )
    env = {**os.environ, "T2V_PLUGINS": "t2v-openclip"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout)
    assert got["heavy"] == []
    clip = set(got["clip"])
    for name in ("openai:ViT-L-14", "openai:ViT-B-32", "laion2b_s32b_b82k:ViT-L-14", "webli:ViT-B-16-SigLIP",
                 "datacomp_xl_s13b_b90k:ViT-B-16", "hpsv2", "hpsv2.1", "pickscore-v1"):
        assert name in clip, name
    assert len(clip) == len(load_catalogue()["models"]) + 3
    assert got["spec"]["kind"] == "clip"
    assert got["spec"]["weights"] == ["timm/vit_large_patch14_clip_224.openai"]
    assert got["spec"]["media"] == ["image", "video"]


def test_core_catalogue_names_are_registered():
    from t2v_core import catalogue, registry

    for name in catalogue.FIRST_PARTY["t2v-openclip"]:
        assert registry.get_spec(name).plugin == "t2v-openclip"


def test_names_are_case_insensitive():
    from t2v_core import registry

    assert registry.get_spec("OPENAI:vit-l-14").name == "openai:ViT-L-14"
    assert registry.get_spec("PickScore-v1").name == "pickscore-v1"
