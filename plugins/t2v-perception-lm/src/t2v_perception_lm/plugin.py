"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

# the reference's (880a5b8 perceptionlm_model.py) default templates
QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'
ANSWER = "Yes"

MODELS = {
    "perception-lm-1b": ("facebook/Perception-LM-1B", "Perception-LM 1B"),
    "perception-lm-3b": ("facebook/Perception-LM-3B", "Perception-LM 3B"),
    "perception-lm-8b": ("facebook/Perception-LM-8B", "Perception-LM 8B"),
}


@hookimpl
def register_scorers(register):
    register_models(register, MODELS, scorer="t2v_perception_lm.scorer:PerceptionLMScorer", question=QUESTION,
                    answer=ANSWER, note="; images (tiled) and native video (num_frames=32 default); gated repo: "
                                        "accept the licence on the hub and log in")
