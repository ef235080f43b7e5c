"""Encode each media item once per call in families that score whole prompts (no prefix reuse).

A family whose media prefix cannot be cached (PaliGemma's prefix-LM attention makes the image's keys and values
depend on the question) still encodes the media the same way for every text: the vision tower and projector
see only the pixels. :class:`MediaFeatureMemo` wraps the loaded model's ``get_image_features`` (the method
through which most transformers image-text-to-text models, PaliGemma and Qwen among them, merge media on 4.49
and 5.x; a model without one, such as Mllama, is left alone) so that, while a key is set, the first call
computes the features and later calls under the same key return them. The wrapper is installed
once at load time and is thread-local: a thread that set no key, and every other path, goes straight
through.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MediaFeatureMemo"]


class MediaFeatureMemo:
    """Per-key memo of a model's ``get_image_features`` (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        self._local = threading.local()
        self.owners = []
        # the outer model delegates to the inner one in 5.x; the inner one's forward calls its own method, the
        # outer one's in 4.x: wrap both, the nested call passes through
        for owner in (model, getattr(model, "model", None)):
            fn = getattr(owner, "get_image_features", None)
            if owner is None or not callable(fn) or getattr(fn, "_t2v_memo", False):
                continue
            owner.get_image_features = self._wrap(fn)
            self.owners.append(owner)
        #: how many times the wrapped method really ran (tests read it)
        self.computed = 0

    @property
    def installed(self) -> bool:
        """Whether the model had a ``get_image_features`` to wrap."""
        return bool(self.owners)

    def _state(self) -> Any:
        local = self._local
        if not hasattr(local, "key"):
            local.key, local.busy, local.store = None, False, {}
        return local

    def _wrap(self, original: Any) -> Any:
        # the original's signature stays visible (generate reads it to pick the pixel arguments)
        @functools.wraps(original)
        def memo(*args: Any, **kwargs: Any) -> Any:
            state = self._state()
            if state.key is None or state.busy:
                return original(*args, **kwargs)
            if state.key not in state.store:
                state.busy = True
                try:
                    state.store[state.key] = original(*args, **kwargs)
                    self.computed += 1
                finally:
                    state.busy = False
            return state.store[state.key]

        memo._t2v_memo = True  # type: ignore[attr-defined]
        return memo

    @contextmanager
    def using(self, key: Hashable) -> Iterator[None]:
        """Within the block, ``get_image_features`` calls are memoised under ``key``: the caller promises the
        same pixels for the same key."""
        state = self._state()
        state.key = key
        try:
            yield
        finally:
            state.key = None

    def release(self, key: Hashable) -> None:
        """Forget ``key``'s features (its last pair is scored)."""
        self._state().store.pop(key, None)

    def clear(self) -> None:
        """Forget every key of this thread (end of a call, or an error inside it)."""
        self._state().store.clear()
