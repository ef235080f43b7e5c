"""t2v-openclip: CLIPScore with every OpenCLIP pretrained model, HPSv2 / HPSv2.1 and PickScore.

Importing this package imports nothing heavy; the scorers live in :mod:`t2v_openclip.scorer`.
"""

from .truncation import CaptionTruncationWarning

__all__ = ["CaptionTruncationWarning"]
