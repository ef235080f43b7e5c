"""benchmarks/bench_qwen.py runs here in full (about 30 s): images and videos, both paths equal."""

from __future__ import annotations

import re

import pytest
from qwen_testutils import needs_tiny_builder

from t2v_core.testing import run_benchmark_script


@needs_tiny_builder
def test_benchmark_script_runs_and_agrees():
    pytest.importorskip("av")
    out = run_benchmark_script("bench_qwen.py", env={"T2V_BENCH_THREADS": "1"})
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 2 and max(devs) < 1e-4, out  # images and videos
    assert "summary:" in out
