"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl


@hookimpl
def register_scorers(register):
    register(ScorerSpec(
        name="example-brightness",
        kind="vqa",
        scorer="t2v_example.scorer:BrightnessScorer",
        media=("image", "video"),
        aliases=("example",),
        question_template='Does this figure show "{}"?',
        answer_template="Yes",
        description="Toy VQA scorer: mean brightness blended with a hash of the prompt (for tests).",
    ))
    register(ScorerSpec(
        name="example-clip",
        kind="clip",
        scorer="t2v_example.scorer:ToyClipScorer",
        description="Toy CLIP scorer: cosine of colour and text-length features (for tests).",
    ))
