"""t2v-paligemma: VQAScore with PaliGemma and PaliGemma 2 mix checkpoints. Imports nothing heavy."""

__version__ = "0.1.0"
