"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

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
    register_models(register, MODELS, scorer="t2v_tarsier.scorer:TarsierScorer", question=QUESTION, answer=ANSWER,
                    media=("video",), note="; weights mapped onto the native Qwen2-VL class; videos (16 frames)")
