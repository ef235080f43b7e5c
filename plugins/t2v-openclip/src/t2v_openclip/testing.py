"""Tiny random-weight checkpoints laid out where the real loaders look, for tests and the benchmark.

Each ``install_*`` function builds a small model with the real open_clip / transformers classes and writes
it into a fake offline Hugging Face cache under the real repo id the production code downloads from
(``timm/vit_base_patch32_clip_224.openai``, ``xswu/HPSv2``, ``yuvalkirstain/PickScore_v1``, ...).

open_clip builds a named architecture from its config registry, so a tiny model is loaded *by its real name*
by swapping the registry entry (``open_clip.factory._MODEL_CONFIGS[arch]``) for a tiny config with the same
structure; :func:`use_tiny_config` does that and gives back a function that restores the original.
Nothing here downloads anything. Importing this module imports nothing heavy.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from t2v_core.testing import make_fake_hf_cache

#: a CLIP text tower the size of a toy, keeping the real vocabulary and context so open_clip's bundled
#: BPE tokenizer fits it
TINY_TEXT = {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}


def tiny_clip_config(image_size: int = 32, quick_gelu: bool = False) -> dict[str, Any]:
    """An open_clip CLIP config (ViT image tower + causal text tower) with a few thousand parameters."""
    cfg: dict[str, Any] = {
        "embed_dim": 24,
        "vision_cfg": {"image_size": image_size, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": dict(TINY_TEXT),
    }
    if quick_gelu:
        cfg["quick_gelu"] = True
    return cfg


def tiny_siglip_config(vocab_size: int, tokenizer_repo: str = "timm/ViT-B-16-SigLIP") -> dict[str, Any]:
    """A SigLIP-structured config: timm ViT with attention-pool (MAP) head, bidirectional text tower pooled
    at the last token, a learned logit bias, and a Hugging Face tokenizer read from ``tokenizer_repo``."""
    return {
        "embed_dim": 96,  # timm's test_vit3 width: with timm_proj 'none' the trunk's output is the embedding
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": {"image_size": 160, "timm_model_name": "test_vit3", "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {"context_length": 16, "vocab_size": vocab_size, "hf_tokenizer_name": tokenizer_repo,
                     "tokenizer_kwargs": {"clean": "canonicalize"}, "width": 32, "heads": 2, "layers": 2,
                     "no_causal_mask": True, "proj_bias": True, "pool_type": "last", "norm_kwargs": {"eps": 1e-6}},
    }


def use_tiny_config(arch: str, cfg: dict[str, Any]) -> Callable[[], None]:
    """Make open_clip build ``cfg`` for the built-in name ``arch``; returns a function that undoes it."""
    from open_clip import factory

    missing = object()
    old = factory._MODEL_CONFIGS.get(arch, missing)
    factory._MODEL_CONFIGS[arch] = copy.deepcopy(cfg)

    def restore() -> None:
        if old is missing:
            factory._MODEL_CONFIGS.pop(arch, None)
        else:
            factory._MODEL_CONFIGS[arch] = old

    return restore


def _spread(model: Any, seed: int, std: float = 0.2) -> None:
    """Re-draw weight matrices wider than the default init, so that embeddings (and scores) differ clearly
    from image to image and text to text."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2 and "logit" not in name:
                p.copy_(torch.randn(p.shape, generator=gen) * std)


