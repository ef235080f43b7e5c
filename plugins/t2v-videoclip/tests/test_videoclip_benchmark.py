"""benchmarks/bench_videoclip.py runs here, small and one round: every model and shape is timed and agrees."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script

MODELS = ("languagebind-video-ft", "umt-b16-25m-clip", "umt-b16-25m-itm", "internvideo2-1b-stage2-clip",
          "internvideo2-1b-stage2-itm")


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script("bench_videoclip.py", "--videos", "2", "--texts", "2", "--rounds", "1")
    # compare() exits non-zero when the paths differ by 1e-4 or more; each shape prints its difference
    devs = dict(re.findall(r"^(.+?): naive .*max relative difference ([0-9.e+-]+)\)", out, re.M))
    assert set(devs) == {f"{m}, {s}" for m in MODELS for s in ("2 x 2", "2 x 1", "1 x 2")}, out
    assert max(float(d) for d in devs.values()) < 1e-4, out
    assert re.search(r"^summary: languagebind-video-ft, 2 x 2 [0-9.]+x, ", out, re.M), out
