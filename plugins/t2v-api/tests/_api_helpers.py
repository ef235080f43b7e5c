"""Helpers shared by this plugin's tests (a unique module name: plugin test folders share sys.path)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image as PILImage
from t2v_api.testing import FakeModelServer

import t2v_core

# keys shaped like real ones, so that redaction of key-like strings is exercised too
OPENAI_KEY = "sk-proj-SECRETsecret0123456789abcdef"
GEMINI_KEY = "AIzaSyFAKEsecretSECRET0123456789abcdef"
KEYS = (OPENAI_KEY, GEMINI_KEY)

PROTOCOLS = {"openai": "gpt-4o", "gemini": "gemini-2.5-flash"}


def build(server: FakeModelServer, protocol: str, model: str | None = None, **kw: Any) -> Any:
    """A VQAScore for ``protocol`` pointed at ``server``, loaded by name as a user would."""
    model = model or PROTOCOLS[protocol]
    url = server.openai_base_url if protocol == "openai" else server.url
    key = OPENAI_KEY if protocol == "openai" else GEMINI_KEY
    kw.setdefault("backoff_base", 0.01)
    return t2v_core.VQAScore(model=model, api_key=key, base_url=url, **kw)


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"))
