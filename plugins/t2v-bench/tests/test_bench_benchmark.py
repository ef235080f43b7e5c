"""benchmarks/bench_bench.py runs here: the vectorised metrics equal the plain-Python ones it times."""

from __future__ import annotations

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_bench.py")
    assert out.count("faster") == 4, out
