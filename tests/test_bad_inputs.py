"""Hostile input, through the Python API and ``t2v score``: every case gets an error of a named class whose
message names the bad item (index, path, field or option), never a raw traceback or a silent conversion."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import t2v_core
from t2v_core.cli import main
from t2v_core.errors import (
    DatasetError,
    MediaError,
    OptionError,
    T2VError,
    TemplateError,
    TextError,
    UnknownModelError,
)
from t2v_core.scorer import check_numeric_options


def _png_header(w: int, h: int) -> bytes:
    """A PNG that declares ``w x h`` pixels (a decompression bomb's header: tiny file, huge image)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def vqa():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("T2V_PLUGINS", "example")
        t2v_core.plugins.reset()
        yield t2v_core.VQAScore(model="example", device="cpu")


@pytest.fixture
def files(tmp_path):
    ok = tmp_path / "ok.png"
    Image.new("RGB", (4, 4), (9, 9, 9)).save(ok)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    (tmp_path / "bomb.png").write_bytes(_png_header(20000, 20000))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 broken")
    (tmp_path / "folder").mkdir()
    return tmp_path


OK = Image.new("RGB", (4, 4), (50, 60, 70))

# (id, call(score, files), error class, fragments the message must contain: they name the item)
API_CASES = [
    # --- item 1: batch sizes and numeric options
    ("bs-neg", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], batch_size=-1), OptionError, ["batch_size", "-1"]),
    ("bs-zero", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], batch_size=0), OptionError, ["batch_size", "0"]),
    ("bs-float", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], batch_size=1.5), OptionError, ["batch_size"]),
    ("bs-bool", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], batch_size=True), OptionError, ["batch_size"]),
    ("bs-str", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], batch_size="4"), OptionError, ["batch_size"]),
    ("bs-ctor", lambda s, d: t2v_core.VQAScore(model="example", device="cpu", batch_size=0), OptionError, ["batch_size"]),
    ("bs-ctor-neg", lambda s, d: t2v_core.VQAScore(model="example", device="cpu", batch_size=-5), OptionError, ["batch_size"]),
    ("nf-str", lambda s, d: s(images=[OK], texts=["a"], num_frames="abc"), OptionError, ["num_frames", "abc"]),
    ("nf-zero", lambda s, d: s(images=[OK], texts=["a"], num_frames=0), OptionError, ["num_frames"]),
    ("nf-neg", lambda s, d: s(images=[OK], texts=["a"], num_frames=-2), OptionError, ["num_frames"]),
    ("nf-float", lambda s, d: s(images=[OK], texts=["a"], num_frames=2.5), OptionError, ["num_frames"]),
    ("nf-bool", lambda s, d: s(images=[OK], texts=["a"], num_frames=True), OptionError, ["num_frames"]),
    ("nf-batch", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], num_frames="x"), OptionError, ["num_frames"]),
    ("fps-neg", lambda s, d: check_numeric_options({"fps": -1.0}), OptionError, ["fps"]),
    ("fps-nan", lambda s, d: check_numeric_options({"fps": float("nan")}), OptionError, ["fps"]),
    ("fps-str", lambda s, d: check_numeric_options({"fps": "fast"}), OptionError, ["fps", "fast"]),
    ("opt-unknown", lambda s, d: s(images=[OK], texts=["a"], nmu_frames=4), TypeError, ["nmu_frames"]),
    ("store-int", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}], store=5), OptionError, ["store"]),
    ("on-error", lambda s, d: s(images=[OK], texts=["a"], on_error="ignore"), ValueError, ["on_error", "ignore"]),
    ("device", lambda s, d: t2v_core.VQAScore(model="example", device="bogus"), OptionError, ["device", "bogus"]),
    ("dtype", lambda s, d: t2v_core.VQAScore(model="example", device="cpu", dtype="int3"), ValueError, ["dtype", "int3"]),
    ("alpha", lambda s, d: t2v_core.VQAScore(model="example", device="cpu", alpha="pink"), ValueError, ["alpha", "pink"]),
    ("model", lambda s, d: t2v_core.VQAScore(model="exampel"), UnknownModelError, ["exampel"]),
    ("kind", lambda s, d: t2v_core.VQAScore(model="example-clip"), ValueError, ["example-clip", "CLIPScore"]),
    # --- item 7: texts
    ("texts-bytes", lambda s, d: s(images=[OK], texts=b"a cat"), TextError, ["texts", "bytes", "decode"]),
    ("texts-int", lambda s, d: s(images=[OK], texts=5), TextError, ["texts", "int"]),
    ("texts-none", lambda s, d: s(images=[OK], texts=None), TextError, ["texts is missing"]),
    ("texts-empty", lambda s, d: s(images=[OK], texts=[]), TextError, ["texts is empty"]),
    ("texts-dict", lambda s, d: s(images=[OK], texts={"a": 1}), TextError, ["texts", "dict"]),
    ("text-int", lambda s, d: s(images=[OK], texts=["ok", 3]), TextError, ["text 1", "int"]),
    ("text-bytes", lambda s, d: s(images=[OK], texts=["ok", b"x"]), TextError, ["text 1", "bytes"]),
    ("text-none", lambda s, d: s(images=[OK], texts=["ok", "ok", None]), TextError, ["text 2", "NoneType"]),
    ("text-surrogate", lambda s, d: s(images=[OK], texts=["ok", "a\ud800b"]), TextError, ["text 1", "surrogate", "position 1"]),
    # --- items 2, 3, 7: media
    ("images-int", lambda s, d: s(images=5, texts=["a"]), MediaError, ["images", "int"]),
    ("images-float", lambda s, d: s(images=2.5, texts=["a"]), MediaError, ["images", "float"]),
    ("images-none", lambda s, d: s(images=None, texts=["a"]), ValueError, ["images is missing"]),
    ("images-empty", lambda s, d: s(images=[], texts=["a"]), MediaError, ["no media"]),
    ("images-both", lambda s, d: s(images=[OK], videos=[OK], texts=["a"]), ValueError, ["images or videos"]),
    ("item-int", lambda s, d: s(images=[OK, 5], texts=["a"]), MediaError, ["media item 1", "int"]),
    ("item-dict", lambda s, d: s(images=[OK, {"a": 1}], texts=["a"]), MediaError, ["media item 1", "dict"]),
    ("missing", lambda s, d: s(images=[OK, str(d / "nope.png")], texts=["a"]), MediaError, ["media item 1", "nope.png", "does not exist"]),
    ("empty-path", lambda s, d: s(images=[" "], texts=["a"]), MediaError, ["media item 0", "empty path"]),
    ("folder", lambda s, d: s(images=[str(d / "folder")], texts=["a"]), MediaError, ["media item 0", "folder"]),
    ("empty-file", lambda s, d: s(images=[str(d / "empty.png")], texts=["a"]), MediaError, ["empty.png", "empty"]),
    ("junk-file", lambda s, d: s(images=[str(d / "junk.png")], texts=["a"]), MediaError, ["junk.png", "cannot be decoded"]),
    ("bomb-file", lambda s, d: s(images=[OK, str(d / "bomb.png")], texts=["a"]), MediaError, ["media item 1", "bomb.png", "400000000 pixels", "MAX_IMAGE_PIXELS"]),
    ("bomb-bytes", lambda s, d: s(images=[_png_header(30000, 30000)], texts=["a"]), MediaError, ["media item 0", "bytes", "pixels"]),
    ("ext", lambda s, d: s(images=[str(d / "notes.txt")], texts=["a"]), MediaError, ["notes.txt", "unsupported extension"]),
    ("video-junk", lambda s, d: s(videos=[str(d / "broken.mp4")], texts=["a"]), MediaError, ["broken.mp4", "cannot be decoded as a video"]),
    ("bytes-empty", lambda s, d: s(images=[OK, b""], texts=["a"]), MediaError, ["media item 1", "empty"]),
    ("bytes-junk", lambda s, d: s(images=[b"\x01\x02\x03"], texts=["a"]), MediaError, ["media item 0", "3 bytes", "cannot be decoded"]),
    ("url-dead", lambda s, d: s(images=["http://127.0.0.1:9/x.png"], texts=["a"]), MediaError, ["media item 0", "127.0.0.1:9", "could not be downloaded"]),
    ("frames-empty", lambda s, d: s(images=[OK, []], texts=["a"]), MediaError, ["media item 1", "empty list"]),
    ("frames-bad", lambda s, d: s(videos=[[OK, 7]], texts=["a"]), MediaError, ["media item 0", "int"]),
    ("arr-bool", lambda s, d: s(images=[np.ones((4, 4, 3), bool)], texts=["a"]), MediaError, ["media item 0", "bool"]),
    ("arr-complex", lambda s, d: s(images=[np.ones((4, 4, 3), np.complex64)], texts=["a"]), MediaError, ["media item 0", "complex64"]),
    ("arr-object", lambda s, d: s(images=[np.full((4, 4, 3), None, object)], texts=["a"]), MediaError, ["media item 0", "object"]),
    ("arr-str", lambda s, d: s(images=[np.full((4, 4, 3), "a")], texts=["a"]), MediaError, ["media item 0", "<U1"]),
    ("ten-bool", lambda s, d: s(images=[torch.ones(3, 4, 4, dtype=torch.bool)], texts=["a"]), MediaError, ["media item 0", "bool"]),
    ("ten-complex", lambda s, d: s(images=[torch.ones(3, 4, 4, dtype=torch.complex64)], texts=["a"]), MediaError, ["media item 0", "complex"]),
    ("arr-range", lambda s, d: s(images=[np.full((4, 4, 3), 2.0, np.float32)], texts=["a"]), MediaError, ["media item 0", "[0, 1]"]),
    ("arr-nan", lambda s, d: s(images=[np.full((4, 4, 3), np.nan, np.float32)], texts=["a"]), MediaError, ["media item 0", "NaN"]),
    ("arr-int-neg", lambda s, d: s(images=[np.full((4, 4, 3), -1, np.int32)], texts=["a"]), MediaError, ["media item 0", "[0, 255]"]),
    ("arr-channels", lambda s, d: s(images=[np.zeros((5, 5, 7), np.uint8)], texts=["a"]), MediaError, ["media item 0", "channels"]),
    ("arr-1d", lambda s, d: s(images=[OK, np.zeros(5, np.uint8)], texts=["a"]), MediaError, ["media item 1", "shape"]),
    ("arr-empty", lambda s, d: s(images=[np.zeros((0, 4, 3), np.uint8)], texts=["a"]), MediaError, ["media item 0", "empty"]),
    ("video-0-frames", lambda s, d: s(videos=np.zeros((0, 4, 4, 3), np.uint8), texts=["a"]), MediaError, ["media item 0", "no frames"]),
    # --- item 6: templates
    ("tpl-no-slot", lambda s, d: s(images=[OK], texts=["a"], question_template="Is it good?"), TemplateError, ["Is it good?", "Yes", "same score"]),
    ("tpl-no-slot-both", lambda s, d: s(images=[OK], texts=["a"], question_template="Q", answer_template="A"), TemplateError, ["'Q'", "'A'"]),
    ("tpl-two", lambda s, d: s(images=[OK], texts=["a"], question_template="{} and {}"), TemplateError, ["question_template", "2"]),
    ("tpl-named", lambda s, d: s(images=[OK], texts=["a"], question_template="show {text}"), TemplateError, ["question_template", "{text}"]),
    ("tpl-brace", lambda s, d: s(images=[OK], texts=["a"], question_template="show {"), TemplateError, ["question_template", "malformed"]),
    ("tpl-answer-empty", lambda s, d: s(images=[OK], texts=["a"], answer_template=" "), TemplateError, ["answer_template", "empty"]),
    ("tpl-type", lambda s, d: s(images=[OK], texts=["a"], question_template=5), TemplateError, ["question_template", "int"]),
    ("tpl-literal-only", lambda s, d: s(images=[OK], texts=["a"], question_template="say {{}}"), TemplateError, ["say {{}}"]),
    ("tpl-clip", lambda s, d: t2v_core.CLIPScore(model="example-clip", device="cpu")(images=[OK], texts=["a"], question_template="{}"), ValueError, ["example-clip", "template"]),
    # --- batch_forward datasets
    ("ds-empty", lambda s, d: s.batch_forward([]), DatasetError, ["non-empty list"]),
    ("ds-str", lambda s, d: s.batch_forward("abc"), DatasetError, ["dataset"]),
    ("ds-not-dict", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}, ["x"]]), DatasetError, ["sample 1 is a list"]),
    ("ds-no-texts", lambda s, d: s.batch_forward([{"images": [OK]}]), DatasetError, ["sample 0 has no 'texts'"]),
    ("ds-both", lambda s, d: s.batch_forward([{"images": [OK], "videos": [OK], "texts": ["a"]}]), DatasetError, ["sample 0", "exactly one"]),
    ("ds-shape", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}, {"images": [OK, OK], "texts": ["a"]}]), DatasetError, ["sample 1 has 2 images"]),
    ("ds-text-int", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a", 4]}]), DatasetError, ["sample 0", "text 1", "int"]),
    ("ds-texts-bytes", lambda s, d: s.batch_forward([{"images": [OK], "texts": b"a"}]), DatasetError, ["sample 0", "'texts'", "bytes"]),
    ("ds-texts-int", lambda s, d: s.batch_forward([{"images": [OK], "texts": 3}]), DatasetError, ["sample 0", "'texts'", "int"]),
    ("ds-text-surrogate", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["ok"]}, {"images": [OK], "texts": ["\udcff"]}]), DatasetError, ["sample 1", "text 0", "surrogate"]),
    ("ds-empty-texts", lambda s, d: s.batch_forward([{"images": [OK], "texts": []}]), DatasetError, ["sample 0", "0 texts"]),
    ("ds-missing-raise", lambda s, d: s.batch_forward([{"images": [OK], "texts": ["a"]}, {"images": [str(d / "gone.png")], "texts": ["a"]}]), DatasetError, ["sample 1", "gone.png", "does not exist"]),
    ("ds-item-int", lambda s, d: s.batch_forward([{"images": [OK, 5], "texts": ["a"]}]), DatasetError, ["sample 0", "media item 1", "int"]),
]


