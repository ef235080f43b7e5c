"""Registration of the InternVL model names. Imported at plugin discovery: imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from t2v_core import ScorerSpec, hookimpl

SCORER = "t2v_internvl.scorer:InternVLScorer"
# The reference's InternVL question (note "Yes or No", capitalised as in its InternVL code).
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
ANSWER = "Yes"
SYSTEM_25 = ("你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
             "多模态大语言模型。")

# name -> (repo, how it loads, description). "hf": native transformers checkpoint; "mapped": OpenGVLab's own
# layout, renamed onto the native classes at load time (no remote code); "remote": runs the repo's own code and
# so needs trust_remote_code=True.
CATALOGUE: dict[str, tuple[str, str, str]] = {
    # InternVL2: language models InternLM2 / Phi-3 / Qwen2 / Yi / Llama-3 behind their own conversation
    # templates; only the remote code defines them.
    "internvl2-1b": ("OpenGVLab/InternVL2-1B", "remote", "InternVL2 1B (InternViT-300M + Qwen2-0.5B)"),
    "internvl2-2b": ("OpenGVLab/InternVL2-2B", "remote", "InternVL2 2B (InternViT-300M + InternLM2-1.8B)"),
    "internvl2-4b": ("OpenGVLab/InternVL2-4B", "remote", "InternVL2 4B (InternViT-300M + Phi-3-mini)"),
    "internvl2-8b": ("OpenGVLab/InternVL2-8B", "remote", "InternVL2 8B (InternViT-300M + InternLM2.5-7B)"),
    "internvl2-26b": ("OpenGVLab/InternVL2-26B", "remote", "InternVL2 26B (InternViT-6B + InternLM2-20B)"),
    "internvl2-40b": ("OpenGVLab/InternVL2-40B", "remote", "InternVL2 40B (InternViT-6B + Nous-Hermes-2-Yi-34B)"),
    "internvl2-llama3-76b": ("OpenGVLab/InternVL2-Llama3-76B", "remote",
                             "InternVL2 76B (InternViT-6B + Hermes-2-Theta-Llama-3-70B)"),
    # InternVL2.5: Qwen2.5-based sizes map onto the native classes; InternLM2.5-based ones need remote code.
    "internvl2.5-1b": ("OpenGVLab/InternVL2_5-1B", "mapped", "InternVL2.5 1B (InternViT-300M + Qwen2.5-0.5B)"),
    "internvl2.5-2b": ("OpenGVLab/InternVL2_5-2B", "remote", "InternVL2.5 2B (InternViT-300M + InternLM2.5-1.8B)"),
    "internvl2.5-4b": ("OpenGVLab/InternVL2_5-4B", "mapped", "InternVL2.5 4B (InternViT-300M + Qwen2.5-3B)"),
    "internvl2.5-8b": ("OpenGVLab/InternVL2_5-8B", "remote", "InternVL2.5 8B (InternViT-300M + InternLM2.5-7B)"),
    "internvl2.5-26b": ("OpenGVLab/InternVL2_5-26B", "remote", "InternVL2.5 26B (InternViT-6B + InternLM2.5-20B)"),
    "internvl2.5-38b": ("OpenGVLab/InternVL2_5-38B", "mapped", "InternVL2.5 38B (InternViT-6B + Qwen2.5-32B)"),
    "internvl2.5-78b": ("OpenGVLab/InternVL2_5-78B", "mapped", "InternVL2.5 78B (InternViT-6B + Qwen2.5-72B)"),
    # The two InternVL2.5 MPO checkpoints OpenGVLab converted to the native layout.
    "internvl2.5-2b-mpo": ("OpenGVLab/InternVL2_5-2B-MPO-hf", "hf", "InternVL2.5 2B MPO (native checkpoint)"),
    "internvl2.5-8b-mpo": ("OpenGVLab/InternVL2_5-8B-MPO-hf", "hf", "InternVL2.5 8B MPO (native checkpoint)"),
    # InternVL3: every size has a native -hf checkpoint (same weights as the original repos).
    "internvl3-1b": ("OpenGVLab/InternVL3-1B-hf", "hf", "InternVL3 1B (InternViT-300M + Qwen2.5-0.5B)"),
    "internvl3-2b": ("OpenGVLab/InternVL3-2B-hf", "hf", "InternVL3 2B (InternViT-300M + Qwen2.5-1.5B)"),
    "internvl3-8b": ("OpenGVLab/InternVL3-8B-hf", "hf", "InternVL3 8B (InternViT-300M + Qwen2.5-7B)"),
    "internvl3-9b": ("OpenGVLab/InternVL3-9B-hf", "hf", "InternVL3 9B (InternViT-300M + InternLM3-8B)"),
    "internvl3-14b": ("OpenGVLab/InternVL3-14B-hf", "hf", "InternVL3 14B (InternViT-300M + Qwen2.5-14B)"),
    "internvl3-38b": ("OpenGVLab/InternVL3-38B-hf", "hf", "InternVL3 38B (InternViT-6B + Qwen2.5-32B)"),
    "internvl3-78b": ("OpenGVLab/InternVL3-78B-hf", "hf", "InternVL3 78B (InternViT-6B + Qwen2.5-72B)"),
    # InternVL3.5: native -HF checkpoints (Qwen3, Qwen3-MoE and GPT-OSS language models).
    "internvl3.5-1b": ("OpenGVLab/InternVL3_5-1B-HF", "hf", "InternVL3.5 1B (InternViT-300M + Qwen3-0.6B)"),
    "internvl3.5-2b": ("OpenGVLab/InternVL3_5-2B-HF", "hf", "InternVL3.5 2B (InternViT-300M + Qwen3-1.7B)"),
    "internvl3.5-4b": ("OpenGVLab/InternVL3_5-4B-HF", "hf", "InternVL3.5 4B (InternViT-300M + Qwen3-4B)"),
    "internvl3.5-8b": ("OpenGVLab/InternVL3_5-8B-HF", "hf", "InternVL3.5 8B (InternViT-300M + Qwen3-8B)"),
    "internvl3.5-14b": ("OpenGVLab/InternVL3_5-14B-HF", "hf", "InternVL3.5 14B (InternViT-300M + Qwen3-14B)"),
    "internvl3.5-38b": ("OpenGVLab/InternVL3_5-38B-HF", "hf", "InternVL3.5 38B (InternViT-6B + Qwen3-32B)"),
    "internvl3.5-30b-a3b": ("OpenGVLab/InternVL3_5-30B-A3B-HF", "hf",
                            "InternVL3.5 30B-A3B (InternViT-300M + Qwen3-30B-A3B MoE)"),
    "internvl3.5-241b-a28b": ("OpenGVLab/InternVL3_5-241B-A28B-HF", "hf",
                              "InternVL3.5 241B-A28B (InternViT-6B + Qwen3-235B-A22B MoE)"),
    "internvl3.5-gpt-oss-20b-a4b": ("OpenGVLab/InternVL3_5-GPT-OSS-20B-A4B-Preview-HF", "hf",
                                    "InternVL3.5 GPT-OSS 20B-A4B preview (InternViT-300M + gpt-oss-20b)"),
}


#: What the remote code of InternVL2 and InternVL2.5-on-InternLM2.5 needs: the transformers of its era (before
#: 4.50 dropped ``generate`` from remote models that do not inherit GenerationMixin, as InternLM2ForCausalLM)
#: and what its files import (timm, einops; sentencepiece for InternLM2's slow tokenizer). On transformers 5
#: (this plugin's own pin) these models run in a cached worker environment with these pins (t2v_core.workers);
#: an environment that meets them scores in-process. Not verified against the real repositories here.
REMOTE_REQUIREMENTS = ("transformers==4.45.2", "timm", "einops", "sentencepiece")


def _aliases(name: str) -> tuple[str, ...]:
    # OpenGVLab spells versions with underscores ("InternVL2_5-8B"); accept that spelling too.
    alt = name.replace("internvl2.5", "internvl2_5").replace("internvl3.5", "internvl3_5")
    return (alt,) if alt != name else ()


def specs() -> list[ScorerSpec]:
    """One spec per InternVL model name."""
    out = []
    for name, (repo, how, desc) in CATALOGUE.items():
        options: dict[str, Any] = {"remote_only": how == "remote"}
        # InternVL2's system messages differ per size; the remote code knows its own (None = the model's).
        options["system_prompt"] = None if name.startswith("internvl2-") else SYSTEM_25
        suffix = {"remote": " [needs trust_remote_code=True; on transformers 5 runs in a pinned worker environment]", "mapped": " [original weights mapped to native]",
                  "hf": ""}[how]
        out.append(ScorerSpec(name=name, kind="vqa", scorer=SCORER, media=("image", "video"), weights=(repo,),
                              aliases=_aliases(name), question_template=QUESTION, answer_template=ANSWER,
                              options=options, description=desc + suffix,
                              requirements=REMOTE_REQUIREMENTS if how == "remote" else (),
                              preflight="t2v_internvl.refusal:require_trust" if how == "remote" else None))
    return out


@hookimpl
def register_scorers(register: Callable[[Any], None]) -> None:
    """Register every InternVL model name."""
    for spec in specs():
        register(spec)
