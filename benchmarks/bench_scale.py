"""Scaling out: a sharded `t2v score` (2 processes under torchrun) vs 1 process, and `t2v serve` with 32
concurrent clients vs one request at a time. Prints pairs/s, the ratios and the server's latency percentiles.

    python benchmarks/bench_scale.py [--pairs 600] [--requests 96]

The sharded part runs the example plugin's closed-form scorer on 384x384 images through the real CLI (so it
needs tests/example_plugin installed); its ratio is bounded by this machine's cores (2 on CI) and includes the
launcher's start-up. The server part scores with a stand-in for an accelerator model, registered in-process:
each scorer call costs 20 ms plus 0.5 ms per pair, spent in ``time.sleep`` as a GPU forward leaves the CPU
free, and one call takes all the groups of a coalesced batch (as a family that batches across samples does:
t2v-api runs them concurrently; a family whose ``score_groups`` loops over groups gains less). That per-call
cost is what coalescing concurrent requests saves; the ratio says how much of it the server recovers. Both
paths' scores are checked to agree.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from t2v_core import ScorerSpec, hookimpl, plugins
from t2v_core.scorer import Scorer


class SimulatedAcceleratorScorer(Scorer):
    """20 ms per call + 0.5 ms per pair, sleeping; score = mean brightness blended with the text's length.

    Like a family that batches across samples, one call of ``score_groups`` pays the fixed cost once for all
    its groups (the server hands each coalesced batch over as groups, one per media item)."""

    def score_groups(self, groups, *, templates):
        time.sleep(0.020 + 0.0005 * sum(len(m) * len(t) for m, t in groups))
        return [self._values(m, t) for m, t in groups]

    def score(self, media, texts, *, templates):
        return self.score_groups([(media, texts)], templates=templates)[0]

    @staticmethod
    def _values(media, texts):
        b = torch.tensor([float(np.asarray(m.image).mean()) / 255.0 for m in media])
        t = torch.tensor([len(x) % 17 / 17.0 for x in texts])
        return (0.5 * b[:, None] + 0.5 * t[None, :]).float()


class _Plugin:
    @staticmethod
    @hookimpl
    def register_scorers(register):
        register(ScorerSpec(name="bench-sim-gpu", kind="vqa", scorer=f"{__name__}:SimulatedAcceleratorScorer",
                            question_template="{}", answer_template="Yes"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


def bench_sharded(n_pairs: int, folder: Path) -> None:
    rows = []
    n_images = max(2, n_pairs // 3)
    rng = np.random.default_rng(0)
    for k in range(n_images):
        Image.fromarray(rng.integers(0, 256, (384, 384, 3), dtype=np.uint8)).save(folder / f"i{k}.png")
        rows += [{"image": f"i{k}.png", "text": t} for t in ("a cat", "two dogs", "a red cube")]
    pairs = folder / "pairs.csv"
    with open(pairs, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["image", "text"])
        w.writeheader()
        w.writerows(rows)
    env = {**os.environ, "T2V_PLUGINS": "example", "T2V_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
    score = ["-m", "t2v_core.cli", "score", "--model", "example-brightness", "--pairs", str(pairs)]
    t0 = time.perf_counter()
    _run([sys.executable, *score, "--out", str(folder / "one.csv")], env)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_port()),
          *score, "--out", str(folder / "two.csv")], env)
    two = time.perf_counter() - t0
    same = (folder / "one.csv").read_text() == (folder / "two.csv").read_text()
    print(f"sharded t2v score, {len(rows)} pairs: 1 process {len(rows) / one:.1f} pairs/s ({one:.1f} s), "
          f"2 processes (torchrun) {len(rows) / two:.1f} pairs/s ({two:.1f} s): {one / two:.2f}x "
          f"(bounded by {os.cpu_count()} cores; launcher start-up included); outputs identical: {same}")
    if not same:
        raise SystemExit("sharded and single-process outputs differ")


def bench_server(n_requests: int) -> None:
    import httpx
    import uvicorn

    from t2v_core import get_score_model
    from t2v_core.client import AsyncScoreClient, encode_pair
    from t2v_core.serve import ScoringService, create_app

    plugins.register_plugin(_Plugin, name="bench-scale")
    score = get_score_model("bench-sim-gpu", device="cpu")
    rng = np.random.default_rng(1)
    images = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(n_requests)]
    texts = [f"prompt number {k}" for k in range(n_requests)]
    payloads = [[encode_pair(images[k], texts[k])] for k in range(n_requests)]

    def run_server(max_wait_ms: float, concurrent: int) -> tuple[float, list[float], dict]:
        service = ScoringService(score, max_batch=64, max_wait_ms=max_wait_ms)
        port = _port()
        server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"

        async def go() -> list[float]:
            sem = asyncio.Semaphore(concurrent)
            async with AsyncScoreClient(url) as client:
                async def one(k: int) -> float:
                    async with sem:
                        r = await client._client.post(f"{url}/score", json={"pairs": payloads[k]})
                        return float(r.json()["results"][0]["score"])
                return list(await asyncio.gather(*(one(k) for k in range(n_requests))))

        t0 = time.perf_counter()
        got = asyncio.run(go())
        elapsed = time.perf_counter() - t0
        metrics = httpx.get(f"{url}/metrics").json()
        server.should_exit = True
        thread.join()
        return elapsed, got, metrics

    serial, a, m1 = run_server(0.0, 1)
    parallel, b, m32 = run_server(5.0, 32)
    agree = max(abs(x - y) for x, y in zip(a, b))
    print(f"t2v serve, {n_requests} one-pair requests: one at a time {n_requests / serial:.1f} req/s "
          f"(p50 {m1['latency_ms']['p50']} ms, p99 {m1['latency_ms']['p99']} ms); 32 concurrent clients "
          f"{n_requests / parallel:.1f} req/s (p50 {m32['latency_ms']['p50']} ms, p99 {m32['latency_ms']['p99']} ms, "
          f"{m32['batches']} scorer calls, mean batch {m32['batch_size']['mean']}): {serial / parallel:.2f}x; "
          f"largest score difference {agree:.1e}")
    if agree > 1e-6:
        raise SystemExit("server scores differ between the two runs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3000, help="pairs of the sharded run")
    ap.add_argument("--requests", type=int, default=96, help="requests sent to the server")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_sharded(args.pairs, Path(tmp))
    bench_server(args.requests)


if __name__ == "__main__":
    main()
