"""The scorer that stands in the parent process for a scorer running in a worker environment.

The front-end builds it instead of the plugin's class when the spec's ``requirements`` are not met here (or
``isolated=True``); see :mod:`t2v_core.workers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import media as media_mod
from .scorer import PairFailure, PairNote, Scorer
from .templates import Templates
from .workers import Worker, WorkerCrashedError, ensure_env, env_key, unsatisfied


class WorkerScorer(Scorer):
    """Forwards ``score_groups`` and ``generate_media`` to the plugin's scorer in its worker process."""

    def __init__(self, spec: Any, device: Any = None, dtype: Any = None, batch_size: int | None = None,
                 video_backend: str = "pyav", progress: bool | None = None, **options: Any) -> None:
        self._build_kwargs = {"device": device, "dtype": dtype, "batch_size": batch_size,
                              "video_backend": video_backend, "progress": progress, **options}
        self.worker: Worker | None = None
        super().__init__(spec, device=device, dtype=dtype, batch_size=batch_size, video_backend=video_backend,
                         progress=progress, **options)

    @classmethod
    def check_constructor_options(cls, spec: Any, options: dict[str, Any]) -> None:
        """Left to the plugin's scorer in the worker, which knows its options (its error comes back here)."""

    def load(self) -> None:
        """Make (or reuse) the environment, start the worker and build the real scorer there."""
        python = ensure_env(self.spec.requirements, self.spec.python)
        info = {"path": str(python.parent.parent), "key": env_key(self.spec.requirements, self.spec.python),
                "requirements": list(self.spec.requirements),
                "unsatisfied_here": unsatisfied(self.spec.requirements)}
        self.worker = Worker(python, info)
        self._start()

    def _start(self) -> None:
        assert self.worker is not None
        built = self.worker.call("build", self.spec.name, self._build_kwargs)
        self.call_options = built["call_options"]  # type: ignore[misc]
        self._remote_identity = built["identity"]
        self._remote_provenance = built["provenance"]
        self.weights_revision = built["weights_revision"]
        if self._build_kwargs.get("batch_size") is None:
            self.batch_size = built["batch_size"]

    def _call(self, op: str, *args: Any) -> Any:
        assert self.worker is not None
        if not self.worker.alive:  # the last worker died: a new one, with the scorer built again
            self._start()
        return self.worker.call(op, *args)

    def score_groups(self, groups: Sequence[tuple[Sequence[media_mod.Media], Sequence[str]]], *,
                     templates: Templates | None, **options: Any) -> list[torch.Tensor]:
        """Score in the worker; if it dies, every pair of the call fails (NaN) with the reason."""
        plain = [(list(m), list(t)) for m, t in groups]
        try:
            results, failures, notes = self._call("score_groups", plain, templates, options, self.batch_size)
        except WorkerCrashedError as e:
            self.failures, self.notes = [], []
            out = []
            for g, (m, t) in enumerate(plain):
                out.append(torch.full((len(m), len(t)), float("nan")))
                self.failures += [PairFailure(i, j, f"{e}; the next call starts a new worker", "worker_crash",
                                              group=g) for i in range(len(m)) for j in range(len(t))]
            return out
        self.failures = list(failures)
        self.notes = list(notes)
        return list(results)

    def score(self, media: Sequence[media_mod.Media], texts: Sequence[str], *, templates: Templates | None,
              **options: Any) -> torch.Tensor:
        """One group through :meth:`score_groups`."""
        return self.score_groups([(media, texts)], templates=templates, **options)[0]

    def score_pairs(self, media: Sequence[media_mod.Media], texts: Sequence[str], *, templates: Templates | None,
                    **options: Any) -> torch.Tensor:
        """Aligned pairs: one 1 x 1 group each, in one worker call."""
        results = self.score_groups([([m], [t]) for m, t in zip(media, texts)], templates=templates, **options)
        records: list[PairFailure | PairNote] = [*self.failures, *self.notes]
        for rec in records:
            rec.media_index = rec.text_index = rec.group
            rec.group = 0
        return torch.cat([r.reshape(-1) for r in results]) if results else torch.empty(0)

    def generate_media(self, media: Sequence[media_mod.Media], prompts: Sequence[str], **options: Any) -> list[str]:
        """Generation in the worker."""
        return list(self._call("generate", list(media), list(prompts), options))

    @property
    def identity(self) -> dict[str, Any]:
        """The worker scorer's identity: the same store keys as in-process scoring of the same model."""
        return dict(self._remote_identity)

    @property
    def provenance(self) -> dict[str, Any]:
        """The worker scorer's provenance, plus the worker environment it ran in."""
        assert self.worker is not None
        return {**self._remote_provenance, "worker_env": dict(self.worker.env_info)}

    def close(self) -> None:
        """Stop the worker process."""
        if self.worker is not None:
            self.worker.stop()

