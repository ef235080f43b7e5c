"""Shared fixtures: the committed tiny checkpoints laid out as the hub cache holds the published repos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from t2v_core.testing import make_fake_hf_cache, offline_hf_cache

# tiny models on a shared machine: one thread avoids thread-pool contention
torch.set_num_threads(1)

DATA = Path(__file__).parent / "data"
LB = DATA / "languagebind"
VIDEOS = sorted(str(p) for p in (DATA / "videos").glob("video*.mp4"))
#: which committed tiny checkpoint stands in for each repo (see data/README.md)
LB_LAYOUT = {
    "LanguageBind/LanguageBind_Video_V1.5_FT": "ft",
    "LanguageBind/LanguageBind_Video_FT": "ft",
    "LanguageBind/LanguageBind_Video_V1.5": "lora",
    "LanguageBind/LanguageBind_Video": "lora",
}


UMT = DATA / "umt"
#: repo id -> committed folder (the b16 vision pre-training repo is left out on purpose: nothing is read from it)
UMT_REPOS = {
    "zhiqiulin/umt_b16_25m": UMT / "umt_b16_25m",
    "zhiqiulin/umt_l16_25m": UMT / "umt_l16_25m",
    "bert-base-uncased": UMT / "bert-base-uncased",
    "bert-large-uncased": UMT / "bert-large-uncased",
}


IV2 = DATA / "internvideo2"


def lb_folder(dest: Path, variant: str) -> Path:
    """A checkpoint folder as the repos hold it: config, weights and the CLIP tokenizer files."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in (LB / variant).iterdir():
        shutil.copy2(f, dest / f.name)
    for f in (LB / "tokenizer").iterdir():
        shutil.copy2(f, dest / f.name)
    return dest


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake offline hub cache holding every repo this plugin loads, for the whole session."""
    root = tmp_path_factory.mktemp("hf")
    cache = root / "hub"
    for repo, variant in LB_LAYOUT.items():
        make_fake_hf_cache(cache, repo, lb_folder(root / "src" / repo.replace("/", "--"), variant))
    for repo, folder in UMT_REPOS.items():
        files = {f.name: f.read_bytes() for f in folder.iterdir() if not f.name.startswith("l16_ptk")}
        make_fake_hf_cache(cache, repo, files)
    make_fake_hf_cache(cache, "zhiqiulin/l16_ptk710_f8_res224",
                       {"l16_ptk710_f8_res224.pth": (UMT / "umt_l16_25m" / "l16_ptk710_f8_res224.pth").read_bytes()})
    make_fake_hf_cache(cache, "zhiqiulin/internvideo2_1b_stage2",
                       {"internvideo2_1b_stage2.pth": (IV2 / "internvideo2_1b_stage2.pth").read_bytes()})
    make_fake_hf_cache(cache, "google-bert/bert-large-uncased", IV2 / "bert-large-uncased")
    with offline_hf_cache(cache):
        yield cache


@pytest.fixture(scope="session")
def umt_golden() -> dict:
    """The reference's UMT CLIP and ITM scores on the committed checkpoints and videos."""
    return json.loads((UMT / "golden.json").read_text())


@pytest.fixture(scope="session")
def iv2_golden() -> dict:
    """The reference's InternVideo2 CLIP and ITM scores on the committed checkpoint and videos."""
    return json.loads((IV2 / "golden.json").read_text())


@pytest.fixture(scope="session")
def lb_golden() -> dict:
    """The reference's scores on the committed checkpoints and videos."""
    return json.loads((LB / "golden.json").read_text())


@pytest.fixture(autouse=True)
def _media_batched_as_on_gpu(monkeypatch):
    """several videos per tower forward on this CPU too (a CPU user's scorer takes one at a time)"""
    from t2v_videoclip import scorer

    monkeypatch.setattr(scorer, "CPU_MEDIA_BATCH", None)
