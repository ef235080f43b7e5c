"""A new user's first hour (issue 13): options checked, readable failures, the CLI people expect."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from t2v_example.scorer import example_score

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
    assert rc == 1 and "unexpected option(s) ['foo']" in capsys.readouterr().err
    assert not store.exists()  # nothing was written under a key that holds the typo


def test_models_shows_one_models_options(capsys):
    assert main(["models", "example"]) == 0
    out = capsys.readouterr().out
    assert "example-brightness (vqa" in out and "num_frames" in out and "call" in out and "video_backend" in out
    assert main(["models", "--options", "example-brightness", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["call_options"] == {"num_frames": 4}
    assert info["constructor_options"]["batch_size"] is None and "alpha" in info["constructor_options"]


# ---------------------------------------------------------------- item 11: provenance of the last call, repr
def test_provenance_records_the_last_calls_templates_and_options(gray_images):
    s = VQAScore(model="example", device="cpu")
    assert "question_template" not in s.provenance  # no call yet: nothing to claim
    got = s(images=gray_images[:1], texts=["a"], question_template="Is it {}?", num_frames=2)
    assert abs(float(got[0, 0]) - example_score(gray_images[0], "Is it a?", "Yes")) < 1e-6
    p = s.provenance
    assert p["question_template"] == "Is it {}?" and p["answer_template"] == "Yes"
    assert p["call_options"] == {"num_frames": 2}
    s.batch_forward([{"images": gray_images[:1], "texts": ["b"]}])
    assert s.provenance["question_template"] == Q and s.provenance["call_options"] == {"num_frames": 4}


def test_scorers_have_a_useful_repr():
    s = VQAScore(model="example", device="cpu")
    assert repr(s) == "VQAScore(model='example-brightness', device='cpu', dtype='float32', plugin='t2v-example')"
    assert repr(s.model) == ("<BrightnessScorer model='example-brightness' kind=vqa device=cpu dtype=float32 "
                             "plugin='t2v-example'>")


# ---------------------------------------------------------------- item 6: say why no model is listed
def test_models_of_a_missing_kind_says_which_kind(capsys):
    assert main(["models", "--kind", "itm"]) == 0
    out = capsys.readouterr().out
    assert "no 'itm' models among the 2 installed" in out and "pip install" not in out


def test_plugin_filter_entries_that_match_nothing_are_named(monkeypatch, capsys):
    from t2v_core import plugins

    monkeypatch.setenv("T2V_PLUGINS", "nonexistent")
    plugins.reset()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "no models installed" in out and "'nonexistent' matched no installed plugin" in out
    monkeypatch.setenv("T2V_PLUGINS", "example,t2v-nope")
    plugins.reset()
    assert main(["models"]) == 0
    captured = capsys.readouterr()
    assert "example-brightness" in captured.out and "'t2v-nope', which matched no installed plugin" in captured.err


# ---------------------------------------------------------------- item 8: a device that is not there
def test_a_device_this_machine_lacks_is_refused_naming_what_is(monkeypatch, images, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device 'cuda' is not available on this machine; available: cpu"):
        VQAScore(model="example", device="cuda")
    assert main(["score", "--model", "example", "--image", str(images[0]), "--text", "a", "--device", "cuda:1"]) == 1
    assert "device 'cuda:1' is not available" in capsys.readouterr().err
    assert VQAScore(model="example", device="cpu").provenance["device"] == "cpu"


# ---------------------------------------------------------------- item 10: --version, --video, help everywhere
def test_version_and_help_for_every_option(capsys):
    import argparse

    import t2v_core
    from t2v_core.cli import _parser

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"t2v-core {t2v_core.__version__}"
    parser = _parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}" for name, sp in subs.choices.items()
               for a in sp._actions if not a.help and sp.add_help]
    assert missing == []


def test_video_flag_scores_a_video(video_file, capsys):
    assert main(["score", "--model", "example", "--video", str(video_file), "--text", "a", "--num-frames", "2"]) == 0
    out = capsys.readouterr().out
    import av

    with av.open(str(video_file)) as c:
        frames = [f.to_image() for f in c.decode(video=0)]
    want = example_score([frames[0], frames[19]], Q.format("a"), "Yes")  # 2 frames sampled uniformly: first, last
    assert abs(float(out.splitlines()[1].split()[0]) - want) < 1e-5


# ---------------------------------------------------------------- item 7: spreadsheet CSVs
def test_pairs_csv_with_a_byte_order_mark_is_read(tmp_path, images, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes("image,text\n".encode("utf-8-sig") + f"{images[1].name},café\n".encode())
    out = tmp_path / "r.jsonl"
    assert main(["score", "--model", "example", "--pairs", str(pairs), "--out", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["text"] == "café"
    assert abs(row["score"] - example_score(Image.open(images[1]).convert("RGB"), Q.format("café"), "Yes")) < 1e-6


def test_a_latin1_pairs_file_is_named_with_its_line(tmp_path, capsys):
    pairs = tmp_path / "latin.csv"
    pairs.write_bytes("image,text\na.png,tea\nb.png,café\n".encode("latin-1"))
    assert main(["score", "--model", "example", "--pairs", str(pairs)]) == 2
    err = capsys.readouterr().err
    assert f"{pairs}:3: not UTF-8 (byte 0xe9)" in err and "iconv" in err


# ---------------------------------------------------------------- item 3: parquet
def test_parquet_without_pyarrow_fails_before_any_work(tmp_path, images, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.split(".")[0] == "pyarrow":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    store = tmp_path / "s.sqlite"
    rc = main(["score", "--model", "example", "--image", str(images[0]), "--text", "a", "--out",
               str(tmp_path / "r.parquet"), "--store", str(store)])
    assert rc == 1 and "pip install 't2v-core[parquet]'" in capsys.readouterr().err
    assert not store.exists()


def test_parquet_columns_are_typed_when_nothing_failed(tmp_path, images):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.parquet"
    assert main(["score", "--model", "example", "--image", str(images[0]), "--text", "a", "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert {f.name: str(f.type) for f in table.schema} == {"model": "string", "media": "string", "text": "string",
                                                           "score": "double", "error": "string", "note": "string"}
    want = example_score(Image.open(images[0]).convert("RGB"), Q.format("a"), "Yes")
    assert abs(table.column("score")[0].as_py() - want) < 1e-6 and table.column("error")[0].as_py() is None


# ---------------------------------------------------------------- item 1: one bar per run, in a real terminal
def _run_in_pty(argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal; return everything it wrote."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdio is the pty, 100 columns wide (a new pty has none)
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        os.execve(argv[0], argv, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _screen_lines(raw: str) -> list[str]:
    """What stays on screen: each line as a terminal shows it after carriage returns overwrite it."""
    import re

    raw = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw).replace("\r\n", "\n")
    out = []
    for line in raw.split("\n"):
        screen = ""
        for part in line.split("\r"):
            screen = part + screen[len(part):]
        if screen.strip():
            out.append(screen.rstrip())
    return out


def test_one_bar_per_run_in_a_real_terminal(tmp_path):
    import os
    import re
    import sys

    n = 40  # media groups; before, each drew and left its own finished bar
    for k in range(n):
        Image.new("RGB", (4, 4), (6 * k, 0, 0)).save(tmp_path / f"m{k}.png")
    (tmp_path / "missing.png").write_bytes(b"not a png")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image,text\n" + "".join(f"m{k}.png,a\nm{k}.png,b\n" for k in range(n)) + "missing.png,a\n")
    env = {**os.environ, "T2V_PLUGINS": "example", "T2V_PROGRESS": "1", "COLUMNS": "100"}
    env.pop("T2V_PROGRESS")  # on a terminal, bars are on by default
    raw = _run_in_pty([sys.executable, "-m", "t2v_core.cli", "score", "--model", "example", "--pairs", str(pairs),
                       "--out", str(tmp_path / "r.csv"), "--batch-size", "1"], env)
    totals = set(re.findall(r"\d+/(\d+) \[", raw))
    assert totals == {str(2 * n + 1)}, raw[-2000:]  # every frame drawn is the one run bar over all pairs
    assert "pair/s" in raw and "failed=" in raw
    lines = _screen_lines(raw)
    assert not [ln for ln in lines if "|" in ln and "pair" in ln], lines  # no finished bar left behind
    rows = [r.split(",") for r in (tmp_path / "r.csv").read_text().splitlines()[1:]]
    scores = [float(r[3]) for r in rows if r[3]]
    want = sum(example_score(Image.open(tmp_path / f"m{k}.png").convert("RGB"), Q.format(t), "Yes")
               for k in range(n) for t in "ab") / (2 * n)
    assert abs(sum(scores) / len(scores) - want) < 1e-6
    summary = [ln for ln in lines if ln.startswith("example-brightness:")]
    assert summary == [f"example-brightness: {2 * n + 1} pairs: {2 * n} scored, 0 reused from the store, 1 failed, "
                       f"0 noted; mean score {want:.4f}"], lines


# ---------------------------------------------------------------- item 5: a failed pair says why
def test_failed_pair_shows_its_reason_and_store_advice_only_with_a_store(tmp_path, images, capsys):
    args = ["score", "--model", "example", "--image", str(tmp_path / "gone.png"), "--image", str(images[0]),
            "--text", "a"]
    assert main(args) == 1
    captured = capsys.readouterr()
    failed = next(ln for ln in captured.out.splitlines() if ln.startswith("FAILED"))
    assert "gone.png" in failed and "does not exist" in failed
    ok = next(ln for ln in captured.out.splitlines() if ln.startswith("0."))
    assert abs(float(ok.split()[0]) - example_score(Image.open(images[0]).convert("RGB"), Q.format("a"), "Yes")) < 1e-6
    assert "--store" not in captured.err and "rerun to retry them" in captured.err
    assert main([*args, "--store", str(tmp_path / "s.sqlite")]) == 1
    err = capsys.readouterr().err
    assert "rerun with the same --store" in err and "1 scored, 0 reused from the store, 1 failed" in err


# ---------------------------------------------------------------- item 2: weights missing, one short error
class LocalEntryNotFoundError(Exception):
    """Stands in for huggingface_hub's LocalEntryNotFoundError (matched by class name)."""


