"""t2v-bench: speed of the metric implementations against naive pure-Python baselines, same process.

The expensive metric of the benchmarks is the tie-calibrated pairwise accuracy (Deutsch et al., 2023):
every pair of items is a candidate tie threshold. The naive baseline is the reference's algorithm written
in plain Python (one object per pair, sorted, incremental update); ours is the same algorithm vectorised
with numpy (sort + cumulative sum). Kendall's tau-b is compared with a plain double loop. Both results
are checked equal before timing is reported.

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


if __name__ == "__main__":
    main()
