"""tqdm progress bars, shown only on a terminal unless asked for (``T2V_PROGRESS=0`` turns them off).

A run (``t2v score``, ``batch_forward``) draws ONE bar, opened with :func:`run_bar`; while it is open the
bars a scorer draws for its own batches are not drawn, so a run over 200 media groups shows one line,
not 200 finished bars.
"""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterable
from typing import Any

_run_active: contextvars.ContextVar[bool] = contextvars.ContextVar("t2v_run_bar", default=False)


def enabled(flag: bool | None = None) -> bool:
    """Whether to draw a bar: the flag if given, else on when stderr is a TTY and T2V_PROGRESS is not 0."""
    if flag is not None:
        return flag
    if os.environ.get("T2V_PROGRESS", "").strip() in ("0", "false", "no", "off"):
        return False
    return sys.stderr.isatty()


def progress_bar(iterable: Iterable[Any], enabled: bool | None = None, **kwargs: Any) -> Iterable[Any]:
    """Wrap ``iterable`` in a tqdm bar when bars are enabled."""
    if _run_active.get() or not _enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)  # type: ignore[no-any-return]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_counter(total: int, enabled: bool | None = None, **kwargs: Any) -> Any:
    """A bar advanced by hand (``update(n)``, ``close()``), or one that does nothing when bars are off."""
    if _run_active.get() or not _enabled(enabled):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, **kwargs)


class RunBar:
    """The one bar of a run: pairs done of the total, pairs/s, ETA and failures so far.

    It leaves nothing on the screen when it closes; the caller prints a one-line :meth:`summary`. Counts
    are kept even when the bar is not drawn, so the summary is the same on a terminal and in a log.
    """

    def __init__(self, total: int, desc: str, enabled: bool | None = None) -> None:
        self.total = total
        self.desc = desc
        self.done = self.failed = self.reused = self.noted = 0
        self._sums: dict[str, list[float]] = {}
        self.drawn = _enabled(enabled) and not _run_active.get()
        self._bar: Any = None
        if self.drawn:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="pair", leave=False,
                             postfix={"failed": 0})
        self._token: contextvars.Token[bool] | None = _run_active.set(True)

    def update(self, pairs: int, failed: int = 0, reused: int = 0, noted: int = 0,
               scores: dict[str, list[float]] | None = None) -> None:
        """Count ``pairs`` more done (``failed`` of them failed); ``scores`` are finite scores per model."""
        self.done += pairs
        self.failed += failed
        self.reused += reused
        self.noted += noted
        for model, values in (scores or {}).items():
            acc = self._sums.setdefault(model, [0.0, 0.0])
            acc[0] += sum(values)
            acc[1] += len(values)
        if self._bar is not None:
            if failed:
                self._bar.set_postfix({"failed": self.failed}, refresh=False)
            self._bar.update(pairs)

    def close(self) -> None:
        """Clear the bar (idempotent) and let inner bars draw again."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._token is not None:
            _run_active.reset(self._token)
            self._token = None

    def summary(self) -> str:
        """``model: 200 pairs: 150 scored, 40 reused from the store, 10 failed, 0 noted; mean score 0.41``."""
        scored = self.done - self.reused - self.failed
        means = "; ".join(f"mean score {m}={s / n:.4f}" if len(self._sums) > 1 else f"mean score {s / n:.4f}"
                          for m, (s, n) in self._sums.items() if n)
        return (f"{self.desc}: {self.done} pairs: {scored} scored, {self.reused} reused from the store, "
                f"{self.failed} failed, {self.noted} noted" + (f"; {means}" if means else ""))

    def __enter__(self) -> RunBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def run_bar(total: int, desc: str, enabled: bool | None = None) -> RunBar:
    """Open the run's one bar (see :class:`RunBar`); use it as a context manager."""
    return RunBar(total, desc, enabled)


_enabled = enabled