def test_missing_weights_become_one_error_naming_model_and_repo(monkeypatch, capsys, images):
    import t2v_core
    from t2v_core import ScorerSpec, hookimpl, plugins
    from t2v_core.scorer import Scorer

    class NeedsWeights(Scorer):
        def load(self):
            try:
                raise LocalEntryNotFoundError("org/toy-weights/model.safetensors not in cache")
            except LocalEntryNotFoundError as e:
                raise RuntimeError("Failed to download weights") from e  # wrapped, as open_clip does

    class Plugin:
        @hookimpl
        def register_scorers(register):
            register(ScorerSpec(name="toy-remote", kind="clip", scorer=f"{__name__}:_NEEDS",
                                weights=("org/tokenizer", "org/toy-weights")))

    globals()["_NEEDS"] = NeedsWeights
    plugins.register_plugin(Plugin, "toy-remote")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(t2v_core.WeightsNotFoundError) as e:
        t2v_core.CLIPScore(model="toy-remote", device="cpu")
    assert str(e.value) == ("model 'toy-remote' needs 'org/toy-weights', which is not in the Hugging Face cache, and "
                            "the hub is offline (HF_HUB_OFFLINE=1): run `t2v download toy-remote` (or `hf download "
                            "org/toy-weights`) on a machine with network, then try again")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert main(["score", "--model", "toy-remote", "--image", str(images[0]), "--text", "a"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not be downloaded" in err[0] and "t2v download toy-remote" in err[0]

    class Broken(Scorer):
        def load(self):
            raise RuntimeError("a bug, not missing weights")

    globals()["_NEEDS"] = Broken
    with pytest.raises(RuntimeError, match="a bug"):  # other errors pass through unchanged
        t2v_core.CLIPScore(model="toy-remote", device="cpu")


# ---------------------------------------------------------------- item 16: plugins register subcommands
def hello_main(argv):
    print(f"hello {' '.join(argv)}")
    return 3


def test_a_plugin_registers_a_subcommand(capsys):
    from t2v_core import CommandSpec, hookimpl, plugins

    class Plugin:
        @hookimpl
        def register_commands(register):
            register(CommandSpec(name="hello", main=f"{__name__}:hello_main", help="say hello"))
            register(CommandSpec(name="score", main=f"{__name__}:hello_main"))  # cannot shadow the core's

    plugins.register_plugin(Plugin, "hello-plugin")
    plugins.pm.check_pending()
    assert main(["hello", "a", "--x"]) == 3  # its own argv, unparsed by the core
    assert capsys.readouterr().out == "hello a --x\n"
    assert main(["--help"]) == 0
    assert "say hello (plugin hello-plugin)" in capsys.readouterr().out
    assert main(["score", "--model", "example", "--text", "a"]) == 2  # the core's score, not the plugin's
    plugins.unregister_plugin("hello-plugin")
    assert main(["bench"]) == 1 and "pip install t2v-bench" in capsys.readouterr().err


# ---------------------------------------------------------------- item 9: load only when there is work left
LOADS: list[str] = []


def _counting_plugin(peek: bool):
    from t2v_example.scorer import BrightnessScorer

    from t2v_core import ScorerSpec, hookimpl

    class Counting(BrightnessScorer):
        def load(self):
            LOADS.append(self.name)
            self.weights_revision = "rev-1"

        if peek:
            def peek_weights_revision(self):
                return "rev-1"

    globals()["_COUNTING"] = Counting

    class Plugin:
        @hookimpl
        def register_scorers(register):
            register(ScorerSpec(name="counting", kind="vqa", scorer=f"{__name__}:_COUNTING",
                                question_template=Q, answer_template="Yes"))
    return Plugin


@pytest.mark.parametrize("peek", [True, False])
def test_a_rerun_served_by_the_store_does_not_load_the_model(tmp_path, images, capsys, peek):
    from t2v_core import plugins

    plugins.register_plugin(_counting_plugin(peek), "counting")
    LOADS.clear()
    args = ["score", "--model", "counting", "--image", str(images[0]), "--image", str(images[1]), "--text", "a",
            "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r.jsonl")]
    assert main(args) == 0 and LOADS == ["counting"]
    first = (tmp_path / "r.jsonl").read_text()
    assert main(args) == 0
    assert "0 scored, 2 reused from the store" in capsys.readouterr().err
    # a family that can tell its revision from the cache is not loaded; one that cannot is (its key needs it)
    assert LOADS == (["counting"] if peek else ["counting", "counting"])
    assert (tmp_path / "r.jsonl").read_text() == first
    want = example_score(Image.open(images[1]).convert("RGB"), Q.format("a"), "Yes")
    assert abs(json.loads(first.splitlines()[1])["score"] - want) < 1e-6
    assert json.loads((tmp_path / "r.jsonl.provenance.json").read_text())["weights_revision"] == "rev-1"
    assert main([*args[:-4], "--text", "b", *args[-4:]]) == 0  # something new: now it loads
    assert LOADS[-1] == "counting" and len(LOADS) == (2 if peek else 3)
