"""benchmarks/bench_api.py runs here against its fake servers: no pair is ever silently wrong."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_nothing_is_silently_wrong():
    out = run_benchmark_script("bench_api.py")
    wrong = [int(n) for n in re.findall(r"silently wrong (\d+)", out)]
    assert len(wrong) == 4 and sum(wrong) == 0, out  # 2 services x (with, without retries)
    assert "silently wrong pairs in total: 0" in out
