"""The catalogue, as the installed entry point registers it, and the light preprocessing helpers."""

from __future__ import annotations

import subprocess
import sys

import pytest

REFERENCE_NAMES = [f"internvl2-{s}" for s in ("1b", "2b", "4b", "8b", "26b", "40b", "llama3-76b")] + \
    [f"internvl2.5-{s}" for s in ("1b", "2b", "4b", "8b", "26b", "38b", "78b")] + \
    [f"internvl3-{s}" for s in ("8b", "14b", "78b")]


def test_reference_names_and_more_are_registered():
    import t2v_core
    from t2v_core import registry

    names = set(t2v_core.list_all_vqascore_models())
    assert set(REFERENCE_NAMES) <= names
    assert {"internvl3-1b", "internvl3-2b", "internvl3-9b", "internvl3-38b", "internvl3.5-8b",
            "internvl3.5-30b-a3b"} <= names
    spec = registry.get_spec("internvl3_5-8b")  # OpenGVLab's spelling is an alias
    assert spec.name == "internvl3.5-8b" and spec.weights == ("OpenGVLab/InternVL3_5-8B-HF",)
    assert spec.media == ("image", "video") and spec.plugin == "t2v-internvl"
    assert registry.get_spec("internvl3-8b").weights == ("OpenGVLab/InternVL3-8B-hf",)
    assert registry.get_spec("internvl2-8b").options["remote_only"] is True


def test_listing_models_imports_no_torch():
    code = ("import sys, t2v_core; names = t2v_core.list_all_vqascore_models(); "
            "assert 'internvl3-8b' in names; assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tiling_grid_agrees_with_transformers():
    from t2v_internvl.preprocess import best_grid
    from transformers.models.got_ocr2.image_processing_got_ocr2 import get_optimal_tiled_canvas

    for w, h in [(448, 448), (1000, 300), (300, 1000), (2000, 1500), (50, 40), (4000, 100), (640, 480), (100, 100)]:
        assert best_grid(w, h, 448, 12) == get_optimal_tiled_canvas((h, w), (448, 448), 1, 12), (w, h)


def test_video_indices_are_segment_middles():
    from t2v_internvl.preprocess import video_indices

    assert video_indices(161, 16) == [5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 105, 115, 125, 135, 145, 155]
    assert video_indices(3, 4) == [0, 0, 1, 2]  # np.round rounds half to even, as in the reference
    with pytest.raises(ValueError, match="num_frames"):
        video_indices(10, 0)


def test_unknown_option_is_refused(get_score):
    with pytest.raises(TypeError, match="max_tile"):
        get_score("internvl3-1b", max_tile=3)


def test_tiles_equal_transformers_pil_image_processor():
    """The family's tiling is exactly transformers' GotOcr2 image processor (PIL backend, crop_to_patches)."""
    import numpy as np
    from PIL import Image
    from t2v_internvl.preprocess import image_visual
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    proc = GotOcr2ImageProcessorPil(size={"height": 112, "width": 112}, image_mean=[0.485, 0.456, 0.406],
                                    image_std=[0.229, 0.224, 0.225], crop_to_patches=True, max_patches=12)
    rng = np.random.default_rng(1)
    for w, h in [(300, 130), (60, 200), (112, 112), (500, 500)]:
        img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        want = proc(images=[img], return_tensors="pt")["pixel_values"]
        got = image_visual(img, 112, 12).pixels
        assert got.shape == want.shape and float((got - want).abs().max()) < 1e-5, (w, h)
