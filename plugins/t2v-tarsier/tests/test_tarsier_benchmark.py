"""benchmarks/bench_tarsier.py runs here, small (about 30 s): every shape, both paths equal."""

from __future__ import annotations

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_small():
    out = run_benchmark_script("bench_tarsier.py", "--videos", "2", "--texts", "2", "--rounds", "1", "--size", "112")
    assert "summary: videos 2 x 2" in out and "max relative difference" in out
