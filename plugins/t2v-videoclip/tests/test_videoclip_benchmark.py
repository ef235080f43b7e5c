"""benchmarks/bench_videoclip.py runs here on a few videos (it checks per-pair scores against the M x N matrix)."""

from __future__ import annotations

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_videoclip.py", "--videos", "2", "--texts", "2")
    for name in ("languagebind-video-ft", "umt-b16-25m-clip", "umt-b16-25m-itm", "internvideo2-1b-stage2-itm"):
        assert f"{name}: M x N" in out, out
