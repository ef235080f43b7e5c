"""t2v-molmo: VQAScore with Molmo2 (native transformers class): images and native video. Imports nothing heavy."""

__version__ = "0.1.0"
