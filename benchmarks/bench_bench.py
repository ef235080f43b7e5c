"""t2v-bench: speed of the metric implementations against naive pure-Python baselines, same process.

The expensive metric of the benchmarks is the tie-calibrated pairwise accuracy (Deutsch et al., 2023):
every pair of items is a candidate tie threshold. The naive baseline is the reference's algorithm written
in plain Python (one object per pair, sorted, incremental update); ours is the same algorithm vectorised
with numpy (sort + cumulative sum). Kendall's tau-b is compared with a plain double loop. Both results
are checked equal before timing is reported.

CameraBench VQA scoring (needs the example plugin, tests/example_plugin): the reference's protocol calls
the scorer once per pair and answer (8 calls per row, each decoding the video); ours scores every question
of a video in one call per answer and decodes each video once. Same scores, checked before timing.

    python benchmarks/bench_bench.py          # CPU, well under a minute
"""

from __future__ import annotations

import time

import numpy as np
from t2v_bench import metrics as M


def naive_acc23(gold, metric, groups):
    """The reference's tau-optimisation loop for acc_23, in plain Python."""
    rows: dict = {}
    for i in range(len(gold)):
        for j in range(i + 1, len(gold)):
            if groups[i] != groups[j]:
                continue
            h1, h2, m1, m2 = gold[i], gold[j], metric[i], metric[j]
            normal = (h1 == h2 and m1 == m2) or (h1 != h2 and m1 != m2 and (h1 > h2) == (m1 > m2))
            tie = h1 == h2
            rows.setdefault(groups[i], []).append((abs(m1 - m2), normal, tie))
    correct = {g: sum(p[1] for p in ps) for g, ps in rows.items()}
    total = {g: len(ps) for g, ps in rows.items()}
    pairs = sorted((d, g, n, t) for g, ps in rows.items() for d, n, t in ps)
    acc = sum(correct[g] / total[g] for g in rows) / len(rows)
    thresholds, accs = [0.0], [acc]
    for d, g, n, t in pairs:
        acc -= correct[g] / total[g] / len(rows)
        correct[g] += int(t) - int(n)
        acc += correct[g] / total[g] / len(rows)
        if thresholds[-1] == d:
            accs[-1] = acc
        else:
            thresholds.append(d)
            accs.append(acc)
    return max(accs)


def naive_tau_b(x, y):
    con = dis = tx = ty = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[j] - x[i], y[j] - y[i]
            if dx == 0:
                tx += 1
            if dy == 0:
                ty += 1
            if dx * dy > 0:
                con += 1
            elif dx * dy < 0:
                dis += 1
    tot = n * (n - 1) // 2
    return (con - dis) / ((tot - tx) * (tot - ty)) ** 0.5


def timed(fn, *args, repeat=3, **kw):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


