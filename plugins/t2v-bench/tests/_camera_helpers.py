"""Miniature CameraBench data in the reference's formats, and a second toy VQA scorer for it.

The example plugin's ``example-brightness`` score is additive (half brightness of the video, half a CRC of
the filled question and answer), which makes every Winoground-style and yes-versus-no comparison of a 2x2
item come out the same whatever the data; ``camera-product`` (registered by the ``camera_product``
fixture) is not separable into a video half and a text half, so that the VQA and retrieval metrics have something to
tell apart. It also fails on purpose: a question containing ``RAISE`` makes the scorer raise, one
containing ``NAN`` is reported as a failed pair.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from t2v_core.testing import write_video

QUESTION = "{} Please only answer Yes or No."

#: video -> grey level of each of its 4 frames (4 frames: num_frames=4 samples every frame)
VIDEOS = {"a.1.mp4": [20, 40, 60, 80], "b.2.mp4": [200, 180, 160, 140], "c.3.mp4": [100, 100, 120, 120],
          "d.4.mp4": [240, 10, 240, 10], "e.5.mp4": [70, 90, 110, 130]}

BINARY = {  # split -> rows (video, question, label)
    "Move_Down": [("a.1.mp4", "Does the camera move downward?", "Yes"),
                  ("b.2.mp4", "Does the camera move downward?", "No"),
                  ("c.3.mp4", "Does the camera move downward?", "Yes"),
                  ("d.4.mp4", "Does the camera move downward?", "No"),
                  ("e.5.mp4", "Does the camera move downward?", "Yes")],
    "Static": [("a.1.mp4", "Is the camera completely still?", "No"),
               ("b.2.mp4", "Is the camera completely still?", "Yes"),
               ("d.4.mp4", "Is the camera completely still?", "No")],
    "Zoom_In": [("c.3.mp4", "Does the camera zoom in?", "Yes"),  # one class only
                ("e.5.mp4", "Does the camera zoom in?", "Yes")],
}

PAIRS = {  # skill -> task -> rows (pos video, neg video, pos question, neg question, use *_question keys)
    "motion_direction": {
        "pan_left_vs_pan_right": [("a.1.mp4", "b.2.mp4", "Does the camera pan left?", "Does the camera pan right?", True),
                                  ("c.3.mp4", "d.4.mp4", "Does the camera pan left?", "Does the camera pan right?", True)],
        "tilt_up_vs_tilt_down": [("e.5.mp4", "a.1.mp4", "Does the camera tilt up?", "Does the camera tilt down?", True)],
    },
    "has_motion": {
        "has_zoom_in": [("b.2.mp4", "e.5.mp4", "Does the camera zoom in?", "Does the camera not zoom in?", False),
                        ("d.4.mp4", "c.3.mp4", "Is there zooming in?", "Is there no zooming in?", True)],
    },
}


def prompt_value(question: str, answer: str) -> float:
    """The CRC half of both toy scores, for the filled question and the answer."""
    return (zlib.crc32(f"{question}\x00{answer}".encode()) % 1000) / 1000.0


def brightness_of(video: str, videos_dir: Path) -> float:
    """Mean pixel value in [0, 1] of every frame of the video, decoded with PyAV directly."""
    import av

    with av.open(str(videos_dir / video)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 4
    return float(np.mean([f.astype(np.float64).mean() / 255.0 for f in frames]))


def example_score(video: str, question: str, answer: str, videos_dir: Path) -> float:
    """example-brightness on a video with the CameraBench question template."""
    return 0.5 * brightness_of(video, videos_dir) + 0.5 * prompt_value(QUESTION.format(question), answer)


def product_score(video: str, question: str, answer: str, videos_dir: Path) -> float:
    """camera-product: 1 - |b - the CRC value|, b = brightness ("Yes") or 1 - brightness ("No")."""
    b = brightness_of(video, videos_dir)
    return 1.0 - abs((b if answer == "Yes" else 1.0 - b) - prompt_value(QUESTION.format(question), answer))


def write_camerabench(data: Path, videos: dict[str, list[int]] | None = None) -> Path:
    """``data/`` as in camerabench/data of the reference, with tiny videos under ``data/videos``."""
    for name, levels in (VIDEOS if videos is None else videos).items():
        (data / "videos").mkdir(parents=True, exist_ok=True)
        write_video(data / "videos" / name, [np.full((16, 16, 3), v, np.uint8) for v in levels], fps=4)
    (data / "binary_classification").mkdir(parents=True, exist_ok=True)
    for split, rows in BINARY.items():
        with open(data / "binary_classification" / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for video, q, label in rows:
                f.write(json.dumps({"image": video, "question": q, "label": label, "task": split.replace("_", " "),
                                    "label_name": "cam_motion.x"}) + "\n")
    for skill, tasks in PAIRS.items():
        (data / "vqa_and_retrieval" / skill).mkdir(parents=True, exist_ok=True)
        for task, rows in tasks.items():
            with open(data / "vqa_and_retrieval" / skill / f"{task}.jsonl", "w", encoding="utf-8") as f:
                for pos, neg, pq, nq, with_questions in rows:
                    row = {"skill": skill.replace("_", " "), "task": task, "images": [pos, neg],
                           "texts": [pq.rstrip("?") + ".", nq.rstrip("?") + "."], "pos_video": pos,
                           "neg_video": neg, "pos_text": pq if not with_questions else pq.rstrip("?") + ".",
                           "neg_text": nq if not with_questions else nq.rstrip("?") + "."}
                    if with_questions:
                        row["pos_question"], row["neg_question"] = pq, nq
                    f.write(json.dumps(row) + "\n")
    return data


CAPTIONS = [  # caption_data.json: video, question, reference answer
    ("a.1.mp4", "The camera pans left slowly, steady."),
    ("b.2.mp4", "The camera remains fixed."),
    ("c.3.mp4", "video: describe the camera movement in this video"),  # the toy caption itself
]
CAPTION_QUESTION = "Describe the camera movement in this video."


def write_captions(data: Path) -> Path:
    """``caption_data.json`` in the reference's format."""
    rows = [{"video": v, "question": CAPTION_QUESTION, "answer": a} for v, a in CAPTIONS]
    (data / "caption_data.json").write_text(json.dumps(rows, indent=4), encoding="utf-8")
    return data


def pair_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Every VQA/retrieval row as (skill, task, pos video, neg video, pos question, neg question), in the
    order the benchmark reads them (skill folders and task files sorted by name)."""
    return [(s, t, p, n, pq, nq) for s in sorted(PAIRS) for t in sorted(PAIRS[s])
            for p, n, pq, nq, _ in PAIRS[s][t]]
