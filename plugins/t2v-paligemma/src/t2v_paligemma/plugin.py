"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_hf.registration import register_models

from t2v_core import hookimpl

# the reference's (880a5b8) default templates
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"

# model name -> (Hugging Face repo, one-line description); all are gated on the hub
MODELS = {
    "paligemma-3b-mix-224": ("google/paligemma-3b-mix-224", "PaliGemma 3B mix, 224 px (256 image tokens)"),
    "paligemma-3b-mix-448": ("google/paligemma-3b-mix-448", "PaliGemma 3B mix, 448 px (1024 image tokens)"),
    "paligemma-3b-mix-896": ("google/paligemma-3b-mix-896", "PaliGemma 3B mix, 896 px (4096 image tokens)"),
    "paligemma2-3b-mix-224": ("google/paligemma2-3b-mix-224", "PaliGemma 2 3B mix, 224 px"),
    "paligemma2-3b-mix-448": ("google/paligemma2-3b-mix-448", "PaliGemma 2 3B mix, 448 px"),
    "paligemma2-10b-mix-224": ("google/paligemma2-10b-mix-224", "PaliGemma 2 10B mix, 224 px"),
    "paligemma2-10b-mix-448": ("google/paligemma2-10b-mix-448", "PaliGemma 2 10B mix, 448 px"),
    "paligemma2-28b-mix-224": ("google/paligemma2-28b-mix-224", "PaliGemma 2 28B mix, 224 px"),
    "paligemma2-28b-mix-448": ("google/paligemma2-28b-mix-448", "PaliGemma 2 28B mix, 448 px"),
}


@hookimpl
def register_scorers(register):
    register_models(register, MODELS, scorer="t2v_paligemma.scorer:PaliGemmaScorer", question=QUESTION, answer=ANSWER,
                    note="; videos as 8 frames side by side; gated repo: accept the licence on the hub and log in")
