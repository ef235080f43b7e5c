"""t2v plugin: VQAScore with CLIP-FlanT5 (``clip-flant5-xxl``, ``clip-flant5-xl`` and prompt ablations).

Importing this package is light; the model code lives in :mod:`t2v_clipflant5.modeling` and
:mod:`t2v_clipflant5.scorer`, imported when a scorer is built.
"""

__version__ = "0.1.0"
