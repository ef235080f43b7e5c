"""benchmarks/bench_blip.py runs here, small, and its two paths give the same scores for each kind."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script(
        "bench_blip.py", "--images", "2", "--texts", "2", "--hidden", "64", "--layers", "1", "--threads", "1"
    )
    devs = [float(d) for d in re.findall(r"max relative difference of the scores ([0-9.e+-]+)", out)]
    assert len(devs) == 3 and max(devs) < 1e-4, out
    assert out.count("speed-up") == 3 and all(k in out for k in ("VQAScore", "ITMScore", "CLIPScore"))
