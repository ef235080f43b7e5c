"""Helpers shared by this plugin's tests (a module name no other plugin's tests use)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
CHECKPOINT = "zhiqiulin/clip-flant5-xxl"
TOKENIZER = "google/flan-t5-xxl"
TOWER = "openai/clip-vit-large-patch14-336"


def reference_image(name: str) -> Image.Image:
    """A golden image as the reference loaded it: ``Image.open(path).convert("RGB")`` (alpha dropped)."""
    return Image.open(GOLDEN / "images" / name).convert("RGB")


def snapshot(cache: Path, repo: str) -> Path:
    """The snapshot folder of ``repo`` in ``cache``."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    commit = (repo_dir / "refs" / "main").read_text().strip()
    return repo_dir / "snapshots" / commit
