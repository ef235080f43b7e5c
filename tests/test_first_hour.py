"""A new user's first hour (issue 13): options checked, readable failures, the CLI people expect."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from t2v_core import VQAScore
from t2v_core.cli import main

Q = 'Does this figure show "{}"?'


@pytest.fixture
def images(tmp_path):
    paths = []
    for k, v in enumerate((0, 200)):
        p = tmp_path / f"img{k}.png"
        Image.new("RGB", (4, 4), (v, v, v)).save(p)
        paths.append(p)
    return paths


# ---------------------------------------------------------------- item 4: unknown options are refused
def test_unknown_constructor_option_is_refused_with_the_accepted_list():
    with pytest.raises(TypeError) as e:
        VQAScore(model="example", foo=1)
    assert "['foo']" in str(e.value) and "alpha" in str(e.value) and "t2v models example-brightness" in str(e.value)
    VQAScore(model="example", alpha="white")  # a core option is still accepted


def test_cli_refuses_unknown_option_before_scoring(images, capsys, tmp_path):
    store = tmp_path / "s.sqlite"
    rc = main(["score", "--model", "example", "--image", str(images[0]), "--text", "a", "--option", "foo=1",
               "--store", str(store)])
    assert rc == 1 and "unknown option(s) ['foo']" in capsys.readouterr().err
    assert not store.exists()  # nothing was written under a key that holds the typo


def test_models_shows_one_models_options(capsys):
    assert main(["models", "example"]) == 0
    out = capsys.readouterr().out
    assert "example-brightness (vqa" in out and "num_frames" in out and "call" in out and "video_backend" in out
    assert main(["models", "--options", "example-brightness", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["call_options"] == {"num_frames": 4}
    assert info["constructor_options"]["batch_size"] is None and "alpha" in info["constructor_options"]
