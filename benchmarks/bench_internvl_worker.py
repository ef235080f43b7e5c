"""Worker environments for InternVL2's remote code: what scoring it in its worker costs against in-process.

    python benchmarks/bench_internvl_worker.py [--calls 10] [--images 8] [--texts 8] [--real-pins]

A tiny fake remote-code ``OpenGVLab/InternVL2-1B`` (``t2v_internvl.testing_remote``: 56 px tiles, a 2-layer
language model of width 64) in a temporary offline cache. ``internvl2-1b`` is built twice in this process:
as a user gets it on transformers 5 (no ``isolated=``; its pins are unmet, so it runs in a worker) and with
``isolated=False`` (in-process, same model, same inputs). Printed: the time to make the environment (in a
fresh ``T2V_ENVS_DIR``) and to start a worker on the cached one, the overhead per call (1 x 1, medians of
``--calls``) and per pair (one M x N call), and the largest score difference. The model is tiny on purpose:
the overhead is what the pipe and the worker add, which a real model's compute would hide.

Without ``--real-pins`` the environment is made without installing the declared pins (the layered venv and
the worker are real; the worker runs this environment's transformers), so the script needs no network and
the "made in" time is the floor. ``--real-pins`` installs them (package index, about half a minute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(tempfile.mkdtemp(prefix="t2v-bench-internvl-worker-"))
os.environ["HF_HUB_CACHE"] = str(ROOT / "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_MODULES_CACHE"] = str(ROOT / "modules")  # the remote code's import cache: never the user's
os.environ["T2V_ENVS_DIR"] = str(ROOT / "envs")
os.environ.setdefault("T2V_PROGRESS", "0")

import numpy as np  # noqa: E402
from bench_workers import _timed  # noqa: E402 - the same median timer
from PIL import Image  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10, help="repeats of the 1 x 1 timing (median reported)")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--texts", type=int, default=8)
    ap.add_argument("--real-pins", action="store_true", help="install the declared pins (needs the index)")
    args = ap.parse_args()
    try:
        run(args)
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from t2v_internvl.testing import build_internvl_hf
    from t2v_internvl.testing_remote import write_remote_repo

    import t2v_core
    from t2v_core import isolated, workers
    from t2v_core.testing import make_fake_hf_cache

    native = build_internvl_hf(ROOT / "native", seed=0)
    make_fake_hf_cache(ROOT / "hub", "OpenGVLab/InternVL2-1B", write_remote_repo(ROOT / "remote", native))
    if not args.real_pins:
        real = workers.ensure_env
        isolated.ensure_env = lambda requirements, python=None: real((), python)  # type: ignore[assignment]

    t0 = time.perf_counter()
    worker = t2v_core.VQAScore(model="internvl2-1b", device="cpu", trust_remote_code=True)
    first_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = t2v_core.VQAScore(model="internvl2-1b", device="cpu", trust_remote_code=True)
    cached_build = time.perf_counter() - t0
    again.close()
    t0 = time.perf_counter()
    local = t2v_core.VQAScore(model="internvl2-1b", device="cpu", trust_remote_code=True, isolated=False)
    local_build = time.perf_counter() - t0
    assert isinstance(worker.model, isolated.WorkerScorer) and not isinstance(local.model, isolated.WorkerScorer)

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (56, 56, 3), dtype=np.uint8)) for _ in range(args.images)]
    texts = [f"a photo of {k} cats on a red table" for k in range(args.texts)]
    media_one, media_all = local.model.load_media(images[:1]), local.model.load_media(images)
    templates = local.model.templates()

    def call(s, media, txts):
        return lambda: s.model.score_groups([(media, txts)], templates=templates)

    call(worker, media_one, texts[:1])()  # warm both paths
    call(local, media_one, texts[:1])()
    one_w, one_l = _timed(call(worker, media_one, texts[:1]), args.calls), _timed(call(local, media_one, texts[:1]),
                                                                                   args.calls)
    rounds = max(3, args.calls // 4)
    big_w, big_l = _timed(call(worker, media_all, texts), rounds), _timed(call(local, media_all, texts), rounds)
    a, b = worker(images=images, texts=texts), local(images=images, texts=texts)
    versions = worker.provenance["versions"].get("transformers")
    worker.close()
    n = len(images) * len(texts)
    diff = float(((a - b).abs() / b.abs().clamp_min(1e-12)).max())
    pins = "declared pins installed" if args.real_pins else "pins not installed: the floor"
    print(f"environment: made in {first_build:.1f} s with the first scorer ({pins}; worker transformers "
          f"{versions}), {cached_build:.2f} s for a scorer on the cached one, {local_build:.2f} s in process")
    print(f"per call (1 x 1): worker {one_w * 1e3:.1f} ms, in process {one_l * 1e3:.1f} ms: "
          f"+{(one_w - one_l) * 1e3:.1f} ms overhead ({one_w / one_l:.2f}x)")
    print(f"per pair ({args.images} x {args.texts} in one call): worker {big_w / n * 1e3:.2f} ms, in process "
          f"{big_l / n * 1e3:.2f} ms: +{(big_w - big_l) / n * 1e3:.2f} ms overhead ({big_w / big_l:.2f}x)")
    print(f"largest relative score difference {diff:.1e}")
    if diff > 1e-5 and not args.real_pins:
        raise SystemExit("worker and in-process scores differ")


if __name__ == "__main__":
    main()
