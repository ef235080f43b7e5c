"""The hosted models this plugin registers, with list prices for cost estimates. Pure data: no imports.

Prices are USD per million input / output tokens (standard tier, text+image input, short prompts) as
published by OpenAI and Google in 2025; they only feed ``Usage.cost_usd``, an estimate. Pass
``price_per_mtok=(input, output)`` to override.
"""

from __future__ import annotations

import re
from typing import Any

#: OpenAI chat models with vision that return ``top_logprobs`` on chat completions
OPENAI_MODELS: dict[str, dict[str, Any]] = {
    "gpt-4-turbo": {"price": (10.0, 30.0)},
    "gpt-4o": {"price": (2.5, 10.0)},
    "gpt-4o-mini": {"price": (0.15, 0.6)},
    "gpt-4.1": {"price": (2.0, 8.0)},
    "gpt-4.1-mini": {"price": (0.4, 1.6)},
    "gpt-4.1-nano": {"price": (0.1, 0.4)},
}

#: Gemini models; ``thinking_budget`` 0 switches thinking off where the model allows it, so the first output
#: token is the answer. gemini-2.5-pro cannot switch it off: it thinks (at least 128 tokens) before answering.
GEMINI_MODELS: dict[str, dict[str, Any]] = {
    "gemini-1.5-pro": {"price": (1.25, 5.0), "thinking_budget": None, "max_output_tokens": 1},
    "gemini-1.5-flash": {"price": (0.075, 0.3), "thinking_budget": None, "max_output_tokens": 1},
    "gemini-2.0-flash": {"price": (0.1, 0.4), "thinking_budget": None, "max_output_tokens": 1},
    "gemini-2.0-flash-lite": {"price": (0.075, 0.3), "thinking_budget": None, "max_output_tokens": 1},
    "gemini-2.5-pro": {"price": (1.25, 10.0), "thinking_budget": 128, "max_output_tokens": 256},
    "gemini-2.5-flash": {"price": (0.3, 2.5), "thinking_budget": 0, "max_output_tokens": 1},
    "gemini-2.5-flash-lite": {"price": (0.1, 0.4), "thinking_budget": 0, "max_output_tokens": 1},
}


#: names the seed's tables use (dated previews) -> (the model they resolve to, why a user should know). Google
#: retired these previews; the name keeps working and `t2v models` shows the note.
ALIASES: dict[str, tuple[str, str]] = {
    "gemini-2.5-pro-preview-03-25": ("gemini-2.5-pro", "the 03-25 preview is retired; Google now serves the "
                                     "stable gemini-2.5-pro, so scores differ from those of the preview"),
    "gemini-2.5-pro-preview-05-06": ("gemini-2.5-pro", "the 05-06 preview is retired; Google now serves the "
                                     "stable gemini-2.5-pro"),
    "gemini-2.5-flash-preview-04-17": ("gemini-2.5-flash", "the 04-17 preview is retired; Google now serves the "
                                       "stable gemini-2.5-flash"),
}


def price_for(model: str) -> tuple[float, float] | None:
    """The list price of a model served by OpenAI or Google, or ``None`` when unknown.

    Dated snapshots and versioned names cost what their family does: ``gpt-4o-2024-08-06`` as ``gpt-4o``,
    ``gemini-1.5-flash-002`` as ``gemini-1.5-flash``.
    """
    base = re.sub(r"(-\d{4}-\d{2}-\d{2}|-\d{3}|-latest)$", "", model)
    for table in (OPENAI_MODELS, GEMINI_MODELS):
        if base in table:
            return tuple(table[base]["price"])  # type: ignore[return-value]
    return None
