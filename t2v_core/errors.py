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


class WeightsNotFoundError(T2VError, OSError):
    """A model's weights are neither on this machine nor downloadable now (offline, no network, or not yet
    downloaded). ``model`` and ``repo`` name what is missing; the message says how to get it."""

    def __init__(self, model: str, repo: str | None, offline: bool | None = None) -> None:
        super().__init__(weights_missing_message(model, repo, offline))
        self.model = model
        self.repo = repo


def weights_missing_message(model: str, repo: str | None, offline: bool | None = None) -> str:
    """One line for every family: which model, which repo, and the two commands that fetch it."""
    why = ("the hub is offline (HF_HUB_OFFLINE=1)" if offline else
           "it could not be downloaded (no network, or the hub did not answer)")
    hub = ""
    if repo:
        parts = repo.split("/")
        hub = f" (or `hf download {'/'.join(parts[:2])}{' ' + '/'.join(parts[2:]) if len(parts) > 2 else ''}`)"
    return (f"model {model!r} needs {repo or 'its weights'!r}, which is not in the Hugging Face cache, and {why}: run "
            f"`t2v download {model}`{hub} on a machine with network, then try again")


#: exception class names (from huggingface_hub, transformers, requests, httpx) that mean "files not here and not
#: downloadable now"; matched by name so that this module imports none of those libraries
_MISSING_TYPES = frozenset({"LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectError", "ConnectTimeout",
                            "ConnectionError", "CheckpointNotFoundError"})
_MISSING_TEXT = ("couldn't connect to", "cannot find the requested files in the local cache",
                 "not in the hugging face cache", "outgoing traffic has been disabled", "failed to resolve",
                 "offline mode is enabled", "max retries exceeded", "temporary failure in name resolution")


def missing_weights_repo(error: BaseException, candidates: tuple[str, ...]) -> tuple[bool, str | None]:
    """Whether ``error`` (or an error it came from) says that weights are missing and could not be fetched,
    and which of ``candidates`` (repo ids) it names (the first candidate when it names none)."""
    chain: list[BaseException] = []
    e: BaseException | None = error
    while e is not None and e not in chain and len(chain) < 20:
        chain.append(e)
        e = e.__cause__ or e.__context__
    missing = any(type(x).__name__ in _MISSING_TYPES or any(t in str(x).lower() for t in _MISSING_TEXT)
                  for x in chain)
    if not missing:
        return False, None
    text = " ".join(str(x) for x in chain)
    named = [c for c in candidates if c and (c in text or "/".join(c.split("/")[:2]) in text)]
    found = named or [c for c in candidates if c]
    return True, found[0] if found else None
