"""Registration: names, kinds, specs, and that discovery stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import t2v_core
from t2v_core.catalogue import FIRST_PARTY, distribution_for
from t2v_core.registry import get_spec

VQA = ("instructblip-flant5-xl", "instructblip-flant5-xxl")
ITM = ("blip2-itm", "blip2-itm-vitL", "blip2-itm-coco")
ITC = ("blip2-itc", "blip2-itc-vitL", "blip2-itc-coco")


def test_models_are_registered_through_the_entry_point():
    assert set(VQA) <= set(t2v_core.list_all_vqascore_models())
    assert set(FIRST_PARTY["t2v-blip"]) == {*VQA, *ITM, *ITC}
    assert all(distribution_for(n) == "t2v-blip" for n in (*VQA, *ITM, *ITC))


def test_specs():
    xl = get_spec("instructblip-flant5-xl")
    assert (
        xl.kind == "vqa" and xl.weights == ("Salesforce/instructblip-flan-t5-xl",) and xl.plugin == "t2v-blip"
    )
    assert xl.question_template == 'Question: Does this figure show "{}"? Please answer yes or no.'
    assert xl.answer_template == "yes"
    assert get_spec("instructblip-flant5-xxl").weights == ("Salesforce/instructblip-flan-t5-xxl",)
    for kind, names in (("itm", ITM), ("clip", ITC)):
        for name in names:
            spec = get_spec(name)
            assert spec.kind == kind and set(spec.media) == {"image", "video"}
    assert get_spec("blip2-itm").weights == get_spec("blip2-itc").weights == ("Salesforce/blip2-itm-vit-g",)
    assert get_spec("blip2-itc-coco").weights == ("Salesforce/blip2-itm-vit-g-coco",)
    assert get_spec("blip2-itm-vitL").weights[0].endswith("/LAVIS/models/BLIP2/blip2_pretrained_vitL.pth")


def test_cli_lists_itm_models():
    out = subprocess.run(
        [sys.executable, "-m", "t2v_core.cli", "models", "--kind", "itm", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {m["name"] for m in json.loads(out.stdout)}
    assert set(ITM) <= names and not (set(ITC) | set(VQA)) & names


def test_plugin_module_imports_nothing_heavy():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, t2v_core, t2v_blip.plugin; t2v_core.list_all_vqascore_models(); "
            "print([m for m in ('torch', 'transformers') if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