def camerabench_vqa(n_videos: int = 12, n_rows: int = 24, frames: int = 48) -> None:
    """Per-video batched CameraBench VQA scoring vs the reference's one call per pair and answer."""
    import json
    import tempfile
    from collections import Counter
    from pathlib import Path

    from t2v_bench.camerabench import QUESTION
    from t2v_bench.runner import run_benchmark

    import t2v_core
    from t2v_core.media import Video
    from t2v_core.testing import write_video

    rng = np.random.default_rng(1)
    decodes: Counter = Counter()
    real = Video.frames

    def counting(self, indices):
        decodes["n"] += 1
        return real(self, indices)

    Video.frames = counting  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            (data / "videos").mkdir(parents=True)
            names = [f"v{i}.mp4" for i in range(n_videos)]
            for name in names:
                write_video(data / "videos" / name, rng.integers(0, 256, (frames, 64, 64, 3), dtype=np.uint8))
            rows = []
            for r in range(n_rows):
                pos, neg = rng.choice(n_videos, 2, replace=False)
                rows.append({"pos_video": names[pos], "neg_video": names[neg], "pos_text": f"t{r}",
                             "neg_text": f"u{r}", "pos_question": f"Does the camera move {r}?",
                             "neg_question": f"Is the camera still {r}?"})
            for skill in ("has_motion", "motion_direction"):
                (data / "vqa_and_retrieval" / skill).mkdir(parents=True)
            half = n_rows // 2
            for skill, part in (("has_motion", rows[:half]), ("motion_direction", rows[half:])):
                (data / "vqa_and_retrieval" / skill / "task.jsonl").write_text(
                    "".join(json.dumps(r) + "\n" for r in part))
            scorer = t2v_core.VQAScore(model="example-brightness", device="cpu")

            def reference_loop():
                out = []
                for r in rows:
                    cells = {}
                    for a in ("Yes", "No"):
                        for q in ("pos_question", "neg_question"):
                            for v in ("pos_video", "neg_video"):
                                cells[(a, q, v)] = float(scorer(images=[str(data / "videos" / r[v])], texts=[r[q]],
                                                                question_template=QUESTION, answer_template=a)[0, 0])
                    out.append(cells)
                return out

            decodes.clear()
            ref, t_ref = timed(reference_loop, repeat=1)
            d_ref = decodes["n"]
            decodes.clear()
            rec, t_ours = timed(run_benchmark, "camerabench-vqa", scorer, root=data, results_dir=None, store=None,
                                repeat=1)
            d_ours = decodes["n"]
            for item, cells in zip(rec["items"], ref):
                for (a, q, v), value in cells.items():
                    key = f"{a.lower()}_{q.replace('_question', '_text')}_{v.replace('_video', '_image')}"
                    assert abs(item[key] - value) < 1e-6, (key, item[key], value)
    finally:
        Video.frames = real  # type: ignore[method-assign]
    print(f"camerabench-vqa scoring, {n_rows} rows ({8 * n_rows} pairs), {n_videos} videos of {frames} frames, "
          f"example-brightness: per video {t_ours:.2f} s ({d_ours} decodes) vs per pair {t_ref:.2f} s "
          f"({d_ref} decodes) -> {t_ref / t_ours:.1f}x faster")


def main() -> None:
    rng = np.random.default_rng(0)
    # GenAI-Rank-like: 100 prompts x 9 images, Likert means (many ties), scores with 3 decimals (some ties)
    n = 900
    gold = np.round(rng.integers(1, 6, (n, 3)).mean(axis=1), 3)
    score = np.round(rng.random(n), 3)
    groups = np.repeat(np.arange(100), 9)
    # pooled over all items (the TIFA160 / GenAI-Bench setting): ~4e5 pairs
    ours, t_ours = timed(M.pairwise_accuracy, gold, score)
    ref, t_ref = timed(naive_acc23, gold.tolist(), score.tolist(), [0] * n, repeat=1)
    assert abs(ours.accuracy - ref) < 1e-9, (ours.accuracy, ref)
    print(f"pairwise_acc (tie-calibrated), {n} items pooled, {ours.num_pairs} pairs: "
          f"numpy {t_ours * 1e3:.1f} ms vs naive {t_ref * 1e3:.1f} ms -> {t_ref / t_ours:.1f}x faster")
    ours_g, t_ours_g = timed(M.pairwise_accuracy, gold, score, groups=groups)
    ref_g, t_ref_g = timed(naive_acc23, gold.tolist(), score.tolist(), groups.tolist(), repeat=1)
    assert abs(ours_g.accuracy - ref_g) < 1e-9
    print(f"pairwise_acc (tie-calibrated), 100 groups of 9: numpy {t_ours_g * 1e3:.2f} ms vs naive "
          f"{t_ref_g * 1e3:.2f} ms -> {t_ref_g / t_ours_g:.1f}x faster")
    tau, t_tau = timed(M.kendall_tau, gold, score)
    tau_ref, t_tau_ref = timed(naive_tau_b, gold.tolist(), score.tolist(), repeat=1)
    assert abs(tau - tau_ref) < 1e-12
    print(f"kendall tau-b, {n} items: numpy {t_tau * 1e3:.1f} ms vs naive {t_tau_ref * 1e3:.1f} ms "
          f"-> {t_tau_ref / t_tau:.1f}x faster")
    camerabench_vqa()


if __name__ == "__main__":
    main()
