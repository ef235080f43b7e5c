"""The t2v command line, run in-process and (once) as the installed console script."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess

import pytest
from PIL import Image
from t2v_example.scorer import example_score

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


def test_models_and_plugins(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == ["example-clip", "example-brightness"]  # sorted by kind then name
    assert data[1]["plugin"] == "t2v-example" and data[1]["media"] == ["image", "video"]
    assert main(["models", "--kind", "clip"]) == 0
    out = capsys.readouterr().out
    assert "example-clip" in out and "example-brightness" not in out
    assert main(["plugins", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["distribution"] == "t2v-example"


def test_score_images_by_texts_to_csv_with_provenance(tmp_path, images):
    out = tmp_path / "res.csv"
    rc = main(["score", "--model", "example", "--image", str(images[0]), "--image", str(images[1]),
               "--text", "a cat", "--text", "a dog", "--out", str(out), "--no-progress"])
    assert rc == 0
    rows = list(csv.DictReader(open(out)))
    assert [(r["media"], r["text"]) for r in rows] == [(str(images[0]), "a cat"), (str(images[0]), "a dog"),
                                                       (str(images[1]), "a cat"), (str(images[1]), "a dog")]
    for r in rows:
        want = example_score(Image.open(r["media"]).convert("RGB"), Q.format(r["text"]), "Yes")
        assert abs(float(r["score"]) - want) < 1e-6
    prov = json.loads((tmp_path / "res.csv.provenance.json").read_text())
    assert prov["model"] == "example-brightness" and prov["question_template"] == Q


def test_score_pairs_file_with_store_resume(tmp_path, images, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"image": p.name, "text": t}) for p in images for t in ("x", "y")) + "\n")
    store = tmp_path / "s.sqlite"
    out = tmp_path / "r.jsonl"
    args = ["score", "--model", "example", "--pairs", str(pairs), "--store", str(store), "--out", str(out),
            "--question", "Is it {}?"]
    assert main(args) == 0
    assert "computed 4, reused 0" in capsys.readouterr().err
    assert main(args) == 0
    assert "computed 0, reused 4" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    want = example_score(Image.open(images[1]).convert("RGB"), "Is it y?", "Yes")
    assert abs(rows[3]["score"] - want) < 1e-6 and rows[3]["error"] is None


@pytest.mark.parametrize("args,code,fragment", [
    (["score", "--model", "example", "--text", "a"], 2, "give at least one --image"),
    (["score", "--model", "example", "--image", "x.png", "--text", "a", "--out", "r.xlsx"], 2, "must end in"),
    (["score", "--model", "nope-model", "--image", "x.png", "--text", "a"], 1, "unknown model 'nope-model'"),
    (["score", "--model", "clip-flant5-xxl", "--image", "x.png", "--text", "a"], 1, "pip install t2v-clipflant5"),
    (["score", "--model", "example", "--image", "missing.png", "--text", "a"], 1, "1 of 1 pairs failed"),
    (["score", "--model", "example", "--image", "x.png", "--text", "a", "--option", "novalue"], 2, "KEY=VALUE"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_errors_and_exit_codes(args, code, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == code
    assert fragment in capsys.readouterr().err


def test_download_refuses_offline(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["download", "example"]) == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err


def test_console_script_is_installed(tmp_path, images):
    exe = shutil.which("t2v")
    if exe is None:
        pytest.skip("t2v console script not on PATH (package not installed)")
    r = subprocess.run([exe, "score", "--model", "example", "--image", str(images[1]), "--text", "hi"],
                       capture_output=True, text=True, env={**os.environ, "T2V_PLUGINS": "example"})
    assert r.returncode == 0, r.stderr
    want = example_score(Image.open(images[1]).convert("RGB"), Q.format("hi"), "Yes")
    assert f"{want:.6f}" in r.stdout


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """`t2v models | head -n 1`: the reader closes the pipe; no traceback, exit code 0."""
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import sys; from t2v_core.cli import main; "
                             "sys.exit(main(['models']))"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the interpreter has started: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_bad_file_fails_its_pairs_and_the_run_goes_on(tmp_path, images, capsys):
    out = tmp_path / "r.csv"
    rc = main(["score", "--model", "example", "--image", str(tmp_path / "gone.png"), "--image", str(images[0]),
               "--text", "a", "--out", str(out)])
    assert rc == 1
    rows = list(csv.DictReader(open(out)))
    assert rows[0]["score"] == "" and "does not exist" in rows[0]["error"]
    assert abs(float(rows[1]["score"]) - example_score(Image.open(images[0]).convert("RGB"), Q.format("a"), "Yes")) < 1e-6
    assert "1 of 2 pairs failed" in capsys.readouterr().err


def test_noted_scores_are_marked_in_outputs(tmp_path, images, capsys):
    out = tmp_path / "r.csv"
    rc = main(["score", "--model", "example", "--image", str(images[0]), "--text", "a cat", "--text",
               "a dog (approx)", "--out", str(out), "--no-progress"])
    assert rc == 0  # a noted score is a score, not a failure
    assert "1 of 2 scores are not exact values (approximate), in the note column" in capsys.readouterr().err
    rows = list(csv.DictReader(open(out)))
    assert rows[0]["note"] == "" and rows[1]["note"].startswith("approximate: the text asks for an approximate")
    want = example_score(Image.open(images[0]).convert("RGB"), Q.format("a dog (approx)"), "Yes")
    assert abs(float(rows[1]["score"]) - want) < 1e-6
    assert main(["score", "--model", "example", "--image", str(images[0]), "--text", "a dog (approx)",
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"{want:.6f}*" in captured.out and "marked * above" in captured.err
