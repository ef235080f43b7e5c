"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl

# the reference's defaults (t2v_metrics 880a5b8, tarsier_model.py)
QUESTION = 'Does this video show "{}"? Answer the question with Yes or No.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description)
MODELS = {
    "tarsier2-7b": ("omni-research/Tarsier2-7b-0115", "Tarsier2 7B (0115), Qwen2-VL-7B based video model"),
    "tarsier-recap-7b": ("omni-research/Tarsier2-Recap-7b", "Tarsier2-Recap 7B, Qwen2-VL-7B based video captioner"),
}


@hookimpl
def register_scorers(register):
    for name, (repo, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_tarsier.scorer:TarsierScorer",
            media=("video",),
            weights=(repo,),
            question_template=QUESTION,
            answer_template=ANSWER,
            description=description + "; weights mapped onto the native Qwen2-VL class; videos (16 frames)",
        ))
