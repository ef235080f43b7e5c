"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl

# the reference's (HEAD molmo2_model.py, disabled there) default templates, Qwen3-VL's
QUESTION = 'Does this figure show "{}"? Please answer Yes or No.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description, aliases)
MODELS = {
    "molmo2-4b": ("allenai/Molmo2-4B", "Molmo2 4B (Qwen3-4B)", ()),
    # the reference registered this checkpoint as "molmo2-7b"
    "molmo2-o-7b": ("allenai/Molmo2-O-7B", "Molmo2-O 7B (OLMo)", ("molmo2-7b",)),
    "molmo2-8b": ("allenai/Molmo2-8B", "Molmo2 8B (Qwen3-8B)", ()),
}


@hookimpl
def register_scorers(register):
    for name, (repo, description, aliases) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_molmo.scorer:Molmo2Scorer",
            media=("image", "video"),
            weights=(repo,),
            question_template=QUESTION,
            answer_template=ANSWER,
            aliases=aliases,
            alias_notes={a: "the reference's name for this checkpoint" for a in aliases},
            description=description + "; native transformers class; images (multi-crop) and native video "
                                      "(the checkpoint's own frame sampling by default)",
        ))
