"""t2v plugin: VQAScore with LLaVA-1.5, ShareGPT4V and LLaVA-1.6 on their original published checkpoints.

Importing this package is light; the model code lives in :mod:`t2v_llava.modeling` and :mod:`t2v_llava.scorer`,
imported when a scorer is built.
"""

__version__ = "0.1.0"
