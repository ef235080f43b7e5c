"""Toy scorers with closed-form scores, so that every number in a test can be computed by hand."""

from __future__ import annotations

import os
import time
import zlib

import numpy as np
import torch

from t2v_core.media import Image
from t2v_core.scorer import PairNote, Scorer

#: a text containing this marker gets its score flagged as approximate (to exercise notes end to end)
APPROX_MARKER = "(approx)"


def _log_work(texts) -> None:
    """For the concurrency tests: ``T2V_EXAMPLE_LOG`` names a file that gets one line per pair computed, and
    ``T2V_EXAMPLE_DELAY`` seconds of sleep per pair make runs overlap."""
    delay = float(os.environ.get("T2V_EXAMPLE_DELAY") or 0)
    if delay:
        time.sleep(delay * len(texts))
    log = os.environ.get("T2V_EXAMPLE_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write("".join(f"{os.getpid()}\t{t}\n" for t in texts))


def brightness(img) -> float:
    """Mean pixel value in [0, 1]."""
    return float(np.asarray(img, dtype=np.float64).mean() / 255.0)


def prompt_value(question: str, answer: str) -> float:
    """A number in [0, 1) fixed by the filled question and answer."""
    return (zlib.crc32(f"{question}\x00{answer}".encode()) % 1000) / 1000.0


def example_score(img_or_frames, question: str, answer: str) -> float:
    """The score of the example VQA scorer: half brightness, half prompt value."""
    frames = img_or_frames if isinstance(img_or_frames, list) else [img_or_frames]
    b = float(np.mean([brightness(f) for f in frames]))
    return 0.5 * b + 0.5 * prompt_value(question, answer)


class BrightnessScorer(Scorer):
    """Scores pairs one batch at a time through the base class's pairwise default.

    A text containing ``(approx)`` gets a note of kind ``approximate`` (its score is unchanged), so that
    tests can follow notes through the front-end, the store and the CLI.
    """

    call_options = {"num_frames": 4}
    default_batch_size = 3

    def score_pairs(self, media, texts, *, templates, num_frames=4):
        _log_work(texts)
        out = []
        for k, (m, t) in enumerate(zip(media, texts)):
            q, a = templates.fill(t)
            pix = m.image if isinstance(m, Image) else m.sample(num_frames=num_frames).frames
            out.append(example_score(pix, q, a))
            if APPROX_MARKER in t:
                self.notes.append(PairNote(k, k, "approximate", f"the text asks for an approximate score: {t!r}",
                                           {"value": out[-1]}))
        return torch.tensor(out, dtype=torch.float32)

    def generate_media(self, media, prompts, **options):
        return [f"{m.image.size[0]}x{m.image.size[1]}: {p}" if isinstance(m, Image) else f"video: {p}"
                for m, p in zip(media, prompts)]


class ToyClipScorer(Scorer):
    """Encodes each image and text once and takes one matrix product, as a real CLIPScore does."""

    def score(self, media, texts, *, templates):
        img = torch.tensor([[float(np.asarray(m.image)[..., c].mean()) + 1.0 for c in range(3)] for m in media])
        txt = torch.tensor([[len(t) + 1.0, len(t.split()) + 1.0, t.count("e") + 1.0] for t in texts])
        img = img / img.norm(dim=-1, keepdim=True)
        txt = txt / txt.norm(dim=-1, keepdim=True)
        return (img @ txt.T).float()
