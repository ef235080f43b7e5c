"""Registration only: imported at discovery, so it imports nothing heavy (no openai, no google-genai, no torch)."""

from __future__ import annotations

from t2v_core import ScorerSpec, hookimpl

from .models import ALIASES, GEMINI_MODELS, OPENAI_MODELS

QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"


@hookimpl
def register_scorers(register):  # type: ignore[no-untyped-def]
    for name in OPENAI_MODELS:
        register(ScorerSpec(
            name=name, kind="vqa", scorer="t2v_api.scorer:OpenAIScorer", media=("image", "video"),
            weights=(f"openai:{name}",), question_template=QUESTION, answer_template=ANSWER,
            options={"served_model": name},
            description=f"OpenAI {name} (hosted; needs OPENAI_API_KEY); P(Yes) from top log-probabilities",
        ))
    for name, info in GEMINI_MODELS.items():
        aliases = {a: note for a, (target, note) in ALIASES.items() if target == name}
        register(ScorerSpec(
            name=name, kind="vqa", scorer="t2v_api.scorer:GeminiScorer", media=("image", "video"),
            aliases=tuple(aliases), alias_notes=aliases,
            weights=(f"google:{name}",), question_template=QUESTION, answer_template=ANSWER,
            options={"served_model": name, "thinking_budget": info["thinking_budget"],
                     "max_output_tokens": info["max_output_tokens"]},
            description=f"Google {name} (hosted; needs GOOGLE_API_KEY or Vertex AI); P(Yes) from logprobs",
        ))
    register(ScorerSpec(
        name="openai-compatible", kind="vqa", scorer="t2v_api.scorer:OpenAIScorer", media=("image", "video"),
        question_template=QUESTION, answer_template=ANSWER,
        options={"compatible": True},
        description="Any OpenAI-compatible server (vLLM, ...) with logprobs: pass base_url= and served_model=",
    ))
