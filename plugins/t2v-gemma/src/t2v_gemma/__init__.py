"""t2v-gemma: VQAScore with Gemma 3 and Gemma 4 instruction models (images; videos as timestamped frames). Imports nothing heavy."""

__version__ = "0.1.0"
