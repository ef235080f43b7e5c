"""benchmarks/bench_llava.py runs here, on a small checkpoint, and its two paths give the same scores."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_llava.py", "--images", "2", "--texts", "3", "--hidden", "64", "--layers", "1")
    devs = [float(d) for d in re.findall(r"max relative difference of the scores ([0-9.e+-]+)", out)]
    assert len(devs) == 1 and devs[0] < 1e-4, out
    assert "576 image tokens" in out and "speed-up" in out
