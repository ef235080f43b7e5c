"""benchmarks/bench_clipflant5.py runs here, on a small checkpoint: every shape, both templates, equal scores."""

from __future__ import annotations

import re

from t2v_core.testing import check_gpu_check_on_cpu, run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_clipflant5.py", "--images", "2", "--texts", "3", "--hidden", "64",
                               "--layers", "2", "--visualgptscore", "--rounds", "1", "--threads", "1")
    devs = [float(d) for d in re.findall(r"max relative difference ([0-9.e+-]+)", out)]
    assert len(devs) == 6 and max(devs) < 1e-4, out  # 2 x 3, 2 x 1 and 1 x 3, default template and VisualGPTScore
    assert all(f"{t}, {s}:" in out for t in ("default template", "VisualGPTScore") for s in ("2 x 3", "2 x 1", "1 x 3"))
    assert "summary:" in out


def test_gpu_check_runs_on_cpu(tmp_path):
    """benchmarks/gpu_check.py (the one-shot GPU check) runs in its CPU smoke mode for this family."""
    check_gpu_check_on_cpu("clipflant5", tmp_path)