def build_openclip_model(arch: str, seed: int = 0, quick_gelu: bool = False) -> Any:
    """A random-weight open_clip model of the (possibly tiny, see :func:`use_tiny_config`) config ``arch``."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    model = open_clip.create_model(arch, pretrained=None, force_quick_gelu=quick_gelu, device="cpu")
    _spread(model, seed)
    return model.eval()


def install_openclip_model(cache_dir: str | Path, arch: str, tag: str, seed: int = 0) -> Any:
    """Build a random model for ``arch`` (tiny if a tiny config is in place) and save it where open_clip
    downloads the weights of ``tag:arch`` from; returns the model (as the tag's quick_gelu setting builds it)."""
    import open_clip
    from safetensors.torch import save

    cfg = open_clip.get_pretrained_cfg(arch, tag)
    repo, filename = os.path.split(cfg["hf_hub"])
    quick_gelu = bool(cfg.get("quick_gelu")) and not open_clip.get_model_config(arch).get("quick_gelu", False)
    model = build_openclip_model(arch, seed=seed, quick_gelu=quick_gelu)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if filename:  # a named .bin/.pth file: open_clip reads it with torch.load
        import io

        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        files: dict[str, bytes | str] = {filename: buf.getvalue()}
    else:
        files = {"open_clip_model.safetensors": save(state)}
    make_fake_hf_cache(cache_dir, repo, files)
    return model


def install_hps(cache_dir: str | Path, filename: str = "HPS_v2_compressed.pt", seed: int = 0) -> Any:
    """Save a random ViT-H-14 (tiny if a tiny config is in place) as HPSv2's checkpoint file in the fake
    ``xswu/HPSv2`` repo, in HPSv2's format (``{"state_dict": ...}``); returns the model."""
    import io

    import torch

    model = build_openclip_model("ViT-H-14", seed=seed)
    buf = io.BytesIO()
    torch.save({"state_dict": model.state_dict()}, buf)
    make_fake_hf_cache(cache_dir, "xswu/HPSv2", {filename: buf.getvalue()})
    return model


def write_clip_bpe_tokenizer(folder: str | Path) -> Any:
    """The real CLIP BPE tokenizer (transformers ``CLIPTokenizer``), built offline from the vocabulary that
    ships with open_clip, saved in ``folder``; returns it."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    # from_pretrained reads vocab.json + merges.txt in transformers 4 and 5 alike (their constructors differ)
    tok = CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)
    tok.save_pretrained(str(folder))
    return tok


def install_pickscore(cache_dir: str | Path, seed: int = 0) -> tuple[Any, Any]:
    """A tiny transformers ``CLIPModel`` saved as ``yuvalkirstain/PickScore_v1`` and a CLIP processor saved as
    ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``; returns ``(model, processor)``."""
    import tempfile

    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    config = CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77, "projection_dim": 24},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8, "projection_dim": 24},
        projection_dim=24,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    _spread(model, seed)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, proc_dir = Path(tmp) / "model", Path(tmp) / "processor"
        model.save_pretrained(str(model_dir))
        make_fake_hf_cache(cache_dir, "yuvalkirstain/PickScore_v1", model_dir)
        tok = write_clip_bpe_tokenizer(proc_dir)
        image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        processor = CLIPProcessor(image_processor=image_processor, tokenizer=tok)
        processor.save_pretrained(str(proc_dir))
        config.save_pretrained(str(proc_dir))  # the real laion repo also holds a transformers CLIP config
        make_fake_hf_cache(cache_dir, "laion/CLIP-ViT-H-14-laion2B-s32B-b79K", proc_dir)
    return model, processor


def install_siglip_tokenizer(cache_dir: str | Path, repo: str = "timm/ViT-B-16-SigLIP") -> Any:
    """A small sentencepiece-style (Metaspace BPE) tokenizer that appends ``</s>`` like SigLIP's T5 tokenizer,
    saved in the fake ``repo``; returns it (a transformers fast tokenizer)."""
    import tempfile

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = ["a photo of a cat", "a red cube on a blue sphere", "two dogs playing in the snow",
              "an astronaut riding a horse on the moon", "the quick brown fox jumps over the lazy dog",
              "a bowl of fruit with apples, oranges and bananas", "zebra yacht quartz jigsaw vexing kumquat"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus * 5, trainers.BpeTrainer(vocab_size=200, special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        # timm's hub repos carry a timm config.json, and transformers 5's AutoTokenizer reads a config first
        (Path(tmp) / "config.json").write_text(json.dumps({"architecture": "vit_base_patch16_siglip_224",
                                                           "num_classes": 0}), encoding="utf-8")
        make_fake_hf_cache(cache_dir, repo, tmp)
    return fast
