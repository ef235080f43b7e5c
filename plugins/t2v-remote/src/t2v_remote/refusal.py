"""The trust_remote_code refusal, light enough to run before a worker environment exists (no torch here)."""

from __future__ import annotations

from typing import Any

from t2v_core.errors import T2VError


class RemoteCodeRefusedError(T2VError, ValueError):
    """The model exists only as remote code and the user did not pass ``trust_remote_code=True``."""


def refusal(name: str, repo: str) -> RemoteCodeRefusedError:
    """The error for a remote-code model built without ``trust_remote_code=True``, saying why and how."""
    return RemoteCodeRefusedError(
        f"model {name!r} runs only through the Python code in its checkpoint repository ({repo}): transformers "
        "has no native class for it, so scoring it executes that code. If you trust it, pass "
        f"trust_remote_code=True, e.g. VQAScore(model={name!r}, trust_remote_code=True)")


def require_trust(spec: Any, options: dict[str, Any]) -> None:
    """The spec's preflight: refuse in the caller's process, before a worker environment is made."""
    if options.get("trust_remote_code") is not True:
        raise refusal(spec.name, str(options.get("checkpoint") or spec.weights[0]))
