"""t2v-bench: GenAI-Bench and the VQAScore paper's alignment benchmarks for t2v, with their metrics.

``run_benchmark`` scores a registered benchmark with any installed t2v model; ``t2v_bench.metrics`` holds
the metric functions; ``t2v bench ...`` (``t2v_bench.cli.main``) is the command line.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # keep `import t2v_bench` free of numpy-heavy modules until something is used
    if name in ("run_benchmark", "load_benchmark", "list_benchmarks"):
        from . import runner

        return getattr(runner, name)
    if name in ("Benchmark", "BenchResult", "Sample", "BenchmarkDataError"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module 't2v_bench' has no attribute {name!r}")


__all__ = ["Benchmark", "BenchResult", "BenchmarkDataError", "Sample", "list_benchmarks", "load_benchmark",
           "run_benchmark"]
