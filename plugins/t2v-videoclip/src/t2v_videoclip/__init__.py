"""t2v-videoclip: video-text CLIPScore with LanguageBind Video.

Importing this package imports nothing heavy; the scorers live in :mod:`t2v_videoclip.scorer`.
"""
