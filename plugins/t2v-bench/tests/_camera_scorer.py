"""camera-product: a toy VQA video scorer for the CameraBench tests (see _camera_helpers)."""

from __future__ import annotations

import zlib

import numpy as np
import torch

from t2v_core import ScorerSpec, hookimpl
from t2v_core.media import Image
from t2v_core.scorer import PairFailure, Scorer


class ProductScorer(Scorer):
    """1 - |b - CRC value of the filled question and answer|, b the video's brightness for the answer "Yes"
    and 1 - brightness for "No": not separable into a video part and a text part, so that the answers' and
    the questions' order depend on the video."""

    call_options = {"num_frames": 4}

    def score_pairs(self, media, texts, *, templates, num_frames=4):
        out = []
        for k, (m, t) in enumerate(zip(media, texts)):
            if "RAISE" in t:
                raise RuntimeError(f"cannot score {t!r}")
            q, a = templates.fill(t)
            frames = [m.image] if isinstance(m, Image) else m.sample(num_frames=num_frames).frames
            b = float(np.mean([np.asarray(f, dtype=np.float64).mean() / 255.0 for f in frames]))
            if a == "No":
                b = 1.0 - b
            value = 1.0 - abs(b - (zlib.crc32(f"{q}\x00{a}".encode()) % 1000) / 1000.0)
            if "NAN" in t:
                self.failures.append(PairFailure(k, k, f"server said no to {t!r}", kind="server"))
                value = float("nan")
            out.append(value)
        return torch.tensor(out, dtype=torch.float32)


@hookimpl
def register_scorers(register):
    register(ScorerSpec(name="camera-product", kind="vqa", scorer="_camera_scorer:ProductScorer",
                        media=("image", "video"), description="toy VQA scorer for the CameraBench tests"))
