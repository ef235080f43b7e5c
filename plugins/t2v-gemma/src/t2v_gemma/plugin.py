"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl

# the reference's (v3.1 gemma3_model.py) default templates
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description); all are gated on the hub
MODELS = {
    "gemma-3-4b-it": ("google/gemma-3-4b-it", "Gemma 3 4B instruction-tuned"),
    "gemma-3-12b-it": ("google/gemma-3-12b-it", "Gemma 3 12B instruction-tuned"),
    "gemma-3-27b-it": ("google/gemma-3-27b-it", "Gemma 3 27B instruction-tuned"),
}


@hookimpl
def register_scorers(register):
    for name, (repo, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_gemma.scorer:GemmaScorer",
            media=("image", "video"),
            weights=(repo,),
            question_template=QUESTION,
            answer_template=ANSWER,
            description=description + "; videos as 10 timestamped frames; gated repo: accept the licence and log in",
        ))
