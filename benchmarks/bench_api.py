"""Hosted-model VQAScore: concurrency speed-up and fault handling, against the plugin's fake server.

    python benchmarks/bench_api.py

1. 64 pairs (8 images x 8 texts) against a fake OpenAI / Gemini endpoint that waits 100 ms per request:
   concurrent (max_concurrency=64) vs one request at a time (max_concurrency=1), same process, same client.
2. The same 64 pairs with 20% of requests hit by a transient fault (429 with Retry-After, 500, timeout,
   truncated body): pairs correct / failed-and-reported / silently wrong (must be 0), with retries and without.

"Correct" is checked against the fake server's own answer distribution for the exact PNG bytes and prompt,
computed here independently of the scorer.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time

os.environ.setdefault("T2V_PLUGINS", "t2v-api")
os.environ.setdefault("T2V_PROGRESS", "0")

from t2v_api.testing import FakeModelServer  # noqa: E402

import t2v_core  # noqa: E402
from t2v_core.testing import random_images  # noqa: E402

KEY = "sk-bench-0000000000"
IMAGES = random_images(8, seed=1)
TEXTS = [f"object number {k} on a table" for k in range(8)]
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'


def png(img) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def build(server: FakeModelServer, protocol: str, **kw):  # type: ignore[no-untyped-def]
    if protocol == "openai":
        return t2v_core.VQAScore(model="gpt-4o", api_key=KEY, base_url=server.openai_base_url, **kw)
    return t2v_core.VQAScore(model="gemini-2.5-flash", api_key=KEY, base_url=server.url, **kw)


def speed(protocol: str) -> float:
    with FakeModelServer(api_keys=(KEY,), latency=0.1) as server:
        times = {}
        for conc in (1, 64):
            score = build(server, protocol, max_concurrency=conc)
            score(images=IMAGES[:1], texts=["warm up"])  # imports, connection, first-reply check
            t0 = time.perf_counter()
            out = score(images=IMAGES, texts=TEXTS)
            times[conc] = time.perf_counter() - t0
            assert out.isfinite().all()
    ratio = times[1] / times[64]
    print(f"[{protocol}] 64 pairs at 100 ms/request: one at a time {times[1]:.2f} s, concurrent {times[64]:.2f} s "
          f"-> speed-up x{ratio:.1f}")
    return ratio


def faults(protocol: str, max_retries: int) -> tuple[int, int, int]:
    with FakeModelServer(api_keys=(KEY,), fault_rate=0.2, seed=5, retry_after=0.05, timeout_sleep=1.0,
                         fault_kinds=("429", "500", "timeout", "malformed")) as server:
        score = build(server, protocol, max_concurrency=32, max_retries=max_retries, timeout=0.5, backoff_base=0.05)
        out = score(images=IMAGES, texts=TEXTS, on_error="nan")
        injected = sum(r.fault is not None for r in server.requests)
        sent = len(server.requests)
    reported = {(f.media_index, f.text_index) for f in score.failures}
    correct = failed = wrong = 0
    for i, img in enumerate(IMAGES):
        data = png(img)
        for j, text in enumerate(TEXTS):
            v = float(out[i, j])
            truth = server.truth([data], QUESTION.format(text)).yes
            if math.isnan(v):
                if (i, j) in reported:
                    failed += 1
                else:
                    wrong += 1  # NaN with no reason given also counts as a silent failure
            elif abs(v - truth) <= 1e-6 * truth and (i, j) not in reported:
                correct += 1
            else:
                wrong += 1
    print(f"[{protocol}] 20% transient faults ({injected} of {sent} requests hit), max_retries={max_retries}: "
          f"correct {correct} / failed-and-reported {failed} / silently wrong {wrong}")
    return correct, failed, wrong


def main() -> int:
    ratios = [speed(p) for p in ("openai", "gemini")]
    wrong = 0
    for p in ("openai", "gemini"):
        for retries in (5, 0):
            wrong += faults(p, retries)[2]
    print(f"speed-up concurrent vs one-at-a-time: openai x{ratios[0]:.1f}, gemini x{ratios[1]:.1f}; "
          f"silently wrong pairs in total: {wrong}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
