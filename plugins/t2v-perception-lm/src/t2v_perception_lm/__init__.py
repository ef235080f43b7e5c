"""t2v-perception-lm: VQAScore with Perception-LM (images and native video). Imports nothing heavy."""

__version__ = "0.1.0"
