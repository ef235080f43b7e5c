"""Errors a user can act on. Each names the bad input and says how to fix it."""

from __future__ import annotations


class T2VError(Exception):
    """Base class of every error t2v raises on purpose."""


class UnknownModelError(T2VError, KeyError):
    """The model name is not registered by any installed plugin."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginNotInstalledError(T2VError, ModuleNotFoundError):
    """The model is a first-party one whose plugin distribution is not installed."""


class RegistrationError(T2VError, ValueError):
    """A plugin registered something invalid or clashing with another plugin."""


class MediaError(T2VError, ValueError):
    """A media item could not be used; the message names its index and what it was."""


class DatasetError(T2VError, ValueError):
    """A ``batch_forward`` dataset entry has the wrong shape; the message names the sample."""


class TemplateError(T2VError, ValueError):
    """A question or answer template is malformed."""


class TextError(T2VError, ValueError):
    """A text (or the ``texts`` argument itself) cannot be scored; the message names its index."""


class OptionError(T2VError, ValueError):
    """An option (``batch_size``, ``num_frames``, ``fps``, ...) has a value it cannot take; the message names it."""


class StoreError(T2VError, RuntimeError):
    """The score store cannot be opened or written (not a SQLite file, a folder, locked too long)."""


class ScoringError(T2VError, RuntimeError):
    """Some pairs failed to score; ``failures`` lists them and ``scores`` keeps what was computed."""

    def __init__(self, message: str, failures: list | None = None, scores=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(message)
        self.failures = failures or []
        self.scores = scores


class ScoreNoteWarning(UserWarning):
    """Some scores of a call are reported but are not exact values (see the scorer's ``notes``).

    Its own category, so that a caller that reports notes itself (``t2v bench``) or a user who has read
    them can silence it with ``warnings.filterwarnings("ignore", category=ScoreNoteWarning)``.
    """
