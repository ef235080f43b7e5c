"""benchmarks/bench_paligemma.py runs here small (2 images x 2 texts, one timing round: CI time) and agrees: every shape
is printed, both paths give the same scores, and the summary line is there."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_paligemma.py", "--images", "2", "--texts", "2", "--rounds", "1",
                               env={"T2V_BENCH_THREADS": "1"})
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 3 and max(devs) < 1e-4, out  # 2 x 2, 2 x 1, 1 x 2
    assert out.count("summary:") == 1, out
