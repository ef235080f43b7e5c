"""Registration only (imports nothing heavy)."""

from t2v_core import ScorerSpec, hookimpl

#: older than any tqdm the core's test environments install, so it always clashes
PIN = "tqdm==4.65.0"


@hookimpl
def register_scorers(register):
    register(ScorerSpec(
        name="worker-example",
        kind="vqa",
        scorer="t2v_worker_example.scorer:PinnedScorer",
        media=("image", "video"),
        requirements=(PIN,),
        question_template='Does this figure show "{}"?',
        answer_template="Yes",
        description="Toy VQA scorer that needs tqdm 4.65.0 (for the worker-environment tests).",
    ))
