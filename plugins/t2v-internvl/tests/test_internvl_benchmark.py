"""benchmarks/bench_internvl.py runs here in full (about 20 s), and its two paths give the same scores."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_internvl.py")
    devs = [float(d) for d in re.findall(r"max relative difference between the two: ([0-9.e+-]+)", out)]
    assert len(devs) == 1 and devs[0] < 1e-4, out
    assert "speed-up (generate loop / scorer)" in out
