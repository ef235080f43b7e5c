"""benchmarks/bench_internvl.py runs here, small: every shape and the video case, both paths equal."""

from __future__ import annotations

import re

import pytest

from t2v_core.testing import check_gpu_check_on_cpu, run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    pytest.importorskip("av")
    out = run_benchmark_script("bench_internvl.py", "--images", "2", "--texts", "2", "--rounds", "1")
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 4 and max(devs) < 1e-4, out  # images 2 x 2, 2 x 1, 1 x 2 and videos 2 x 2
    assert all(f"images {s}:" in out for s in ("2 x 2", "2 x 1", "1 x 2")) and "videos 2 x 2" in out, out
    assert "summary:" in out


def test_worker_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_internvl_worker.py", "--calls", "2", "--images", "2", "--texts", "2")
    assert "largest relative score difference" in out and "overhead" in out


def test_gpu_check_runs_on_cpu(tmp_path):
    """benchmarks/gpu_check.py (the one-shot GPU check) runs in its CPU smoke mode for this family."""
    check_gpu_check_on_cpu("internvl", tmp_path)
