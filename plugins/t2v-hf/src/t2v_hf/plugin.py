"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl


@hookimpl
def register_scorers(register):
    register(ScorerSpec(
        name="hf-vlm",
        kind="vqa",
        scorer="t2v_hf.scorer:HFVLMScorer",
        media=("image", "video"),
        question_template='Does this figure show "{}"? Please answer yes or no.',
        answer_template="Yes",
        description="Any chat-templated image-text-to-text transformers checkpoint: pass checkpoint='org/repo' "
                    "or a local folder.",
    ))
