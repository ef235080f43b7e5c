"""Worker environments: what running a scorer in its own venv costs against running it in this process.

    python benchmarks/bench_workers.py [--calls 20] [--pairs 256]

Needs tests/example_plugin and tests/worker_plugin installed (the core's nox session has both). The worker
plugin's scorer computes the example plugin's closed-form score but pins tqdm 4.65.0, so it runs in a worker
environment; the same model with ``isolated=True`` and the example scorer in process are timed on the same
inputs, alternating. Prints the time to make the environment (in a fresh ``T2V_ENVS_DIR``), the overhead per
call (1 x 1) and per pair (a large call), and checks that both paths give the same scores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
from PIL import Image


def _timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20, help="repeats of each timing (median reported)")
    ap.add_argument("--pairs", type=int, default=256, help="pairs in the large call (images x 4 texts)")
    args = ap.parse_args()
    os.environ["T2V_PLUGINS"] = "example,worker-example"
    with tempfile.TemporaryDirectory() as envs:
        os.environ["T2V_ENVS_DIR"] = envs
        import t2v_core

        t0 = time.perf_counter()
        worker = t2v_core.VQAScore(model="worker-example", device="cpu")
        first_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = t2v_core.VQAScore(model="worker-example", device="cpu")
        cached_build = time.perf_counter() - t0
        again.close()
        local = t2v_core.VQAScore(model="example-brightness", device="cpu")
        rng = np.random.default_rng(0)
        n_images = max(1, args.pairs // 4)
        images = [Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(n_images)]
        texts = ["a cat", "two dogs", "a red cube", "the sea at night"]
        media_one = local.model.load_media(images[:1])
        media_all = local.model.load_media(images)
        templates = local.model.templates()

        def one(s):
            return lambda: s.model.score_groups([(media_one, texts[:1])], templates=templates, num_frames=4)

        def big(s):
            return lambda: s.model.score_groups([(media_all, texts)], templates=templates, num_frames=4)

        call_w, call_l = _timed(one(worker), args.calls), _timed(one(local), args.calls)
        big_w, big_l = _timed(big(worker), max(3, args.calls // 4)), _timed(big(local), max(3, args.calls // 4))
        a = worker(images=images, texts=texts)
        b = local(images=images, texts=texts)
        worker.close()
    n = len(images) * len(texts)
    diff = float((a - b).abs().max())
    print(f"environment: made in {first_build:.1f} s (first scorer, tqdm 4.65.0 installed), "
          f"{cached_build:.2f} s to start a worker on the cached one")
    print(f"per call (1 x 1): worker {call_w * 1e3:.2f} ms, in process {call_l * 1e3:.2f} ms: "
          f"+{(call_w - call_l) * 1e3:.2f} ms overhead")
    print(f"per pair ({n} pairs in one call): worker {big_w / n * 1e6:.1f} us, in process {big_l / n * 1e6:.1f} us: "
          f"+{(big_w - big_l) / n * 1e6:.1f} us overhead ({big_w / big_l:.2f}x)")
    print(f"largest score difference {diff:.1e}")
    if diff > 1e-6:
        raise SystemExit("worker and in-process scores differ")


if __name__ == "__main__":
    main()
