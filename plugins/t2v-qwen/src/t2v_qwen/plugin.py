"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl

QUESTION = 'Does this image show "{}"?'
ANSWER = "Yes"
# the default of the reference's v3.1, where Qwen3.5 and the Qwen3-VL Thinking models come from
QUESTION_V31 = 'Does this figure show "{}"? Please answer Yes or No.'

# model name -> (Hugging Face repo, one-line description)
MODELS = {
    "qwen2-vl-2b": ("Qwen/Qwen2-VL-2B-Instruct", "Qwen2-VL 2B Instruct"),
    "qwen2-vl-7b": ("Qwen/Qwen2-VL-7B-Instruct", "Qwen2-VL 7B Instruct"),
    "qwen2-vl-72b": ("Qwen/Qwen2-VL-72B-Instruct", "Qwen2-VL 72B Instruct"),
    "qwen2.5-vl-3b": ("Qwen/Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL 3B Instruct"),
    "qwen2.5-vl-7b": ("Qwen/Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL 7B Instruct (the reference's recommended video model)"),
    "qwen2.5-vl-32b": ("Qwen/Qwen2.5-VL-32B-Instruct", "Qwen2.5-VL 32B Instruct"),
    "qwen2.5-vl-72b": ("Qwen/Qwen2.5-VL-72B-Instruct", "Qwen2.5-VL 72B Instruct"),
    "qwen3-vl-2b": ("Qwen/Qwen3-VL-2B-Instruct", "Qwen3-VL 2B Instruct"),
    "qwen3-vl-4b": ("Qwen/Qwen3-VL-4B-Instruct", "Qwen3-VL 4B Instruct"),
    "qwen3-vl-8b": ("Qwen/Qwen3-VL-8B-Instruct", "Qwen3-VL 8B Instruct"),
    "qwen3-vl-32b": ("Qwen/Qwen3-VL-32B-Instruct", "Qwen3-VL 32B Instruct"),
    "qwen3-vl-30b-a3b": ("Qwen/Qwen3-VL-30B-A3B-Instruct", "Qwen3-VL 30B-A3B Instruct (mixture of experts)"),
    "qwen3-vl-235b-a22b": ("Qwen/Qwen3-VL-235B-A22B-Instruct", "Qwen3-VL 235B-A22B Instruct (mixture of experts)"),
}

# models of the reference's v3.1: name -> (repo, description)
MODELS_V31 = {
    "qwen3.5-4b": ("Qwen/Qwen3.5-4B", "Qwen3.5 4B (hybrid linear/full attention; thinking off)"),
    "qwen3.5-9b": ("Qwen/Qwen3.5-9B", "Qwen3.5 9B (hybrid linear/full attention; thinking off)"),
    "qwen3.5-27b": ("Qwen/Qwen3.5-27B", "Qwen3.5 27B (hybrid linear/full attention; thinking off)"),
    **{f"qwen3-vl-{s}-thinking": (f"Qwen/Qwen3-VL-{s.upper()}-Thinking", f"Qwen3-VL {s.upper()} Thinking (the thinking "
                                  "block is closed empty before the answer)")
       for s in ("2b", "4b", "8b", "32b", "30b-a3b", "235b-a22b")},
}


@hookimpl
def register_scorers(register):
    for name, (repo, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_qwen.scorer:QwenVLScorer",
            media=("image", "video"),
            weights=(repo,),
            question_template=QUESTION,
            answer_template=ANSWER,
            description=description + "; images and native video (fps=8.0 default, 'dynamic', or num_frames)",
        ))
    for name, (repo, description) in MODELS_V31.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer="t2v_qwen.scorer:QwenVLScorer",
            media=("image", "video"),
            weights=(repo,),
            question_template=QUESTION_V31,
            answer_template=ANSWER,
            description=description + "; images and native video (fps=8.0 default, 'dynamic', or num_frames)",
        ))
