"""Finding and loading a transformers checkpoint: hub id or local folder, offline-cache aware."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from t2v_core.errors import T2VError


class CheckpointNotFoundError(T2VError, OSError):
    """The weights are neither a local folder nor available from the Hugging Face cache or hub."""


def transformers_version() -> tuple[int, ...]:
    """The installed transformers version as a tuple of ints, e.g. ``(5, 24, 0)``."""
    import transformers

    parts = []
    for p in transformers.__version__.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def is_local(checkpoint: str) -> bool:
    """True when ``checkpoint`` names an existing folder (a ``save_pretrained`` output)."""
    return Path(checkpoint).expanduser().is_dir()


def hub_offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def cache_dir() -> str | None:
    """``HF_HUB_CACHE`` as set now (huggingface_hub reads it once, at import; we read it at each load)."""
    return os.environ.get("HF_HUB_CACHE") or None


def cached_revision(repo_id: str, revision: str | None = None) -> str | None:
    """The snapshot commit of ``repo_id`` in the local Hugging Face cache, or ``None`` if it is not cached."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings huggingface_hub
        return None
    path = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir(), revision=revision)
    if not isinstance(path, str):
        return None
    parts = Path(path).parts
    return parts[-2] if len(parts) >= 2 and parts[-3] == "snapshots" else None


def from_pretrained(cls: Any, checkpoint: str, *, revision: str | None = None, what: str = "model",
                    **kwargs: Any) -> Any:
    """``cls.from_pretrained(checkpoint)``, reading the local cache first so that a cached repo loads with no
    network call; a missing repo raises :class:`CheckpointNotFoundError` saying how to get it."""
    if is_local(checkpoint):
        return cls.from_pretrained(str(Path(checkpoint).expanduser()), **kwargs)
    if cache_dir():
        kwargs.setdefault("cache_dir", cache_dir())
    try:
        return cls.from_pretrained(checkpoint, revision=revision, local_files_only=True, **kwargs)
    except OSError as cached_error:
        if hub_offline():
            cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
            raise CheckpointNotFoundError(
                f"the {what} files of {checkpoint!r} are not in the Hugging Face cache ({cache}) and the hub is "
                f"offline (HF_HUB_OFFLINE=1). Download them once with `t2v download MODEL` (or `hf download "
                f"{checkpoint}`), or pass checkpoint=<a local folder>. ({cached_error})") from cached_error
    try:
        return cls.from_pretrained(checkpoint, revision=revision, **kwargs)
    except OSError as e:
        if _is_gated(e):
            raise CheckpointNotFoundError(
                f"{checkpoint!r} is a gated repo and access was refused: accept its licence on "
                f"https://huggingface.co/{checkpoint} with your account, then log in here (`hf auth login` "
                f"or HF_TOKEN=...) and retry. ({e})") from e
        raise CheckpointNotFoundError(
            f"could not load the {what} of {checkpoint!r}: {e}. Check the repo id (an 'org/name' on the Hugging "
            "Face hub) or pass checkpoint=<a local folder written by save_pretrained>") from e


def _is_gated(error: BaseException) -> bool:
    """Whether a loading error (or its cause) is the hub refusing a gated repo."""
    seen: BaseException | None = error
    while seen is not None:
        if type(seen).__name__ == "GatedRepoError" or "gated repo" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def weights_revision(checkpoint: str, revision: str | None = None) -> str | None:
    """Provenance of the weights: the snapshot commit for a hub id, the absolute path for a folder."""
    if is_local(checkpoint):
        return str(Path(checkpoint).expanduser().resolve())
    return cached_revision(checkpoint, revision) or revision
