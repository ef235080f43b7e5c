"""benchmarks/bench_openclip.py runs here, small and one round: every shape is timed and agrees."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_openclip.py", "--images", "3", "--texts", "4", "--rounds", "1", "--pairwise")
    # compare() exits non-zero when the paths differ by 1e-4 or more; each shape prints its difference
    devs = dict(re.findall(r"^(.+?): naive .*max relative difference ([0-9.e+-]+)\)", out, re.M))
    assert set(devs) == {"3 x 4", "3 x 1", "1 x 4", "3 x 4, every pair encoded on its own as the naive loop"}, out
    assert max(float(d) for d in devs.values()) < 1e-4, out
    assert re.search(r"^summary: 3 x 4 [0-9.]+x, ", out, re.M), out
