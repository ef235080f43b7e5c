"""t2v-videoclip: video-text CLIPScore and ITMScore with LanguageBind Video, UMT and InternVideo2.

Importing this package imports nothing heavy; the scorers live in :mod:`t2v_videoclip.scorer`.
"""
