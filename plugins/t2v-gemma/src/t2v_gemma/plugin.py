"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

# the reference's (v3.1 gemma3_model.py, gemma4_model.py) default templates
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description); the Gemma 3 repos are gated on the hub
MODELS = {
    "gemma-3-4b-it": ("google/gemma-3-4b-it", "Gemma 3 4B instruction-tuned; gated repo: accept the licence and log in"),
    "gemma-3-12b-it": ("google/gemma-3-12b-it", "Gemma 3 12B instruction-tuned; gated repo: accept the licence and log in"),
    "gemma-3-27b-it": ("google/gemma-3-27b-it", "Gemma 3 27B instruction-tuned; gated repo: accept the licence and log in"),
}
# Gemma 4's instruction models as published (Apache-2.0): E2B, E4B, 12B (encoder-free), 26B-A4B (MoE), 31B
GEMMA4_MODELS = {
    "gemma-4-e2b-it": ("google/gemma-4-E2B-it", "Gemma 4 E2B instruction-tuned, thinking off"),
    "gemma-4-e4b-it": ("google/gemma-4-E4B-it", "Gemma 4 E4B instruction-tuned, thinking off"),
    "gemma-4-12b-it": ("google/gemma-4-12B-it", "Gemma 4 12B (encoder-free) instruction-tuned, thinking off"),
    "gemma-4-26b-a4b-it": ("google/gemma-4-26B-A4B-it", "Gemma 4 26B-A4B (MoE) instruction-tuned, thinking off"),
    "gemma-4-31b-it": ("google/gemma-4-31B-it", "Gemma 4 31B instruction-tuned, thinking off"),
}


@hookimpl
def register_scorers(register):
    note = "; videos as 10 timestamped frames"
    register_models(register, MODELS, scorer="t2v_gemma.scorer:GemmaScorer", question=QUESTION, answer=ANSWER, note=note)
    register_models(register, GEMMA4_MODELS, scorer="t2v_gemma.scorer:Gemma4Scorer", question=QUESTION, answer=ANSWER,
                    note=note)
