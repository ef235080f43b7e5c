"""``t2v bench generate``: GenAI-Bench images from a diffusers text-to-image pipeline (optional extra).

Written to ``<out>/<gen_model>/<prompt id>.jpeg``, the layout ``t2v bench run genai-bench-image --out``
reads; images already there are skipped, so an interrupted run resumes. Not tested with real diffusers
weights (the tests only check the install hint and the folder layout through a fake pipeline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_pipeline(gen_model: str, device: str | None = None, dtype: str = "fp16") -> Any:
    """Build a diffusers ``AutoPipelineForText2Image`` (imported here, so scoring never needs diffusers)."""
    try:
        import torch
        from diffusers import AutoPipelineForText2Image
    except ImportError as e:
        raise ModuleNotFoundError(
            "`t2v bench generate` needs diffusers: pip install 't2v-bench[generate]'") from e
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch_dtype = torch.float16 if dtype == "fp16" and dev != "cpu" else torch.float32
    pipe = AutoPipelineForText2Image.from_pretrained(gen_model, torch_dtype=torch_dtype)
    return pipe.to(dev)


def generate_images(pipe: Any, prompts: dict[str, str], folder: str | Path, *, steps: int = 50,
                    guidance: float = 9.0, seed: int = 42, negative_prompt: str | None = None,
                    progress: bool | None = None) -> list[Path]:
    """Generate one image per prompt id into ``folder/<id>.jpeg`` (existing files are kept); returns the
    paths written in this call."""
    import torch

    from t2v_core.progress import progress_bar

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, prompt in progress_bar(list(prompts.items()), enabled=progress, desc="generate", unit="image"):
        path = out / f"{key}.jpeg"
        if path.exists():
            continue
        # one seed per prompt, so that a resumed run makes the same images as an uninterrupted one
        gen = torch.Generator(device="cpu").manual_seed(seed + int(key) if key.isdigit() else seed)
        image = pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, generator=gen,
                     negative_prompt=negative_prompt).images[0]
        image.convert("RGB").save(path, format="JPEG", quality=95)
        written.append(path)
    return written
