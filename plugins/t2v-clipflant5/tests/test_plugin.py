"""Registration: names, specs, and that discovery stays light."""

from __future__ import annotations

import subprocess
import sys

import t2v_core
from t2v_core.catalogue import FIRST_PARTY
from t2v_core.registry import get_spec

NAMES = ("clip-flant5-xxl", "clip-flant5-xl", "clip-flant5-xxl-no-system", "clip-flant5-xxl-no-system-no-user")


def test_models_are_registered_through_the_entry_point():
    assert set(NAMES) <= set(t2v_core.list_all_vqascore_models())
    assert set(FIRST_PARTY["t2v-clipflant5"]) == set(NAMES)


def test_specs():
    xl = get_spec("clip-flant5-xl")
    assert xl.weights[:2] == ("zhiqiulin/clip-flant5-xl", "google/flan-t5-xl")
    assert xl.plugin == "t2v-clipflant5" and xl.kind == "vqa" and set(xl.media) == {"image", "video"}
    assert get_spec("clip-flant5-xxl").question_template == 'Does this figure show "{}"? Please answer yes or no.'
    assert get_spec("clip-flant5-xxl-no-system").options["conversation"] == "t5_chat_no_system"
    assert get_spec("clip-flant5-xxl-no-system-no-user").options["conversation"] == "t5_chat_no_system_no_user"


def test_plugin_module_imports_nothing_heavy():
    out = subprocess.run([sys.executable, "-c", "import sys, t2v_clipflant5.plugin; "
                          "print([m for m in ('torch', 'transformers') if m in sys.modules])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
