"""benchmarks/bench_llava.py runs here, small and one round: every shape is timed and its two paths agree."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_llava.py", "--images", "2", "--texts", "3", "--hidden", "64", "--layers", "1",
                               "--rounds", "1")
    # compare() exits non-zero when the paths differ by 1e-4 or more; each shape prints its difference
    devs = {label: float(d) for label, d in re.findall(r"^(.+?): naive .*max relative difference ([0-9.e+-]+)\)",
                                                       out, re.M)}
    assert set(devs) == {"images 2 x 3", "images 2 x 1", "images 1 x 3", "LLaVA-Video, videos 2 x 3 (8 frames)"}, out
    assert max(devs.values()) < 1e-4, out
    assert "576 image tokens" in out and re.search(r"^summary: images 2 x 3 [0-9.]+x, ", out, re.M), out
