"""Registration only: this module is imported at discovery, so it imports nothing heavy."""

from t2v_core import ScorerSpec, hookimpl

QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"
REMOTE = " [remote code: needs trust_remote_code=True; runs in a pinned worker environment]"

#: the era's pins of each family's remote code (transformers of its release, and what its files import);
#: not verified against the real repositories here (they cannot be fetched offline), see the README
MPLUG_OWL3_REQUIREMENTS = ("transformers==4.41.2", "einops", "icecream", "decord")
XCOMPOSER25_REQUIREMENTS = ("transformers==4.40.2", "einops", "timm", "sentencepiece", "decord")
MOLMO_REQUIREMENTS = ("transformers==4.45.2", "einops", "torchvision")
MOLMO_QUESTION = 'Does this image show "{}"? Answer the question with Yes or No'
MOLMO = {"molmo-72b-0924": ("allenai/Molmo-72B-0924", "Molmo 72B (0924)"),
         "molmo-7b-d-0924": ("allenai/Molmo-7B-D-0924", "Molmo 7B-D (0924)"),
         "molmo-7b-o-0924": ("allenai/Molmo-7B-O-0924", "Molmo 7B-O (0924)"),
         "molmoe-1b-0924": ("allenai/MolmoE-1B-0924", "MolmoE 1B (0924, mixture of experts)")}
INTERNVIDEO2_REQUIREMENTS = ("transformers==4.39.3", "einops", "timm", "peft", "torchvision", "sentencepiece")
#: the InternLM2.5 variant's language model and tokenizer are InternLM2 remote code of mid 2024 (its causal-mask
#: code has the 4.40/4.41 signature); sentencepiece for InternLM2's slow tokenizer
INTERNVIDEO2_INTERNLM_REQUIREMENTS = ("transformers==4.40.2", "einops", "timm", "peft", "torchvision",
                                      "sentencepiece")

# model name -> (scorer class, Hugging Face repo, requirements, media, description)
MODELS = {
    "mplug-owl3-7b": ("t2v_remote.scorer:MPLUGOwl3Scorer", "mPLUG/mPLUG-Owl3-7B-240728", MPLUG_OWL3_REQUIREMENTS,
                      ("image", "video"), "mPLUG-Owl3 7B (240728); images and video (1 fps, at most 16 frames)"),
    "internlmxcomposer25-7b": ("t2v_remote.scorer:XComposer25Scorer", "internlm/internlm-xcomposer2d5-7b",
                               XCOMPOSER25_REQUIREMENTS, ("image", "video"),
                               "InternLM-XComposer2.5 7B; images and video (the remote code samples frames)"),
    "internvideo2-chat-8b": ("t2v_remote.scorer:InternVideo2ChatScorer", "OpenGVLab/InternVideo2-Chat-8B",
                             INTERNVIDEO2_REQUIREMENTS, ("image", "video"),
                             "InternVideo2-Chat 8B; video (8 segments), images as one-frame videos"),
    "internvideo2-chat-8b-hd": ("t2v_remote.scorer:InternVideo2ChatHDScorer", "OpenGVLab/InternVideo2_chat_8B_HD",
                                INTERNVIDEO2_REQUIREMENTS, ("image", "video"),
                                "InternVideo2-Chat 8B HD; video (8 segments, 2 tiles + global), images as "
                                "one-frame videos"),
    "internvideo2-chat-8b-internlm": ("t2v_remote.scorer:InternVideo2ChatHDScorer",
                                      "OpenGVLab/InternVideo2_Chat_8B_InternLM2_5",
                                      INTERNVIDEO2_INTERNLM_REQUIREMENTS, ("image", "video"),
                                      "InternVideo2-Chat 8B on InternLM2.5; the HD clip and prompt (our definition: "
                                      "the reference crashed on it), images as one-frame videos"),
}
MODELS.update({name: ("t2v_remote.scorer:MolmoScorer", repo, MOLMO_REQUIREMENTS, ("image",), what + "; images")
               for name, (repo, what) in MOLMO.items()})


@hookimpl
def register_scorers(register):
    for name, (scorer, repo, requirements, media, description) in MODELS.items():
        register(ScorerSpec(
            name=name,
            kind="vqa",
            scorer=scorer,
            media=media,
            weights=(repo,),
            question_template=MOLMO_QUESTION if name in MOLMO else QUESTION,
            answer_template=ANSWER,
            requirements=requirements,
            preflight="t2v_remote.refusal:require_trust",
            description=description + REMOTE,
        ))