@pytest.mark.parametrize("call,cls,fragments", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_input_python_api(vqa, files, call, cls, fragments):
    with pytest.raises(cls) as e:
        call(vqa, files)
    msg = str(e.value)
    for f in fragments:
        assert f in msg, (f, msg)
    assert "Traceback" not in msg


def _pairs(d, rows, suffix=".jsonl"):
    p = d / f"pairs{suffix}"
    p.write_text("\n".join(json.dumps(r) if not isinstance(r, str) else r for r in rows) + "\n")
    return str(p)


# (id, argv(files) -> list, exit code, fragments of stderr)
CLI_CASES = [
    ("device", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--device", "bogus"], 1, ["device", "bogus"]),
    ("dtype", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--dtype", "int3"], 1, ["dtype", "int3"]),
    ("model", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--model", "nope"], 1, ["nope"]),
    ("store-folder", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--store", str(d / "folder")], 1, ["store", "folder"]),
    ("store-not-sqlite", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--store", str(d / "notes.txt")], 1, ["notes.txt", "not a SQLite"]),
    ("store-junk-sqlite", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--store", str(d / "junk.png")], 1, ["junk.png", "not a SQLite"]),
    ("jsonl-list", lambda d: ["--pairs", _pairs(d, [{"image": "ok.png", "text": "a"}, ["ok.png", "a"]])], 2, ["row 2", "list"]),
    ("jsonl-str", lambda d: ["--pairs", _pairs(d, ['"ok.png"'])], 2, ["row 1", "str"]),
    ("jsonl-bad", lambda d: ["--pairs", _pairs(d, ["{nope"])], 2, ["pairs.jsonl:1", "not valid JSON"]),
    ("jsonl-no-text", lambda d: ["--pairs", _pairs(d, [{"image": "ok.png"}])], 2, ["row 1", "'text'"]),
    ("jsonl-text-int", lambda d: ["--pairs", _pairs(d, [{"image": "ok.png", "text": 5}])], 2, ["row 1", "text", "int"]),
    ("jsonl-surrogate", lambda d: ["--pairs", _pairs(d, ['{"image": "ok.png", "text": "a\\ud800"}'])], 2, ["row 1", "surrogate"]),
    ("jsonl-empty", lambda d: ["--pairs", _pairs(d, [""])], 2, ["no rows"]),
    ("pairs-missing", lambda d: ["--pairs", str(d / "none.jsonl")], 1, ["none.jsonl", "does not exist"]),
    ("pairs-ext", lambda d: ["--pairs", str(d / "notes.txt")], 2, ["notes.txt", ".csv or .jsonl"]),
    ("out-ext", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--out", str(d / "r.xls")], 2, ["r.xls"]),
    ("both", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--pairs", "x.jsonl"], 2, ["--pairs"]),
    ("batch-size", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--batch-size", "0"], 1, ["batch_size"]),
    ("num-frames", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--num-frames", "-1"], 1, ["num_frames"]),
    ("option-form", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--option", "nokey"], 2, ["nokey", "KEY=VALUE"]),
    ("template", lambda d: ["--image", str(d / "ok.png"), "--text", "a", "--question", "Is it?"], 1, ["Is it?", "'{}'"]),
    ("missing-image", lambda d: ["--image", str(d / "gone.png"), "--text", "a"], 1, ["1 of 1 pairs failed"]),
    ("bomb-image", lambda d: ["--image", str(d / "bomb.png"), "--text", "a"], 1, ["1 of 1 pairs failed"]),
]


@pytest.mark.parametrize("argv,code,fragments", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_bad_input_cli(files, capsys, argv, code, fragments):
    args = argv(files)
    if "--model" not in args:
        args = ["--model", "example", *args]
    assert main(["score", *args, "--no-progress"]) == code
    err = capsys.readouterr().err
    for f in fragments:
        assert f in err, (f, err)
    assert "Traceback" not in err


def test_every_case_is_a_t2v_or_builtin_error_class():
    """The figures for the issue: how many cases, and that each expects a named class."""
    assert len(API_CASES) + len(CLI_CASES) >= 60
    named = [c for c in API_CASES if issubclass(c[2], T2VError)]
    assert len(named) >= 70
