"""t2v-tarsier: VQAScore with Tarsier2 on transformers' native Qwen2-VL class."""

__all__: list[str] = []
