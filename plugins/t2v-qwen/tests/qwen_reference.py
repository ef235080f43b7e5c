"""Independent computations for the tests: one prompt at a time, straight through processor and model.

Images go through qwen-vl-utils' ``fetch_image`` and videos through its ``fetch_video`` (decord reader): the
reference implementation's own preprocessing, not the plugin's.
"""

from __future__ import annotations

import torch
from PIL import Image


def load_plain(folder):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    return AutoProcessor.from_pretrained(str(folder)), AutoModelForImageTextToText.from_pretrained(str(folder)).eval()


def reference_image(path: str, patch: int = 14):
    from qwen_vl_utils import fetch_image

    return fetch_image({"image": Image.open(path).convert("RGB")}, image_patch_size=patch)


def reference_video(path: str, fps: float, patch: int = 14):
    """(frames tensor, metadata) as the reference sampled and resized them."""
    from qwen_vl_utils import fetch_video

    video, meta = fetch_video({"video": path, "max_pixels": 360 * 420, "fps": fps}, image_patch_size=patch,
                              return_video_metadata=True)
    return video, {k: meta[k] for k in ("fps", "total_num_frames", "frames_indices")}


def plain_score(processor, model, question: str, answer: str, image=None, video=None, metadata=None,
                second_per_grid_ts: float | None = 1.0) -> float:
    """P(first answer token) after the chat-templated prompt, as the reference read it: the softmax of
    ``generate(max_new_tokens=1, do_sample=False, output_scores=True)``'s first scores (the logits after the
    checkpoint's generation-config processors), one unbatched prompt."""
    kind = "image" if image is not None else "video"
    msgs = [{"role": "user", "content": [{"type": kind}, {"type": "text", "text": question}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    if image is not None:
        inputs = processor(text=[prompt], images=[image], return_tensors="pt")
    else:
        inputs = processor(text=[prompt], videos=[video], video_metadata=[metadata], do_sample_frames=False,
                           cap_pixels_per_frame=False, return_tensors="pt")
        if "second_per_grid_ts" in inputs and second_per_grid_ts is not None:
            inputs["second_per_grid_ts"] = torch.tensor([second_per_grid_ts])
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                             return_dict_in_generate=True)
    logits = out.scores[0][0].double()
    token = processor.tokenizer(answer, add_special_tokens=False).input_ids[0]
    return float(logits.softmax(-1)[token])
