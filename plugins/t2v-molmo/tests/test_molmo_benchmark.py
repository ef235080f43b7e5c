"""benchmarks/bench_molmo.py runs here in full (about a minute): both paths give the same scores."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_molmo.py", env={"T2V_BENCH_THREADS": "1"})
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 1 and devs[0] < 1e-4, out
    assert "summary:" in out
