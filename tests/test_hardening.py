"""What issue 12 asked for beyond clear errors: no garbage stored, bombs refused, high bit depths scaled, a
total URL deadline, a dataset with one bad file scored around it, and a locked store that waits then says so."""

from __future__ import annotations

import csv
import http.server
import math
import sqlite3
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image
from t2v_example.scorer import example_score

import t2v_core
from t2v_core import media as media_mod
from t2v_core.cli import main
from t2v_core.errors import DatasetError, MediaError, OptionError, StoreError
from t2v_core.media import fetch_url, load_media
from t2v_core.store import ScoreStore

Q = 'Does this figure show "{}"?'


def _expected(img, text):
    return example_score(img, Q.format(text), "Yes")


# ---------------------------------------------------------------- item 1: no unwritten buffer, ever
def test_bad_batch_size_stores_nothing(tmp_path, gray_images):
    s = t2v_core.VQAScore(model="example", device="cpu")
    db = tmp_path / "s.sqlite"
    for bs in (-1, 0):
        with pytest.raises(OptionError, match="batch_size"):
            s.batch_forward([{"images": gray_images, "texts": ["a"]}], batch_size=bs, store=db)
    assert not db.exists() or ScoreStore(db).count() == 0


def test_a_scorer_that_skips_pairs_is_caught_before_storing(tmp_path, gray_images, monkeypatch):
    s = t2v_core.VQAScore(model="example", device="cpu")
    real = type(s.model).score_pairs
    monkeypatch.setattr(type(s.model), "score_pairs", lambda self, m, t, **kw: real(self, m, t, **kw)[:-1])
    db = tmp_path / "s.sqlite"
    with pytest.raises(RuntimeError, match="returned 2 scores for 3 pairs"):
        s.batch_forward([{"images": gray_images, "texts": ["a"]}], store=db)
    assert ScoreStore(db).count() == 0


