"""t2v-qwen: VQAScore with Qwen2-VL, Qwen2.5-VL and Qwen3-VL (images and native video). Imports nothing heavy."""

__version__ = "0.1.0"
