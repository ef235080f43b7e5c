"""The example plugin's closed-form score, computed wherever tqdm 4.65.0 is importable."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import torch

from t2v_core.media import Image
from t2v_core.scorer import Scorer

#: a text "(slow:PATH)" writes PATH and sleeps, so that a test can kill the worker in the middle of a call
SLOW = re.compile(r"\(slow:([^)]+)\)")


class PinnedScorer(Scorer):
    """Half mean brightness, half a hash of the prompt (as ``t2v_example``); records the tqdm it runs with."""

    call_options = {"num_frames": 4}
    default_batch_size = 4

    def load(self) -> None:
        import tqdm

        self.options["tqdm_version"] = tqdm.__version__  # lands in provenance: where did this run?
        self.runtime_options = self.runtime_options | {"tqdm_version"}

    def score_pairs(self, media, texts, *, templates, num_frames=4):
        from t2v_example.scorer import example_score

        out = []
        for m, t in zip(media, texts):
            slow = SLOW.search(t)
            if slow and not os.path.exists(slow.group(1)):  # once: a rerun goes through
                with open(slow.group(1), "w") as fh:
                    fh.write(str(os.getpid()))
                time.sleep(60)
            q, a = templates.fill(t)
            pix = m.image if isinstance(m, Image) else m.sample(num_frames=num_frames).frames
            out.append(example_score(pix, q, a))
        return torch.tensor(np.array(out), dtype=torch.float32)
