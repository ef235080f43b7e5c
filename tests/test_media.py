"""Media loading: every accepted input type, EXIF/alpha/palette handling, video sampling, named errors."""

from __future__ import annotations

import http.server
import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from t2v_core.errors import MediaError
from t2v_core.media import Video, concat_frames, fps_indices, load_all, load_media, uniform_indices


def _w(path, data):
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    return str(path)


def _png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_same_pixels_from_every_image_input(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    pil = Image.fromarray(arr)
    path = tmp_path / "x.png"
    pil.save(path)
    items = [str(path), path, pil, arr, arr.astype(np.float32) / 255.0, torch.from_numpy(arr).permute(2, 0, 1),
             torch.from_numpy(arr), _png_bytes(pil)]
    loaded = [load_media(it, k) for k, it in enumerate(items)]
    for m in loaded:
        assert m.kind == "image" and m.image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(m.image), arr)
    assert len({m.hash for m in loaded}) == 1


def test_exif_orientation_rgba_gray_palette(tmp_path):
    img = Image.new("RGB", (4, 2), (255, 0, 0))
    img.putpixel((0, 0), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=100)
    assert load_media(str(p)).image.size == (2, 4)

    rgba = Image.new("RGBA", (2, 2), (10, 20, 30, 0))
    assert load_media(rgba).image.getpixel((0, 0)) == (10, 20, 30)  # as the reference: alpha dropped
    assert load_media(rgba, alpha="white").image.getpixel((0, 0)) == (255, 255, 255)  # composited on white
    with pytest.raises(ValueError, match="alpha must be one of"):
        load_media(rgba, alpha="black")
    gray = Image.new("L", (2, 2), 77)
    assert load_media(gray).image.getpixel((1, 1)) == (77, 77, 77)
    half = np.zeros((1, 1, 4), np.uint8)
    half[0, 0] = (0, 0, 0, 128)
    assert load_media(half, alpha="white").image.getpixel((0, 0)) == (127, 127, 127)
    pal = Image.new("P", (2, 2), 3)
    pal.putpalette([0, 0, 0, 10, 20, 30, 1, 2, 3, 40, 50, 60] + [0] * 756)
    assert load_media(pal).image.getpixel((0, 0)) == (40, 50, 60)


@pytest.mark.parametrize("make,fragment", [
    (lambda d: str(d / "missing.png"), "does not exist"),
    (lambda d: _w(d / "empty.png", b""), "empty"),
    (lambda d: _w(d / "junk.png", b"garbage!"), "cannot be decoded"),
    (lambda d: _w(d / "trunc.mp4", b"\x00\x00\x00\x18ftypmp42 broken"), "cannot be decoded"),
    (lambda d: str(d), "is a folder"),
    (lambda d: _w(d / "a.txt", "x"), "unsupported extension"),
    (lambda d: 3.5, "unsupported type"),
    (lambda d: np.zeros((0, 4, 3), np.uint8), "empty"),
    (lambda d: np.full((4, 4, 3), 2.0, np.float32), "[0, 1]"),
    (lambda d: [], "empty list"),
    (lambda d: b"", "empty"),
])
def test_bad_items_are_named_with_their_index(tmp_path, make, fragment):
    ok = Image.new("RGB", (4, 4))
    with pytest.raises(MediaError) as e:
        load_all([ok, make(tmp_path)])
    assert "media item 1" in str(e.value) and fragment in str(e.value)


def test_video_probe_and_sampling(video_file):
    v = load_media(str(video_file), 0)
    assert isinstance(v, Video)
    assert (v.info.num_frames, v.info.fps, v.info.width, v.info.height) == (20, 10.0, 64, 32)
    clip = v.sample(num_frames=5)
    assert clip.indices == [0, 5, 10, 14, 19]
    levels = [int(round(np.asarray(f).mean())) for f in clip.frames]
    assert all(abs(lv - 10 * k) <= 6 for lv, k in zip(levels, clip.indices)), levels
    clip2 = v.sample(fps=2.5)  # 2 s at 2.5 fps -> 5 frames
    assert len(clip2.indices) == 5 and clip2.sample_fps == 2.5
    assert v.frames([19, 0])[0].size == (64, 32)
    with pytest.raises(MediaError, match="outside"):
        v.frames([20])
    assert v.hash == load_media(str(video_file)).hash


def test_decord_matches_pyav(video_file):
    pytest.importorskip("decord")
    a = load_media(str(video_file), video_backend="pyav").frames([0, 7, 19])
    b = load_media(str(video_file), video_backend="decord").frames([0, 7, 19])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_video_from_frames_and_arrays():
    frames = [np.full((6, 8, 3), k * 20, np.uint8) for k in range(6)]
    for item in (frames, np.stack(frames), torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)):
        v = load_media(item)
        assert v.kind == "video" and v.info.num_frames == 6 and v.info.fps is None
        assert [int(np.asarray(f).mean()) for f in v.sample(num_frames=3).frames] == [0, 60, 100]
    with pytest.raises(MediaError, match="frame rate is unknown"):
        load_media(frames).sample(fps=2)
    assert len(Video.from_frames(frames, fps=3.0).sample(fps=1.5).indices) == 3


def test_video_bytes_and_model_that_refuses_video(video_file):
    v = load_media(video_file.read_bytes())
    assert v.kind == "video" and v.info.num_frames == 20
    with pytest.raises(MediaError, match="accepts only image"):
        load_all([str(video_file)], accepted=("image",), model="m")


def test_index_helpers_and_concat():
    assert uniform_indices(10, 1) == [0]
    assert uniform_indices(3, 5) == [0, 1, 1, 2, 2]
    assert fps_indices(48, 24.0, 8.0) == uniform_indices(48, 16)
    assert fps_indices(10, 5.0, 50.0) == list(range(10))  # never more than every frame
    a, b = Image.new("RGB", (3, 2), (255, 0, 0)), Image.new("RGB", (6, 4), (0, 255, 0))
    c = concat_frames([a, b], gap=1)
    assert c.size == (3 + 1 + 3, 2)
    assert c.getpixel((0, 0)) == (255, 0, 0) and c.getpixel((3, 0)) == (0, 0, 0) and c.getpixel((4, 1)) == (0, 255, 0)


def test_url_loading_and_errors(tmp_path):
    img = Image.new("RGB", (5, 3), (1, 2, 3))
    img.save(tmp_path / "u.png")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        m = load_media(f"{base}/u.png")
        assert m.image.getpixel((0, 0)) == (1, 2, 3) and m.source == f"{base}/u.png"
        with pytest.raises(MediaError, match="media item 2.*could not be downloaded"):
            load_media(f"{base}/nope.png", 2)
    finally:
        srv.shutdown()


def test_expand_to_square_centres_on_the_fill():
    from PIL import Image as PILImage

    from t2v_core.media import expand_to_square

    img = PILImage.new("RGB", (5, 2), (10, 20, 30))
    out = expand_to_square(img, (1, 2, 3))
    arr = np.asarray(out)
    assert out.size == (5, 5)
    # (5 - 2) // 2 = 1 row of fill above, 2 below, as the LLaVA code's expand2square
    assert (arr[0] == (1, 2, 3)).all() and (arr[1:3] == (10, 20, 30)).all() and (arr[3:] == (1, 2, 3)).all()
    tall = np.asarray(expand_to_square(PILImage.new("L", (1, 4), 9), (0,)))
    assert tall.shape == (4, 4) and (tall[:, 1] == 9).all() and (tall[:, [0, 2, 3]] == 0).all()
    assert expand_to_square(img.resize((3, 3)), (0, 0, 0)).size == (3, 3)
