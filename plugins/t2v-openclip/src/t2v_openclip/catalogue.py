"""The static list of OpenCLIP pretrained models this plugin registers, read without importing open_clip.

``catalogue.json`` (beside this file) holds one entry per ``(architecture, pretrained tag)`` pair of
``open_clip.list_pretrained()``, with the Hugging Face repo its weights come from. Listing models reads only
this file, so ``t2v models`` stays free of torch and open_clip. A test compares it with the installed
open_clip; after upgrading open_clip, regenerate it with::

    python -m t2v_openclip.catalogue
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

CATALOGUE_FILE = "catalogue.json"


def model_name(architecture: str, pretrained: str) -> str:
    """The public name of an OpenCLIP model: ``"<pretrained>:<architecture>"`` (as t2v_metrics names it)."""
    return f"{pretrained}:{architecture}"


def load_catalogue() -> dict[str, Any]:
    """The packaged catalogue: ``{"open_clip_version": ..., "models": [{name, architecture, pretrained,
    hf_hub, filename, quick_gelu}, ...]}``."""
    text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def build_catalogue() -> dict[str, Any]:
    """The catalogue as the installed open_clip defines it (imports open_clip)."""
    import open_clip

    models = []
    for arch, tag in open_clip.list_pretrained():
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        hub = cfg.get("hf_hub", "") or ""
        # open_clip writes 'org/repo/' (its default file name) or 'org/repo/file.bin', split as open_clip does
        repo, filename = os.path.split(hub)
        models.append({
            "name": model_name(arch, tag),
            "architecture": arch,
            "pretrained": tag,
            "hf_hub": repo or None,
            "filename": filename or None,
            "url": cfg.get("url") or None,
            "quick_gelu": bool(cfg.get("quick_gelu", False)),
        })
    return {"open_clip_version": open_clip.__version__, "models": models}


def write_catalogue(path: str | Path | None = None) -> Path:
    """Regenerate ``catalogue.json`` from the installed open_clip; returns the path written."""
    target = Path(path) if path is not None else Path(__file__).with_name(CATALOGUE_FILE)
    target.write_text(json.dumps(build_catalogue(), indent=1) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write_catalogue()}")
