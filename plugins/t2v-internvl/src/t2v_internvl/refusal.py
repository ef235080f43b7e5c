"""The trust_remote_code refusal, light enough to run before a worker environment exists (no torch here)."""

from __future__ import annotations

from typing import Any

from t2v_core.errors import T2VError


class RemoteCodeRequiredError(T2VError, ValueError):
    """The checkpoint runs only with its own Python code, which the user has not allowed."""


def remote_reason(name: str, why: str) -> str:
    """The refusal's text: why the model needs its remote code, and how to allow it."""
    return (f"model {name!r} runs only through OpenGVLab's remote code: {why}, so its weights cannot be mapped "
            "onto transformers' native InternVL classes. Running it executes Python files from the checkpoint's "
            "repository; if you trust them, pass trust_remote_code=True, e.g. "
            f"VQAScore(model={name!r}, trust_remote_code=True) (this also needs `pip install 't2v-internvl[remote]'`)")


def require_trust(spec: Any, options: dict[str, Any]) -> None:
    """The remote-only specs' preflight: refuse in the caller's process, before a worker environment is made."""
    if options.get("remote_only") and not options.get("trust_remote_code"):
        raise RemoteCodeRequiredError(remote_reason(
            spec.name, "its language model and conversation template are defined only in that code"))
