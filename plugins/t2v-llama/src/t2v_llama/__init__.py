"""t2v-llama: VQAScore with Llama-3.2-Vision and a safety score with Llama-Guard-3-Vision. Imports nothing heavy."""

__version__ = "0.1.0"
