"""A torchmetrics-style metric over any t2v scorer, for training and evaluation loops.

``T2VMetric`` has torchmetrics' ``Metric`` contract without depending on it: ``update(images, texts)`` scores
the aligned pairs ``(images[k], texts[k])`` and adds them to running states, ``compute()`` returns the mean
score over everything seen (on every rank: under ``torch.distributed`` the states are summed across ranks
first), ``reset()`` clears the states, and calling the metric updates it and returns the batch's mean.
Failed pairs (NaN from the scorer) are counted in ``failed`` and left out of the mean, never scored as 0.
"""

from __future__ import annotations

from typing import Any

import torch

from .frontend import Score, get_score_model
from .scorer import Scorer


class T2VMetric:
    """Mean VQAScore / CLIPScore / ITMScore of generated images against their prompts.

    Args:
        model: a model name (built with ``device``, ``dtype`` and ``**options``) or a built :class:`Score`.
        question_template / answer_template: for VQA models, as in a call.
        call_options: call options such as ``num_frames``.

    Example::

        metric = T2VMetric("clip-flant5-xxl")
        for prompts in loader:
            metric.update(generator(prompts), prompts)
        print(float(metric.compute()))
    """

    def __init__(self, model: str | Score, device: Any = None, dtype: Any = None, *,
                 question_template: str | None = None, answer_template: str | None = None,
                 call_options: dict[str, Any] | None = None, **options: Any) -> None:
        self.scorer = model if isinstance(model, Score) else get_score_model(model, device=device, dtype=dtype,
                                                                               **options)
        self.templates = self.scorer.model.templates(question_template, answer_template)
        self.call_options = self.scorer.model.resolve_options(**(call_options or {}))
        self.reset()

    def reset(self) -> None:
        """Clear the running states (sum of scores, number of scored and of failed pairs)."""
        self.score_sum = torch.zeros((), dtype=torch.float64)
        self.n = torch.zeros((), dtype=torch.int64)
        self.failed = torch.zeros((), dtype=torch.int64)

    @torch.no_grad()
    def _scores(self, images: Any, texts: Any) -> torch.Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if isinstance(images, torch.Tensor) and images.ndim == 4:
            images = list(images)  # a (B, C, H, W) batch, as a generator returns it
        media = self.scorer.model.load_media(images)
        if len(media) != len(texts):
            raise ValueError(f"Expected as many texts as images (pairs images[k], texts[k]), but got "
                             f"{len(media)} images and {len(texts)} texts")
        model = self.scorer.model
        model.failures, model.notes = [], []
        if type(model).score_pairs is not Scorer.score_pairs:
            out = model.score_pairs(media, texts, templates=self.templates, **self.call_options)
            out = out.detach().float().cpu().reshape(-1)
            failed = [f.media_index for f in model.failures]
        else:  # a family that scores whole M x N matrices (CLIP-style): encode once, keep the diagonal
            out = model.score(media, texts, templates=self.templates, **self.call_options)
            out = out.detach().float().cpu().diagonal().clone()
            failed = [f.media_index for f in model.failures if f.media_index == f.text_index]
        for k in failed:  # a failed pair must never count as a score
            out[k] = float("nan")
        return out

    def update(self, images: Any, texts: Any) -> None:
        """Score the aligned pairs ``(images[k], texts[k])`` and add them to the states."""
        s = self._scores(images, texts)
        ok = ~torch.isnan(s)
        self.score_sum += s[ok].double().sum()
        self.n += int(ok.sum())
        self.failed += int((~ok).sum())

    def forward(self, images: Any, texts: Any) -> torch.Tensor:
        """Update with this batch and return the batch's own mean score (this rank only)."""
        s = self._scores(images, texts)
        ok = ~torch.isnan(s)
        self.score_sum += s[ok].double().sum()
        self.n += int(ok.sum())
        self.failed += int((~ok).sum())
        return s[ok].mean() if ok.any() else torch.tensor(float("nan"))

    __call__ = forward

    def _synced(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        states = torch.stack([self.score_sum, self.n.double(), self.failed.double()])
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            backend = dist.get_backend()
            device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
            states = states.to(device)
            dist.all_reduce(states, op=dist.ReduceOp.SUM)
            states = states.cpu()
        return states[0], states[1], states[2]

    def compute(self) -> torch.Tensor:
        """The mean score over every pair seen since the last reset, on all ranks (NaN if none was scored)."""
        total, n, _ = self._synced()
        return (total / n).float() if n > 0 else torch.tensor(float("nan"))

    def compute_counts(self) -> dict[str, int]:
        """How many pairs were scored and failed, summed over ranks."""
        _, n, failed = self._synced()
        return {"scored": int(n), "failed": int(failed)}

    def __repr__(self) -> str:
        return f"T2VMetric({self.scorer!r}, scored={int(self.n)}, failed={int(self.failed)})"
