"""What every fake remote-code repository of these tests shares: the toy config class, saving random weights
through the repo's own classes, and the fake offline hub the tests load them from."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from t2v_core.testing import make_fake_hf_cache, offline_hf_cache


def config_py(class_name: str, model_type: str, *fields: tuple[str, Any]) -> str:
    """The source of a remote configuration class: Qwen2's config plus ``fields`` (name, default)."""
    params = "".join(f"{name}={default!r}, " for name, default in fields)
    body = "".join(f"        self.{name} = {name}\n" for name, _ in fields)
    return (f"\nfrom transformers import Qwen2Config\n\n\nclass {class_name}(Qwen2Config):\n"
            f"    model_type = {model_type!r}\n\n    def __init__(self, {params}**kwargs):\n"
            f"        super().__init__(**kwargs)\n{body}")


def lm_config(vocab_size: int, **extra: Any) -> dict[str, Any]:
    """The toy Qwen2 language model every fake repo uses (width 32, 2 layers), plus ``extra`` keys."""
    return {"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
            "tie_word_embeddings": False, **extra}


def save_remote_repo(out: Path, files: dict[str, str], config: dict[str, Any], auto_class: str = "AutoModel",
                     seed: int = 0, scale: float = 0.3) -> Path:
    """Write the code ``files`` and ``config.json`` to ``out``, build the model through its remote classes with
    seeded random weights (N(0, scale^2)) and save it; ``config.json`` keeps the ``auto_map`` the hub repo has
    (``save_pretrained`` may rewrite it)."""
    import torch
    import transformers

    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    (out / "config.json").write_text(json.dumps(config, indent=1))
    cfg = transformers.AutoConfig.from_pretrained(out, trust_remote_code=True)
    torch.manual_seed(seed)
    model = getattr(transformers, auto_class).from_config(cfg, trust_remote_code=True)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    model.save_pretrained(out)
    saved = json.loads((out / "config.json").read_text())
    saved["auto_map"] = config["auto_map"]
    (out / "config.json").write_text(json.dumps(saved, indent=1))
    return out


def legacy_merges(folder: Path) -> None:
    """tokenizers < 0.20 (transformers <= 4.44) reads BPE merges only as "a b" strings: rewrite them so."""
    tj = json.loads((folder / "tokenizer.json").read_text())
    tj["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
    (folder / "tokenizer.json").write_text(json.dumps(tj))


@contextlib.contextmanager
def fake_hub(root: Path, repos: dict[str, Path]) -> Iterator[Path]:
    """Each folder under its repo id in a fake offline Hugging Face cache at ``root / "hub"``, for the block."""
    for repo, folder in repos.items():
        make_fake_hf_cache(root / "hub", repo, folder)
    with offline_hf_cache(root / "hub") as hub:
        yield hub
