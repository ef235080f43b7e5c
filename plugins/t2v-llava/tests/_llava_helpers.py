"""Helpers shared by this plugin's tests (a module name no other plugin's tests use).

``reference_vqascore`` is an independent re-implementation of the reference's computation (one plain forward of
the whole prompt per pair, labels and cross-entropy as the reference builds them), written against tensors the
test itself holds; the tiny-checkpoint builders write the original on-disk layouts of ShareGPT4V and LLaVA-1.6.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
LLAVA15 = "liuhaotian/llava-v1.5-7b"
CLIP = "openai/clip-vit-large-patch14-336"
SHARE4V = "Lin-Chen/ShareGPT4V-7B"
SHARE4V_TOWER = "Lin-Chen/ShareGPT4V-7B_Pretrained_vit-large336-l12"
LLAVA16 = "liuhaotian/llava-v1.6-vicuna-13b"
SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
          "helpful, detailed, and polite answers to the user's questions.")
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json")


def reference_image(name: str) -> Image.Image:
    """A golden image as the reference loaded it: ``Image.open(path).convert("RGB")`` (alpha dropped)."""
    return Image.open(GOLDEN / "images" / name).convert("RGB")


def snapshot(cache: Path, repo: str) -> Path:
    """The snapshot folder of ``repo`` in ``cache``."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    commit = (repo_dir / "refs" / "main").read_text().strip()
    return repo_dir / "snapshots" / commit


def _new_snapshot(cache: Path, repo: str) -> Path:
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    commit = (repo.replace("/", "") * 4)[:40].encode().hex()[:40]
    snap = repo_dir / "snapshots" / commit
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    snap.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    return snap


