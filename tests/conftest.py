"""Core tests see only the example plugin: whatever else is installed must not leak in."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from t2v_core import plugins
from t2v_core.testing import write_video


@pytest.fixture(autouse=True)
def only_example_plugin(monkeypatch):
    monkeypatch.setenv("T2V_PLUGINS", "example")
    monkeypatch.setenv("T2V_PROGRESS", "0")
    plugins.reset()
    try:
        yield
    finally:
        plugins.reset()


@pytest.fixture
def gray_images():
    """Three flat images of known brightness 0, 128/255 and 1."""
    return [Image.fromarray(np.full((8, 10, 3), v, np.uint8)) for v in (0, 128, 255)]


@pytest.fixture
def video_file(tmp_path):
    """A 20-frame 10 fps mp4 whose frame k is flat grey level 10*k (so frames are identifiable)."""
    frames = [np.full((32, 64, 3), 10 * k, np.uint8) for k in range(20)]
    return write_video(tmp_path / "ramp.mp4", frames, fps=10)
