"""Remote-code VQAScore families (the checkpoint's own Python code, run only with ``trust_remote_code=True``),
each in a worker environment pinned to its era's transformers."""
