"""t2v plugin: InstructBLIP-FlanT5 VQAScore, BLIP-2 ITMScore (image-text matching head) and BLIP-2 CLIPScore
(image-text contrastive projections).

Importing this package is light; the model code lives in :mod:`t2v_blip.scorer` (and
:mod:`t2v_blip.vitl` for the CLIP-L checkpoint), imported when a scorer is built.
"""

__version__ = "0.1.0"
