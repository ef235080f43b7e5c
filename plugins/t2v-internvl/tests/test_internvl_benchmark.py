"""benchmarks/bench_internvl.py runs here, small: every shape and the video case, both paths equal."""

from __future__ import annotations

import re

import pytest

from t2v_core.testing import run_benchmark_script


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
    """benchmarks/gpu_check.py (the one-shot GPU check) in its CPU smoke mode, bf16 as on a GPU: every shape
    is timed and its FLOPs counted, and bf16 scores stay near float32's."""
    import json

    records = tmp_path / "gpu.json"
    run_benchmark_script("gpu_check.py", "--device", "cpu", "--tiny", "--dtype", "bf16", "--families", "internvl",
                         "--images", "2", "--texts", "2", "--rounds", "1", "--json", str(records))
    got = json.loads(records.read_text())
    assert [r["shape"] for r in got] == ["2x2", "2x1", "1x2"]
    assert all(r["pairs_per_s"] > 0 and r["gflop"] > 0 and r["dtype"] == "torch.bfloat16" for r in got)
    # more pairs, more work: the 2 x 2 call does at least what the 2 x 1 call does
    assert got[0]["gflop"] >= got[1]["gflop"]
    assert got[-1]["rel_vs_fp32"] < 0.1
