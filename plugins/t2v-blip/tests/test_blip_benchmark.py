"""benchmarks/bench_blip.py runs here, small and one round: every kind and shape is timed and agrees."""

from __future__ import annotations

import re

from t2v_core.testing import run_benchmark_script


def test_benchmark_script_runs_and_agrees():
    out = run_benchmark_script(
        "bench_blip.py", "--images", "2", "--texts", "2", "--hidden", "64", "--layers", "1", "--threads", "1",
        "--rounds", "1",
    )
    # compare() exits non-zero when the paths differ by 1e-4 or more; each shape prints its difference
    devs = dict(re.findall(r"^(.+?): naive .*max relative difference ([0-9.e+-]+)\)", out, re.M))
    kinds = ("VQAScore instructblip-flant5-xl", "ITMScore blip2-itm", "CLIPScore blip2-itc")
    assert set(devs) == {f"{k}, {s}" for k in kinds for s in ("2 x 2", "2 x 1", "1 x 2")}, out
    assert max(float(d) for d in devs.values()) < 1e-4, out
    assert re.search(r"^summary: VQAScore instructblip-flant5-xl, 2 x 2 [0-9.]+x, ", out, re.M), out
