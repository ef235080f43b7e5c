"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

# the reference's (HEAD molmo2_model.py, disabled there) default templates, Qwen3-VL's
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description)
MODELS = {
    "molmo2-4b": ("allenai/Molmo2-4B", "Molmo2 4B (Qwen3-4B)"),
    "molmo2-o-7b": ("allenai/Molmo2-O-7B", "Molmo2-O 7B (OLMo)"),
    "molmo2-8b": ("allenai/Molmo2-8B", "Molmo2 8B (Qwen3-8B)"),
}
# the reference registered Molmo2-O 7B as "molmo2-7b"
ALIASES = {"molmo2-o-7b": ("molmo2-7b",)}


@hookimpl
def register_scorers(register):
    register_models(register, MODELS, scorer="t2v_molmo.scorer:Molmo2Scorer", question=QUESTION, answer=ANSWER,
                    note="; native transformers class; images (multi-crop) and native video (the checkpoint's "
                         "own frame sampling by default)",
                    aliases=ALIASES, alias_note="the reference's name for this checkpoint")
