"""An independent, plain, unbatched VQAScore for InternVL, written the way the reference code does it.

Tiles with PIL + torchvision transforms (``T.Resize`` bicubic, ``ToTensor``, ``Normalize``), builds the prompt
string by hand, runs one ordinary forward pass of the model on one pair and reads P(first answer token).
Nothing here calls the plugin.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms.functional import InterpolationMode

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SYSTEM = "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。"
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'


def _transform(size: int) -> T.Compose:
    return T.Compose([T.Resize((size, size), interpolation=InterpolationMode.BICUBIC), T.ToTensor(),
                      T.Normalize(mean=MEAN, std=STD)])


def dynamic_preprocess(image: Image.Image, max_num: int = 12, image_size: int = 448) -> list[Image.Image]:
    w, h = image.size
    ratio = w / h
    targets = sorted({(i, j) for n in range(1, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
                      if 1 <= i * j <= max_num}, key=lambda x: x[0] * x[1])
    best, best_diff = (1, 1), float("inf")
    for r in targets:
        diff = abs(ratio - r[0] / r[1])
        if diff < best_diff:
            best, best_diff = r, diff
        elif diff == best_diff and w * h > 0.5 * image_size * image_size * r[0] * r[1]:
            best = r
    tw, th = image_size * best[0], image_size * best[1]
    resized = image.resize((tw, th))
    cols = tw // image_size
    tiles = [resized.crop(((i % cols) * image_size, (i // cols) * image_size, (i % cols + 1) * image_size,
                           (i // cols + 1) * image_size)) for i in range(best[0] * best[1])]
    if len(tiles) != 1:
        tiles.append(image.resize((image_size, image_size)))
    return tiles


def image_pixels(image: Image.Image, size: int, max_num: int = 12) -> torch.Tensor:
    t = _transform(size)
    return torch.stack([t(x) for x in dynamic_preprocess(image.convert("RGB"), max_num, size)])


def video_index(num_total: int, num_segments: int) -> list[int]:
    max_frame = num_total - 1
    seg = float(max_frame) / num_segments
    return [int(seg / 2 + np.round(seg * i)) for i in range(num_segments)]


def video_pixels(frames: list[Image.Image], size: int) -> torch.Tensor:
    t = _transform(size)
    return torch.stack([t(dynamic_preprocess(f.convert("RGB"), 1, size)[0]) for f in frames])


def image_tokens(n_tiles: int, per_tile: int) -> str:
    return "<img>" + "<IMG_CONTEXT>" * (per_tile * n_tiles) + "</img>"


def chatml_prompt(user: str, system: str | None = SYSTEM) -> str:
    head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    return head + f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def p_answer(logits: torch.Tensor, tokenizer, answer: str = "Yes") -> float:
    probs = torch.softmax(logits[0, -1].double(), dim=-1)
    return float(probs[tokenizer.encode(answer, add_special_tokens=False)[0]])


@torch.no_grad()
def native_score(model, tokenizer, pixels: torch.Tensor, user: str, system: str | None = SYSTEM,
                 answer: str = "Yes") -> float:
    """One plain forward pass of an ``InternVLForConditionalGeneration`` on one prompt."""
    enc = tokenizer(chatml_prompt(user, system), return_tensors="pt")
    out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
    return p_answer(out.logits, tokenizer, answer)


def image_user(n_tiles: int, per_tile: int, text: str) -> str:
    return image_tokens(n_tiles, per_tile) + "\n" + QUESTION.format(text)


def video_user(n_frames: int, per_tile: int, text: str) -> str:
    return "".join(f"Frame{i + 1}: {image_tokens(1, per_tile)}\n" for i in range(n_frames)) + QUESTION.format(text)
