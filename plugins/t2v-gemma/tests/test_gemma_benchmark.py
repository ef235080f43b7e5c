"""benchmarks/bench_gemma.py runs here in full (about 40 s: Gemma 3 and Gemma 4): both paths give the same scores."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_gemma.py", env={"T2V_BENCH_THREADS": "1"})
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 2 and max(devs) < 1e-4, out  # Gemma 3, then Gemma 4
    assert "summary:" in out
