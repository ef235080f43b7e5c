"""t2v-api: VQAScore with hosted vision-language models (OpenAI, Google Gemini, OpenAI-compatible servers).

The scorer classes live in :mod:`t2v_api.scorer` (imported only when a scorer is built); the fake servers
that tests and benchmarks use live in :mod:`t2v_api.testing`.
"""

__version__ = "0.1.0"
