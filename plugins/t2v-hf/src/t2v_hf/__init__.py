"""t2v-hf: the shared VQAScore scorer of chat-templated transformers VLMs (import nothing heavy here).

Subclass :class:`t2v_hf.scorer.HFVLMScorer` for a model family; use ``VQAScore(model="hf-vlm",
checkpoint="org/repo")`` for any image-text-to-text checkpoint.
"""

__version__ = "0.1.0"
