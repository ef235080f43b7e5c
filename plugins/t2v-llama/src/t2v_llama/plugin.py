"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

# the reference's (880a5b8 llama32_model.py) default templates
QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description); all are gated on the hub
VISION = {
    "llama-3.2-11b-vision": ("meta-llama/Llama-3.2-11B-Vision", "Llama 3.2 11B Vision (base)"),
    "llama-3.2-11b-vision-instruct": ("meta-llama/Llama-3.2-11B-Vision-Instruct", "Llama 3.2 11B Vision Instruct"),
    "llama-3.2-90b-vision": ("meta-llama/Llama-3.2-90B-Vision", "Llama 3.2 90B Vision (base)"),
    "llama-3.2-90b-vision-instruct": ("meta-llama/Llama-3.2-90B-Vision-Instruct", "Llama 3.2 90B Vision Instruct"),
}
GUARD = {"llama-guard-3-11b-vision": ("meta-llama/Llama-Guard-3-11B-Vision", "Llama Guard 3 11B Vision")}
# names the reference lists that are text-only checkpoints (LlamaForCausalLM): they cannot see an image
TEXT_ONLY = {
    "llama-3.2-1b": "meta-llama/Llama-3.2-1B",
    "llama-3.2-3b": "meta-llama/Llama-3.2-3B",
    "llama-3.2-1b-instruct": "meta-llama/Llama-3.2-1B-Instruct",
    "llama-3.2-3b-instruct": "meta-llama/Llama-3.2-3B-Instruct",
    "llama-guard-3-1b": "meta-llama/Llama-Guard-3-1B",
}
GATED = "; videos as 8 frames side by side; gated repo: accept the licence on the hub and log in"


@hookimpl
def register_scorers(register):
    scorer = "t2v_llama.scorer:MllamaScorer"
    register_models(register, VISION, scorer=scorer, question=QUESTION, answer=ANSWER, note=GATED)
    register_models(register, GUARD, scorer=scorer, question="{}", answer="unsafe",
                    note=": a safety score, P('unsafe') for the image with the text as the user turn (not VQAScore)"
                         + GATED)
    register_models(register, {name: (repo, "text-only checkpoint: cannot score images (use a -vision model)")
                               for name, repo in TEXT_ONLY.items()},
                    scorer="t2v_llama.scorer:TextOnlyScorer", question=QUESTION, answer=ANSWER, media=("image",))
