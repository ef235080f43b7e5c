"""Helpers of the t2v-bench tests: miniature benchmark files in their published formats, and the
closed-form scores of the example plugin's toy scorers (tests/example_plugin), so that expected metrics
can be computed by hand."""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

QUESTION = 'Does this figure show "{}"?'  # example-brightness's default templates
ANSWER = "Yes"


# ------------------------------------------------------------------------------------------ toy scores


def brightness_score(image_path_or_pil, text: str) -> float:
    """example-brightness: half the mean pixel value in [0, 1], half a CRC of the filled question."""
    img = image_path_or_pil if isinstance(image_path_or_pil, Image.Image) else Image.open(image_path_or_pil)
    b = float(np.asarray(img.convert("RGB"), dtype=np.float64).mean() / 255.0)
    q = QUESTION.format(text)
    return 0.5 * b + 0.5 * (zlib.crc32(f"{q}\x00{ANSWER}".encode()) % 1000) / 1000.0


def prompt_value(text: str) -> float:
    """example-brightness's text half: a CRC of the filled question and answer, in [0, 1)."""
    return (zlib.crc32(f"{QUESTION.format(text)}\x00{ANSWER}".encode()) % 1000) / 1000.0


def clip_score(image_path, text: str) -> float:
    """example-clip: cosine of (channel means + 1) and (len + 1, words + 1, count('e') + 1)."""
    arr = np.asarray(Image.open(image_path).convert("RGB"), dtype=np.float64)
    img = np.array([arr[..., c].mean() + 1.0 for c in range(3)])
    txt = np.array([len(text) + 1.0, len(text.split()) + 1.0, text.count("e") + 1.0])
    return float(img @ txt / np.linalg.norm(img) / np.linalg.norm(txt))


def solid(path: Path, rgb, size=(4, 4)) -> Path:
    """A tiny one-colour image (PNG unless the suffix says otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, tuple(int(c) for c in rgb)).save(path)
    return path


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


# ------------------------------------------------------------------------------------------ GenAI-Bench

GENAI_PROMPTS = {
    "00000": "a red apple on a table",
    "00001": "three cats and no dogs",
    "00002": "a taller tree than the house",
}
# genai_skills.json: skill -> integer prompt ids (as published)
GENAI_SKILLS = {
    "attribute": [0, 2], "scene": [0], "spatial relation": [2], "action relation": [], "part relation": [],
    "counting": [1], "comparison": [2], "differentiation": [], "negation": [1], "universal": [],
    "basic": [0, 2], "advanced": [1, 2],
}


def write_video(path: Path, levels, size: int = 16, fps: int = 8) -> Path:
    """A tiny MPEG-4 video whose frames are solid grey at ``levels``."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for v in levels:
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), v, np.uint8), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def decoded_frames(path: Path) -> list:
    """Every frame of a video as PIL images, decoded with PyAV directly."""
    import av

    with av.open(str(path)) as c:
        return [f.to_image() for f in c.decode(video=0)]


def brute_acc23_with_threshold(g, m, groups=None) -> tuple[float, float]:
    """Tie-calibrated pairwise accuracy written out naively (every threshold, every pair, averaged over
    groups), with the first threshold that reaches it."""
    import itertools

    g, m = np.asarray(g, float), np.asarray(m, float)
    groups = np.zeros(len(g), int) if groups is None else np.asarray(groups)
    cands = {0.0} | {abs(m[i] - m[j]) for i, j in itertools.combinations(range(len(g)), 2)}
    best = (-1.0, 0.0)
    for eps in sorted(cands):
        accs = []
        for lab in np.unique(groups):
            idx = np.flatnonzero(groups == lab)
            pairs = list(itertools.combinations(idx, 2))
            if not pairs:
                continue
            ok = 0
            for i, j in pairs:
                dm = m[i] - m[j]
                mt = dm == 0 if eps == 0 else abs(dm) <= eps
                gt = g[i] == g[j]
                ok += (gt and mt) or (not gt and not mt and np.sign(g[i] - g[j]) == np.sign(dm))
            accs.append(ok / len(pairs))
        if np.mean(accs) > best[0] + 1e-12:
            best = (float(np.mean(accs)), eps)
    return best


def brute_acc23(g, m, groups=None) -> float:
    """Tie-calibrated pairwise accuracy written out naively."""
    return brute_acc23_with_threshold(g, m, groups)[0]