# ---------------------------------------------------------------- item 2: decompression bombs
def test_pixel_limit_is_settable(tmp_path, monkeypatch):
    p = tmp_path / "big.png"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(p)
    monkeypatch.setattr(media_mod, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(MediaError, match=r"media item 0 .*big.png.*40x30 = 1200 pixels, over the limit of 1000"):
        load_media(str(p))
    monkeypatch.setenv("T2V_MAX_IMAGE_PIXELS", "2000")  # the environment wins
    assert load_media(str(p)).image.size == (40, 30)
    monkeypatch.setenv("T2V_MAX_IMAGE_PIXELS", "0")  # no limit
    monkeypatch.setattr(media_mod, "MAX_IMAGE_PIXELS", 10)
    assert load_media(str(p)).image.getpixel((0, 0)) == (1, 2, 3)


def _bomb(path):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def test_cli_bomb_is_one_failed_pair(tmp_path):
    ok = tmp_path / "ok.png"
    Image.new("RGB", (4, 4), (200, 200, 200)).save(ok)
    bomb = _bomb(tmp_path / "bomb.png")
    out = tmp_path / "r.csv"
    rc = main(["score", "--model", "example", "--image", str(ok), "--image", str(bomb), "--text", "a",
               "--out", str(out), "--no-progress"])
    assert rc == 1
    rows = {r["media"]: r for r in csv.DictReader(open(out))}
    assert abs(float(rows[str(ok)]["score"]) - _expected(Image.open(ok).convert("RGB"), "a")) < 1e-6
    assert rows[str(bomb)]["score"] == "" and "400000000 pixels" in rows[str(bomb)]["error"]


# ---------------------------------------------------------------- item 3: no silent conversions
def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    arr = (np.arange(48 * 40).reshape(40, 48) * 34).astype(np.uint16)  # spans 0..65246
    want = np.round(arr.astype(np.float64) / 257.0).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    for item in (str(tmp_path / "g16.png"), arr, Image.fromarray(arr.astype(np.int32))):
        got = np.asarray(load_media(item).image)
        assert got.shape == (40, 48, 3)
        assert np.array_equal(got[..., 0], want) and np.array_equal(got[..., 2], want)
    assert (want == 255).mean() < 0.01  # clipping had made 99% of it white


def test_half_and_bfloat16_tensors_are_accepted():
    t = torch.rand(3, 5, 6, generator=torch.Generator().manual_seed(0))
    for dt in (torch.float16, torch.bfloat16):
        low = t.to(dt)
        want = np.round(low.float().permute(1, 2, 0).numpy().astype(np.float64) * 255).astype(np.uint8)
        assert np.array_equal(np.asarray(load_media(low).image), want)


def test_a_4d_array_under_videos_is_one_video():
    arr = np.stack([np.full((8, 8, 3), 20 * k, np.uint8) for k in range(6)])
    s = t2v_core.VQAScore(model="example", device="cpu")
    got = s(videos=arr, texts=["a", "b"])
    assert got.shape == (1, 2)
    frames = [Image.fromarray(arr[k]) for k in (0, 2, 3, 5)]  # 4 frames spread over 6, ends included
    for j, t in enumerate(["a", "b"]):
        assert abs(float(got[0, j]) - _expected(frames, t)) < 1e-6
    assert s(videos=torch.from_numpy(arr), texts=["a"]).shape == (1, 1)
    assert s(images=arr, texts=["a"]).shape == (6, 1)  # under images= it stays a batch of images
    out = s.batch_forward([{"videos": arr, "texts": ["a"]}])
    assert out.shape == (1, 1, 1) and abs(float(out[0, 0, 0]) - float(got[0, 0])) < 1e-6


# ---------------------------------------------------------------- item 4: total URL deadline
def _drip_server(gap: float, send: bool):
    class Drip(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    if send:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    time.sleep(gap)
            except OSError:
                pass

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.mark.parametrize("send", [True, False], ids=["drip", "silent"])
def test_url_deadline_is_total(send):
    srv = _drip_server(0.05 if send else 0.2, send)
    try:
        t0 = time.monotonic()
        with pytest.raises(MediaError, match=r"media item 3 .*127.0.0.1.*could not be downloaded"):
            fetch_url(f"http://127.0.0.1:{srv.server_address[1]}/slow.png", 3, timeout=0.5)
        assert time.monotonic() - t0 < 1.5
    finally:
        srv.shutdown()


# ---------------------------------------------------------------- item 11: one bad file under on_error="nan"
def test_batch_forward_scores_around_a_missing_file(tmp_path):
    paths = []
    for k in range(4):
        p = tmp_path / f"i{k}.png"
        Image.new("RGB", (4, 4), (40 * k, 40 * k, 40 * k)).save(p)
        paths.append(p)
    missing = tmp_path / "missing.png"
    ds = [{"images": [str(paths[0]), str(paths[1])], "texts": ["a", "b"]},
          {"images": [str(paths[2]), str(missing)], "texts": ["a", "b"]},
          {"images": [str(missing), str(paths[3])], "texts": ["a", "b"]}]
    s = t2v_core.VQAScore(model="example", device="cpu")
    db = tmp_path / "s.sqlite"
    out = s.batch_forward(ds, store=db, on_error="nan")
    bad = {(1, 1), (2, 0)}
    for k, sample in enumerate(ds):
        for i, item in enumerate(sample["images"]):
            for j, t in enumerate(sample["texts"]):
                if (k, i) in bad:
                    assert math.isnan(float(out[k, i, j]))
                else:
                    assert abs(float(out[k, i, j]) - _expected(Image.open(item).convert("RGB"), t)) < 1e-6
    assert sorted((f.detail["sample"], f.media_index, f.text_index) for f in s.failures) == \
        [(1, 1, 0), (1, 1, 1), (2, 0, 0), (2, 0, 1)]
    assert all("missing.png" in f.error and f.kind == "media" for f in s.failures)
    assert ScoreStore(db).count() == 8
    with pytest.raises(DatasetError, match=r"sample 1: media item 1 .*missing.png.*does not exist"):
        s.batch_forward(ds, store=db)  # on_error="raise" (the default) refuses the dataset, naming the file
    # a rerun with the file back computes only its pairs
    Image.new("RGB", (4, 4), (7, 7, 7)).save(missing)
    again = s.batch_forward(ds, store=db)
    assert not torch.isnan(again).any() and ScoreStore(db).count() == 10


# ---------------------------------------------------------------- item 5: a locked store
def _hold_lock(path, seconds):
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.execute("BEGIN EXCLUSIVE")
    t = threading.Timer(seconds, db.rollback)
    t.start()
    return db, t


def test_locked_store_waits_then_names_itself(tmp_path):
    path = tmp_path / "s.sqlite"
    st = ScoreStore(path, timeout=0.3)
    db, t = _hold_lock(path, 5.0)
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError, match=r"s.sqlite.*locked by another process.*0.3 s"):
            st.add_provenance({"a": 1})
        assert 0.25 < time.monotonic() - t0 < 3
    finally:
        t.cancel()
        db.rollback()
        db.close()
    st.close()
    # a lock released within the wait is waited out
    st = ScoreStore(path, timeout=10)
    db, t = _hold_lock(path, 0.4)
    try:
        assert st.add_provenance({"b": 2})
    finally:
        t.join()
        db.close()
        st.close()


def test_cli_on_a_locked_store(tmp_path, capsys, monkeypatch):
    ok = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(ok)
    path = tmp_path / "s.sqlite"
    ScoreStore(path).close()
    monkeypatch.setenv("T2V_STORE_TIMEOUT", "0.2")
    db, t = _hold_lock(path, 5.0)
    try:
        rc = main(["score", "--model", "example", "--image", str(ok), "--text", "a", "--store", str(path),
                   "--no-progress"])
    finally:
        t.cancel()
        db.rollback()
        db.close()
    err = capsys.readouterr().err
    assert rc == 1 and "s.sqlite" in err and "locked" in err and "Traceback" not in err
