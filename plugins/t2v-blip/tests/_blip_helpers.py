"""Helpers shared by this plugin's tests (a module name no other plugin's tests use)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
INSTRUCTBLIP_REPO = "Salesforce/instructblip-flan-t5-xl"
BLIP2_REPO = "Salesforce/blip2-itm-vit-g"
RTOL = 1e-4


def reference_image(name: str) -> Image.Image:
    """A golden image as the reference loaded it: ``Image.open(path).convert("RGB")`` (alpha dropped)."""
    return Image.open(GOLDEN / "images" / name).convert("RGB")


def golden(name: str) -> dict:
    """A golden file of the reference's scores."""
    return json.loads((GOLDEN / name).read_text())


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest relative difference."""
    return float(((a - b).abs() / b.abs()).max())


def snapshot(cache: Path, repo: str) -> Path:
    """The snapshot folder of ``repo`` in ``cache``."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    commit = (repo_dir / "refs" / "main").read_text().strip()
    return repo_dir / "snapshots" / commit


def copy_hub(dest: Path) -> Path:
    """A writable copy of the fixture's HF cache at ``dest``."""
    shutil.copytree(FIXTURES / "hub", dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest
