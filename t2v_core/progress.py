"""tqdm progress bars, shown only on a terminal unless asked for (``T2V_PROGRESS=0`` turns them off)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def enabled(flag: bool | None = None) -> bool:
    """Whether to draw a bar: the flag if given, else on when stderr is a TTY and T2V_PROGRESS is not 0."""
    if flag is not None:
        return flag
    if os.environ.get("T2V_PROGRESS", "").strip() in ("0", "false", "no", "off"):
        return False
    return sys.stderr.isatty()


def progress_bar(iterable: Iterable[Any], enabled: bool | None = None, **kwargs: Any) -> Iterable[Any]:
    """Wrap ``iterable`` in a tqdm bar when bars are enabled."""
    if not _enabled(enabled):
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
    if not _enabled(enabled):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, **kwargs)


_enabled = enabled
