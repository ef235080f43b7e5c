"""Captions longer than a text encoder's context are cut by the model; say so, once per call.

CLIP-style text encoders see a fixed number of tokens (77 for most CLIP models, 64 for SigLIP, 32 for some
BERT-based towers). Words past that limit do not affect the score, which silently favours long prompts'
first clauses. Every call that cuts a caption raises one :class:`CaptionTruncationWarning` that counts
the cut captions and says by how many tokens each was cut.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from types import FrameType

# frames in these packages are skipped so that the warning points at the user's call
_INTERNAL = ("t2v_core", "t2v_openclip", "torch", "contextlib", "functools")


class CaptionTruncationWarning(UserWarning):
    """Some captions were longer than the text encoder's context and were truncated."""


def truncation_message(model: str, lengths: Sequence[int], context: int, texts: Sequence[str],
                       shown: int = 5) -> str | None:
    """The warning text for captions whose token ``lengths`` exceed ``context``, or None if none do."""
    cut = [(j, n - context) for j, n in enumerate(lengths) if n > context]
    if not cut:
        return None
    worst = max(c for _, c in cut)
    parts = []
    for j, c in cut[:shown]:
        preview = texts[j] if len(texts[j]) <= 40 else texts[j][:37] + "..."
        parts.append(f"text {j} ({preview!r}) by {c}")
    more = f", and {len(cut) - shown} more" if len(cut) > shown else ""
    return (
        f"{len(cut)} of {len(lengths)} captions are longer than the {context}-token text context of model "
        f"{model!r} and were truncated by the model (by up to {worst} tokens: {'; '.join(parts)}{more}); "
        "the dropped words do not affect their scores. Shorten the captions, or use a VQAScore model for "
        "long prompts."
    )


def _user_frame() -> FrameType | None:
    """The innermost frame outside t2v and torch: the user's line that made the call."""
    frame = sys._getframe(1)
    while frame is not None and (frame.f_globals.get("__name__") or "").split(".")[0] in _INTERNAL:
        frame = frame.f_back  # type: ignore[assignment]
    return frame


def warn_truncation(model: str, lengths: Sequence[int], context: int, texts: Sequence[str]) -> int:
    """Warn (once per call) if any caption exceeds ``context`` tokens; returns the number of cut captions.

    The warning points at the user's line and is shown on every call, even under Python's default
    "once per location" filter (a fresh registry each time): a repeated warning must not vanish, since
    each call cuts different captions. "ignore" and "error" filters still apply.
    """
    msg = truncation_message(model, lengths, context, texts)
    if msg is None:
        return 0
    frame = _user_frame()
    if frame is None:  # pragma: no cover - always called from some frame
        warnings.warn(msg, CaptionTruncationWarning, stacklevel=2)
    else:
        # no module_globals: for `python -c`, `python -` and the REPL, __main__'s loader is BuiltinImporter and
        # linecache asking it for the source raises ImportError; the file name is enough to show the line
        warnings.warn_explicit(msg, CaptionTruncationWarning, frame.f_code.co_filename, frame.f_lineno,
                               module=frame.f_globals.get("__name__"), registry={})
    return sum(1 for n in lengths if n > context)
