"""benchmarks/bench_openclip.py runs here on a few images (it checks every path against the M x N matrix)."""

from __future__ import annotations

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_openclip.py", "--images", "3", "--texts", "4")
    assert "ratio pairwise / t2v-openclip" in out, out
