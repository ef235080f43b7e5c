"""Fixtures: a scratch modules cache for remote code (set before transformers is imported), plugin selection."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Remote code is imported from HF_MODULES_CACHE, which transformers fixes at import: point it at a scratch
# folder before anything imports transformers (the worker processes inherit it), so tests never write into
# the user's cache.
if "HF_MODULES_CACHE" not in os.environ:
    os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="t2v-remote-modules-")
    atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], ignore_errors=True)
os.environ.setdefault("T2V_PROGRESS", "0")
