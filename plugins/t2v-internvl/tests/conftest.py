"""Fixtures: tiny random InternVL checkpoints in a fake offline Hugging Face cache, under the real repo ids."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Remote code is imported from HF_MODULES_CACHE, which transformers fixes at import: point it at a scratch
# folder before anything imports transformers, so tests never write into the user's cache.
if "HF_MODULES_CACHE" not in os.environ:
    os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="t2v-internvl-modules-")
    atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], ignore_errors=True)
os.environ.setdefault("T2V_PROGRESS", "0")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from t2v_hf.pytest_fixtures import batched_as_on_gpu  # noqa: E402, F401  (autouse: batched paths under test)

from t2v_core.testing import make_fake_hf_cache, offline_hf_cache  # noqa: E402

NATIVE_REPOS = ("OpenGVLab/InternVL3-1B-hf", "OpenGVLab/InternVL3_5-1B-HF")
MAPPED_REPO = "OpenGVLab/InternVL2_5-1B"
REMOTE_REPO = "OpenGVLab/InternVL2-1B"


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build every tiny checkpoint once: native, original layout (mapped), and remote code."""
    from internvl_original_layout import write_original_layout
    from t2v_internvl.testing import build_internvl_hf
    from t2v_internvl.testing_remote import write_remote_repo

    root = tmp_path_factory.mktemp("internvl")
    native = build_internvl_hf(root / "native", seed=0)
    original = write_original_layout(native, root / "original")
    remote = write_remote_repo(root / "remote", native)
    hub = root / "hub"
    for repo in NATIVE_REPOS:
        make_fake_hf_cache(hub, repo, native)
    make_fake_hf_cache(hub, MAPPED_REPO, original)
    make_fake_hf_cache(hub, REMOTE_REPO, remote)
    return {"hub": hub, "native": native, "original": original, "remote": remote}


@pytest.fixture()
def offline_hub(checkpoints: dict[str, Path]) -> Iterator[Path]:
    """Point the Hugging Face libraries at the fake cache, offline, for one test."""
    with offline_hf_cache(checkpoints["hub"]) as hub:
        yield hub


@pytest.fixture(scope="session")
def scorer_cache() -> dict:
    """Scorers built once per session by name (building is the slow part of a test)."""
    return {}


@pytest.fixture()
def get_score(offline_hub: Path, scorer_cache: dict):
    """``get_score(name, **kwargs)``: a ``VQAScore`` for ``name`` loaded through the fake cache (memoised)."""
    import t2v_core

    def get(name: str, **kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in scorer_cache:
            scorer_cache[key] = t2v_core.VQAScore(model=name, device="cpu", **kwargs)
        return scorer_cache[key]

    return get