def _random_llava_state(cfg: dict, vision_width: int, seed: int, std: float = 0.15) -> dict[str, torch.Tensor]:
    """Random LLaMA + projector tensors with the original LLaVA key names."""
    g = torch.Generator().manual_seed(seed)
    h, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * std

    state = {"model.embed_tokens.weight": r(vocab, h), "model.norm.weight": 1 + r(h), "lm_head.weight": r(vocab, h)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        for n in ("q", "k", "v", "o"):
            state[p + f"self_attn.{n}_proj.weight"] = r(h, h)
        state[p + "mlp.gate_proj.weight"] = r(inter, h)
        state[p + "mlp.up_proj.weight"] = r(inter, h)
        state[p + "mlp.down_proj.weight"] = r(h, inter)
        state[p + "input_layernorm.weight"] = 1 + r(h)
        state[p + "post_attention_layernorm.weight"] = 1 + r(h)
    state["model.mm_projector.0.weight"] = r(h, vision_width)
    state["model.mm_projector.0.bias"] = r(h)
    state["model.mm_projector.2.weight"] = r(h, h)
    state["model.mm_projector.2.bias"] = r(h)
    return state


def _random_tower(seed: int) -> dict[str, torch.Tensor]:
    """A random CLIP-ViT (the fixture tower's shapes) with the published ``vision_model.*`` key names."""
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(seed)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                           image_size=56, patch_size=14, hidden_act="quick_gelu")
    model = CLIPVisionModel(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return {"vision_model." + k: v.clone() for k, v in model.state_dict().items() if "position_ids" not in k}


def _base_config(cache: Path) -> dict:
    return json.loads((snapshot(cache, LLAVA15) / "config.json").read_text())


def build_share4v(cache: Path, seed: int = 11) -> dict[str, dict[str, torch.Tensor]]:
    """Write ``Lin-Chen/ShareGPT4V-7B`` (``model_type: share4v``, pickled ``.bin``, no tower weights) and its
    separate tower repo into ``cache``; returns the tensors written (``lm`` and ``tower``)."""
    from safetensors.torch import save_file

    cfg = _base_config(cache)
    cfg.update(model_type="share4v", architectures=["Share4VLlamaForCausalLM"], mm_vision_tower=SHARE4V_TOWER)
    snap = _new_snapshot(cache, SHARE4V)
    for f in TOKENIZER_FILES:
        shutil.copy(snapshot(cache, LLAVA15) / f, snap / f)
    (snap / "config.json").write_text(json.dumps(cfg, indent=2))
    state = _random_llava_state(cfg, 32, seed)
    # buffers older transformers saved: the loader must account for them
    for i in range(cfg["num_hidden_layers"]):
        state[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = torch.zeros(cfg["hidden_size"] // 8)
    torch.save(state, snap / "pytorch_model.bin")
    tower = _random_tower(seed + 1)
    tsnap = _new_snapshot(cache, SHARE4V_TOWER)
    clip = snapshot(cache, CLIP)
    vision_cfg = json.loads((clip / "config.json").read_text())["vision_config"]
    vision_cfg.update(model_type="clip_vision_model", architectures=["CLIPVisionModel"], hidden_act="quick_gelu")
    (tsnap / "config.json").write_text(json.dumps(vision_cfg, indent=2))
    shutil.copy(clip / "preprocessor_config.json", tsnap / "preprocessor_config.json")
    save_file(tower, str(tsnap / "model.safetensors"), metadata={"format": "pt"})
    return {"lm": state, "tower": tower}


def build_llava16(cache: Path, seed: int = 21) -> dict[str, dict[str, torch.Tensor]]:
    """Write ``liuhaotian/llava-v1.6-vicuna-13b``: safetensors shards with an index, the AnyRes config, and the
    vision tower (``unfreeze_mm_vision_tower``) and ``image_newline`` inside the checkpoint."""
    from safetensors.torch import save_file

    cfg = _base_config(cache)
    cfg.update(image_aspect_ratio="anyres", image_grid_pinpoints=[[56, 112], [112, 56], [112, 112]],
               mm_patch_merge_type="spatial_unpad", unfreeze_mm_vision_tower=True, mm_vision_tower=CLIP,
               pad_token_id=0)
    snap = _new_snapshot(cache, LLAVA16)
    for f in TOKENIZER_FILES:
        shutil.copy(snapshot(cache, LLAVA15) / f, snap / f)
    (snap / "config.json").write_text(json.dumps(cfg, indent=2))
    state = _random_llava_state(cfg, 32, seed)
    tower = _random_tower(seed + 1)
    state.update({"model.vision_tower.vision_tower." + k: v for k, v in tower.items()})
    state["model.image_newline"] = torch.randn(cfg["hidden_size"], generator=torch.Generator().manual_seed(seed))
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[::2], "model-00002-of-00002.safetensors": keys[1::2]}
    weight_map = {}
    for name, ks in shards.items():
        save_file({k: state[k].contiguous() for k in ks}, str(snap / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in ks})
    (snap / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return {"lm": state, "tower": tower}


class ReferenceLlava:
    """The reference's LLaVA-1.5 computation, one pair at a time, on tensors given by the test: the whole
    prompt in one forward (``tokenizer_image_token`` ids, image features spliced in), labels masked up to the
    question part's length minus one, ``exp(-CrossEntropyLoss)``."""

    def __init__(self, cache: Path, repo: str, lm_state: dict[str, torch.Tensor],
                 tower_state: dict[str, torch.Tensor], tower_repo: str) -> None:
        from transformers import (
            AutoImageProcessor,
            AutoTokenizer,
            CLIPVisionConfig,
            CLIPVisionModel,
            LlamaConfig,
            LlamaForCausalLM,
        )

        cfg = json.loads((snapshot(cache, repo) / "config.json").read_text())
        self.tok = AutoTokenizer.from_pretrained(str(snapshot(cache, repo)))
        self.lm = LlamaForCausalLM(LlamaConfig(
            vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"], intermediate_size=cfg["intermediate_size"],
            num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=cfg["num_attention_heads"],
            num_key_value_heads=cfg["num_key_value_heads"], rms_norm_eps=cfg["rms_norm_eps"],
            tie_word_embeddings=False)).eval()
        self.lm.load_state_dict({k: v for k, v in lm_state.items()
                                 if not k.startswith(("model.mm_projector", "model.vision_tower", "model.image_"))
                                 and "inv_freq" not in k})
        vision_cfg = CLIPVisionConfig.from_pretrained(str(snapshot(cache, tower_repo)))
        self.tower = CLIPVisionModel(vision_cfg).eval()
        self.tower.load_state_dict({k[len("vision_model."):]: v for k, v in tower_state.items()}, strict=False)
        self.proj = [lm_state[f"model.mm_projector.{i}.{n}"] for i in (0, 2) for n in ("weight", "bias")]
        self.proc = AutoImageProcessor.from_pretrained(str(snapshot(cache, tower_repo)), backend="pil")

    def ids(self, prompt: str) -> list[int]:
        chunks = [self.tok(c).input_ids for c in prompt.split("<image>")]
        out = [chunks[0][0]] + chunks[0][1:]
        for c in chunks[1:]:
            out += [-200] + c[1:]
        return out

    @torch.no_grad()
    def __call__(self, image: Image.Image, question: str, answer: str) -> float:
        w, h = image.size
        side = max(w, h)
        canvas = Image.new("RGB", (side, side), tuple(int(x * 255) for x in self.proc.image_mean))
        canvas.paste(image, ((side - w) // 2, (side - h) // 2))
        return self.score_features(self.features([canvas])[0], question, answer)

    @torch.no_grad()
    def features(self, images: list[Image.Image]) -> torch.Tensor:
        """CLIP's second-to-last layer without CLS, through the projector, for already-sized tiles."""
        px = self.proc(images=images, return_tensors="pt")["pixel_values"]
        feats = self.tower(px, output_hidden_states=True).hidden_states[-2][:, 1:]
        w0, b0, w2, b2 = self.proj
        return torch.nn.functional.gelu(feats @ w0.T + b0) @ w2.T + b2

    @torch.no_grad()
    def score_features(self, feats: torch.Tensor, question: str, answer: str) -> float:
        """The reference's score given one image's ``(tokens, hidden)`` features."""
        feats = feats[None]
        q_part = SYSTEM + " USER: <image>\n" + question + " ASSISTANT: "
        ids = self.ids(q_part + answer + "</s>")
        labels = list(ids)
        for k in range(len(self.ids(q_part)) - 1):
            labels[k] = -100
        at = ids.index(-200)
        emb = self.lm.get_input_embeddings()
        x = torch.cat([emb(torch.tensor(ids[:at])), feats[0], emb(torch.tensor(ids[at + 1:]))])[None]
        lab = torch.tensor(labels[:at] + [-100] * feats.shape[1] + labels[at + 1:])
        logits = self.lm(inputs_embeds=x).logits[0]
        loss = torch.nn.functional.cross_entropy(logits[:-1], lab[1:], ignore_index=-100)
        return float(torch.exp(-loss))


def alias_repo(cache: Path, src: str, dst: str, **config_updates: object) -> Path:
    """Copy ``src``'s snapshot to repo id ``dst`` (e.g. the 13B name of a tiny 7B checkpoint), editing config.json."""
    snap = _new_snapshot(cache, dst)
    for f in snapshot(cache, src).iterdir():
        shutil.copy(f, snap / f.name)
    if config_updates:
        cfg = json.loads((snap / "config.json").read_text())
        cfg.update(config_updates)
        (snap / "config.json").write_text(json.dumps(cfg, indent=2))
    return snap
