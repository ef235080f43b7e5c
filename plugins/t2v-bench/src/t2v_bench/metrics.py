"""Metrics of the alignment benchmarks, in plain numpy.

Conventions shared by every function here:

- inputs are 1-D sequences of finite numbers; a NaN or infinite value is rejected with a ``ValueError`` that
  names the argument and the first bad index (a failed pair must be dealt with before computing a metric);
- a statistic that is undefined for the data (a correlation of constant scores, an AUROC with one class)
  is returned as ``nan`` rather than raised, as scipy does, so that one degenerate subset of a benchmark
  does not throw away a long scoring run;
- ``gold`` is the human judgement, ``metric`` the automatic score (the tie-calibrated accuracy is not
  symmetric in them: only the metric's ties are calibrated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ArrayLike = Any


def as_vector(values: ArrayLike, name: str = "values", min_len: int = 1) -> np.ndarray:
    """``values`` as a 1-D float64 array, or a ``ValueError`` naming ``name`` and the bad entry."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__} ({e})") from e
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} contains {bad.size} NaN or infinite value(s), first at index {int(bad[0])} "
                         f"({arr[bad[0]]}); drop or rescore those items before computing the metric")
    if arr.size < min_len:
        raise ValueError(f"{name} needs at least {min_len} value(s), got {arr.size}")
    return arr


def _pair(gold: ArrayLike, metric: ArrayLike, min_len: int = 2) -> tuple[np.ndarray, np.ndarray]:
    g = as_vector(gold, "gold", min_len)
    m = as_vector(metric, "metric", min_len)
    if g.shape != m.shape:
        raise ValueError(f"gold and metric must have the same length, got {g.size} and {m.size}")
    return g, m


# ------------------------------------------------------------------------------------------- correlations


def rankdata(values: ArrayLike) -> np.ndarray:
    """Ranks starting at 1, ties sharing their average rank (scipy's ``rankdata(method='average')``)."""
    x = as_vector(values)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    # boundaries of runs of equal values
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks_sorted = np.repeat(avg, ends - starts)
    out = np.empty_like(ranks_sorted)
    out[order] = ranks_sorted
    return out


def pearson(gold: ArrayLike, metric: ArrayLike) -> float:
    """Pearson's correlation coefficient; ``nan`` when either input is constant."""
    g, m = _pair(gold, metric)
    gc, mc = g - g.mean(), m - m.mean()
    denom = float(np.sqrt((gc * gc).sum() * (mc * mc).sum()))
    if denom == 0.0:
        return float("nan")
    return float(np.clip((gc * mc).sum() / denom, -1.0, 1.0))


def spearman(gold: ArrayLike, metric: ArrayLike) -> float:
    """Spearman's rank correlation (Pearson of average ranks); ``nan`` when either input is constant."""
    g, m = _pair(gold, metric)
    return pearson(rankdata(g), rankdata(m))


def _chunk_rows(n: int) -> int:
    # about 4M matrix entries per chunk: bounded memory even for the ~17k items of Flickr8K-CF
    return max(1, 4_000_000 // max(n, 1))


def _pair_signs(x: np.ndarray, y: np.ndarray):
    """Yield, chunk by chunk of rows i, the signs of x[j]-x[i] and y[j]-y[i] for every pair i < j."""
    n = x.size
    chunk = _chunk_rows(n)
    for s in range(0, n, chunk):
        rows = np.arange(s, min(s + chunk, n))
        cols = np.arange(n)
        upper = cols[None, :] > rows[:, None]
        dx = np.sign(x[None, :] - x[rows][:, None])[upper]
        dy = np.sign(y[None, :] - y[rows][:, None])[upper]
        yield dx, dy


def kendall_tau(gold: ArrayLike, metric: ArrayLike, variant: str = "b") -> float:
    """Kendall's tau-b (``variant="b"``) or tau-c (``"c"``), as ``scipy.stats.kendalltau``.

    tau-b = (C - D) / sqrt((P - T_gold) (P - T_metric)); tau-c = 2 (C - D) / (n^2 (k - 1) / k) with
    k = min(distinct gold values, distinct metric values). ``nan`` when either input is constant.
    """
    if variant not in ("b", "c"):
        raise ValueError(f"variant must be 'b' or 'c', got {variant!r}")
    g, m = _pair(gold, metric)
    n = g.size
    con = dis = tie_g = tie_m = 0
    for dg, dm in _pair_signs(g, m):
        prod = dg * dm
        con += int((prod > 0).sum())
        dis += int((prod < 0).sum())
        tie_g += int((dg == 0).sum())
        tie_m += int((dm == 0).sum())
    total = n * (n - 1) // 2
    if tie_g == total or tie_m == total:
        return float("nan")
    if variant == "b":
        return float((con - dis) / np.sqrt(float(total - tie_g) * float(total - tie_m)))
    k = min(np.unique(g).size, np.unique(m).size)
    return float(2.0 * (con - dis) / (n * n * (k - 1) / k))


# ------------------------------------------------------------------------------------------- pairwise accuracy


@dataclass(frozen=True)
class PairwiseAccuracy:
    """Result of :func:`pairwise_accuracy`: the accuracy, the metric tie threshold it used, and counts."""

    accuracy: float
    threshold: float
    num_pairs: int
    num_groups: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON-friendly view."""
        return {"accuracy": self.accuracy, "threshold": self.threshold, "num_pairs": self.num_pairs,
                "num_groups": self.num_groups}


def _group_index(groups: ArrayLike | None, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.zeros(n, dtype=np.int64), 1
    labels = list(groups)
    if len(labels) != n:
        raise ValueError(f"groups must have one label per item ({n}), got {len(labels)}")
    uniq: dict[Any, int] = {}
    idx = np.array([uniq.setdefault(lab, len(uniq)) for lab in labels], dtype=np.int64)
    return idx, len(uniq)


def _pairs(g: np.ndarray, m: np.ndarray, group: np.ndarray, sample_rate: float, seed: int):
    """Every within-group pair (i < j): its group, |metric diff|, gold sign and metric sign."""
    rng = np.random.default_rng(seed)
    out_group, out_diff, out_sg, out_sm = [], [], [], []
    order = np.argsort(group, kind="mergesort")
    bounds = np.r_[0, np.flatnonzero(np.diff(group[order])) + 1, group.size]
    for a, b in zip(bounds[:-1], bounds[1:]):
        members = order[a:b]
        if members.size < 2:
            continue
        gg, mm = g[members], m[members]
        for dg, dm_sign, dm_abs in _group_pair_chunks(gg, mm):
            if sample_rate < 1.0:
                keep = rng.random(dg.size) < sample_rate
                dg, dm_sign, dm_abs = dg[keep], dm_sign[keep], dm_abs[keep]
            out_group.append(np.full(dg.size, group[members[0]], dtype=np.int64))
            out_diff.append(dm_abs)
            out_sg.append(dg.astype(np.int8))
            out_sm.append(dm_sign.astype(np.int8))
    if not out_group:
        return (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int8))
    return np.concatenate(out_group), np.concatenate(out_diff), np.concatenate(out_sg), np.concatenate(out_sm)


def _group_pair_chunks(g: np.ndarray, m: np.ndarray):
    n = g.size
    chunk = _chunk_rows(n)
    cols = np.arange(n)
    for s in range(0, n, chunk):
        rows = np.arange(s, min(s + chunk, n))
        upper = cols[None, :] > rows[:, None]
        dg = np.sign(g[None, :] - g[rows][:, None])[upper]
        dmv = (m[None, :] - m[rows][:, None])[upper]
        yield dg, np.sign(dmv), np.abs(dmv)


def pairwise_accuracy(gold: ArrayLike, metric: ArrayLike, *, groups: ArrayLike | None = None,
                      tie_calibration: bool = True, sample_rate: float = 1.0, seed: int = 0) -> PairwiseAccuracy:
    """Pairwise accuracy with tie calibration (Deutsch et al., 2023, "Ties Matter", the ``acc_23`` variant).

    Over every pair of items (within each group when ``groups`` is given), a pair counts as correct when
    the metric orders it as the humans do, or when both call it a tie. The metric's ties are *calibrated*:
    two metric scores closer than a threshold ``eps`` are treated as tied, and ``eps`` is chosen among 0 and
    every observed pairwise difference to maximise the accuracy (the smallest such ``eps`` is reported).
    With groups, the accuracy is the mean of the per-group accuracies; groups with fewer than two items
    contribute no pair and are left out.

    Args:
        gold: human scores.
        metric: automatic scores.
        groups: one group label per item (e.g. the prompt id), or ``None`` for a single group.
        tie_calibration: ``False`` keeps ``eps = 0`` (only exact metric ties are ties).
        sample_rate: the fraction of pairs used, in (0, 1]; below 1 pairs are drawn with ``seed`` (for sets
            too large to enumerate; the reference uses 0.1 on Flickr8K-CF).
    """
    g, m = _pair(gold, metric)
    if not 0.0 < sample_rate <= 1.0:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    group, _ = _group_index(groups, g.size)
    pg, diff, sg, sm = _pairs(g, m, group, sample_rate, seed)
    if pg.size == 0:
        raise ValueError("pairwise accuracy needs at least one group with two or more items")
    present, pg = np.unique(pg, return_inverse=True)
    n_groups = present.size
    per_group_pairs = np.bincount(pg, minlength=n_groups).astype(np.float64)
    human_tie = sg == 0
    # a pair is correct at eps=0 when both signs agree (a tie in both counts as agreement)
    correct0 = (sg == sm).astype(np.float64)
    weight = 1.0 / (per_group_pairs[pg] * n_groups)
    base = float((correct0 * weight).sum())
    if not tie_calibration:
        return PairwiseAccuracy(base, 0.0, int(pg.size), int(n_groups))
    # raising eps past a pair's diff turns it into a metric tie: correct iff the humans tie it
    delta = (human_tie.astype(np.float64) - correct0) * weight
    order = np.argsort(diff, kind="mergesort")
    d_sorted = diff[order]
    cum = np.cumsum(delta[order])
    last_of_run = np.r_[np.flatnonzero(np.diff(d_sorted)), d_sorted.size - 1]
    thresholds = np.r_[0.0, d_sorted[last_of_run]]
    accs = np.r_[base, base + cum[last_of_run]]
    if d_sorted[0] == 0.0:  # eps = 0 already ties those pairs: the first run is the eps = 0 value itself
        thresholds, accs = thresholds[1:], accs[1:]
    best = int(np.flatnonzero(accs >= accs.max() - 1e-12)[0])
    return PairwiseAccuracy(float(accs[best]), float(thresholds[best]), int(pg.size), int(n_groups))


def pairwise_accuracy_without_ties(gold: ArrayLike, metric: ArrayLike, *, groups: ArrayLike | None = None,
                                   sample_rate: float = 1.0, seed: int = 0) -> float:
    """Pairwise accuracy over the pairs the humans do not tie: the fraction the metric orders strictly the
    same way (a metric tie counts as wrong). Averaged over groups; groups where the humans tie every pair
    are left out. ``nan`` when the humans tie every pair."""
    g, m = _pair(gold, metric)
    group, _ = _group_index(groups, g.size)
    pg, _diff, sg, sm = _pairs(g, m, group, sample_rate, seed)
    if pg.size == 0:
        raise ValueError("pairwise accuracy needs at least one group with two or more items")
    keep = sg != 0
    if not keep.any():
        return float("nan")
    pg, sg, sm = pg[keep], sg[keep], sm[keep]
    present, pg = np.unique(pg, return_inverse=True)
    n = np.bincount(pg).astype(np.float64)
    c = np.bincount(pg, weights=(sg == sm).astype(np.float64))
    return float(np.mean(c / n))


# ------------------------------------------------------------------------------------------- classification


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve for binary ``labels`` (0/1); ties count one half. ``nan`` with one class."""
    y, s = _pair(labels, scores, min_len=1)
    if not np.isin(y, (0.0, 1.0)).all():
        bad = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)))[0])
        raise ValueError(f"labels must be 0 or 1, got {y[bad]} at index {bad}")
    pos = y == 1.0
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_accuracy(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of items whose prediction ``score >= threshold`` equals the 0/1 label."""
    y, s = _pair(labels, scores, min_len=1)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return float(np.mean((s >= threshold) == (y == 1.0)))


# ------------------------------------------------------------------------------------------- Winoground-style


def winoground_accuracy(scores: ArrayLike) -> dict[str, float]:
    """Text, image and group accuracy of 2-image x 2-caption items.

    ``scores[k, i, j]`` is image i of item k with caption j (the matching pairs are (0, 0) and (1, 1)).
    Text: each image prefers its own caption; image: each caption prefers its own image; group: both.
    Comparisons are strict, so a tie is wrong.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 3 or s.shape[1:] != (2, 2):
        raise ValueError(f"expected scores of shape (items, 2, 2), got {s.shape}")
    if s.shape[0] == 0:
        raise ValueError("no items to evaluate")
    if not np.isfinite(s).all():
        k = int(np.flatnonzero(~np.isfinite(s).reshape(len(s), -1).all(axis=1))[0])
        raise ValueError(f"scores contain NaN or infinite values, first in item {k}")
    text = (s[:, 0, 0] > s[:, 0, 1]) & (s[:, 1, 1] > s[:, 1, 0])
    image = (s[:, 0, 0] > s[:, 1, 0]) & (s[:, 1, 1] > s[:, 0, 1])
    return {"text": float(text.mean()), "image": float(image.mean()), "group": float((text & image).mean()),
            "n": int(s.shape[0])}


# ------------------------------------------------------------------------------------------- per-skill means


def mean_std(values: ArrayLike) -> dict[str, float | int]:
    """Mean and sample standard deviation (``ddof=1``, as the reference's torch ``std``; ``nan`` for one value)."""
    v = as_vector(values, min_len=1)
    std = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    return {"mean": float(v.mean()), "std": std, "n": int(v.size)}


def skill_means(scores: ArrayLike, skills: Mapping[str, Sequence[int]]) -> dict[str, dict[str, float | int]]:
    """Mean and std of ``scores`` over the item indices of each skill; ``"all"`` is the union of every skill.

    A skill with no item is left out of the result (it cannot have a mean).
    """
    s = as_vector(scores, "scores")
    out: dict[str, dict[str, float | int]] = {}
    union: set[int] = set()
    for name, idx in skills.items():
        ids = [int(i) for i in idx]
        bad = [i for i in ids if not 0 <= i < s.size]
        if bad:
            raise ValueError(f"skill {name!r} refers to item {bad[0]}, but there are {s.size} scores")
        if not ids:
            continue
        union.update(ids)
        out[name] = mean_std(s[ids])
    if union:
        out["all"] = mean_std(s[sorted(union)])
    return out


def correlations(gold: ArrayLike, metric: ArrayLike, *, groups: ArrayLike | None = None,
                 sample_rate: float = 1.0) -> dict[str, float]:
    """The correlation block the reference prints for human-rated sets: Pearson, Spearman, Kendall tau-b
    and tau-c, pairwise accuracy with tie calibration (and its threshold) and without ties."""
    pa = pairwise_accuracy(gold, metric, groups=groups, sample_rate=sample_rate)
    return {
        "pearson": pearson(gold, metric),
        "spearman": spearman(gold, metric),
        "kendall_tau_b": kendall_tau(gold, metric, "b"),
        "kendall_tau_c": kendall_tau(gold, metric, "c"),
        "pairwise_acc": pa.accuracy,
        "pairwise_acc_threshold": pa.threshold,
        "pairwise_acc_no_ties": pairwise_accuracy_without_ties(gold, metric, groups=groups, sample_rate=sample_rate),
    }


# ------------------------------------------------------------------------------------------- ranking / CameraBench


def _binary_labels(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y, s = _pair(labels, scores, min_len=1)
    if not np.isin(y, (0.0, 1.0)).all():
        bad = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)))[0])
        raise ValueError(f"labels must be 0 or 1, got {y[bad]} at index {bad}")
    return y, s


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision of ``scores`` for binary ``labels``, as ``sklearn.metrics.average_precision_score``.

    AP = sum over the distinct score thresholds, from the highest down, of (R_k - R_{k-1}) * P_k, where P_k
    and R_k are the precision and recall of predicting positive every item scoring >= the k-th threshold
    (tied scores enter together; no interpolation). ``nan`` without positives; 1.0 without negatives.
    """
    y, s = _binary_labels(labels, scores)
    n_pos = float(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]  # last item of each run of ties
    tp = np.cumsum(y_sorted)[last]
    predicted = last + 1.0
    precision = tp / predicted
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def vqa_accuracy(yes: ArrayLike, no: ArrayLike) -> dict[str, float | int]:
    """CameraBench's VQA accuracies of items made of 2 videos x 2 yes/no questions.

    ``yes[k, i, j]`` / ``no[k, i, j]`` are the scores of the answers "Yes" / "No" for video i of item k asked
    question j (0 = positive, 1 = negative; video i is the right one for question i). A cell is right when
    the right answer scores strictly higher: "Yes" on the diagonal (i == j), "No" off it.
    ``binary_acc`` is the fraction of right cells (4 per item); ``question_acc`` the fraction of questions
    (2 per item) whose two cells are both right.
    """
    y = np.asarray(yes, dtype=np.float64)
    n = np.asarray(no, dtype=np.float64)
    if y.ndim != 3 or y.shape[1:] != (2, 2) or n.shape != y.shape:
        raise ValueError(f"expected yes and no scores of the same shape (items, 2, 2), got {y.shape} and {n.shape}")
    if y.shape[0] == 0:
        raise ValueError("no items to evaluate")
    for name, arr in (("yes", y), ("no", n)):
        if not np.isfinite(arr).all():
            k = int(np.flatnonzero(~np.isfinite(arr).reshape(len(arr), -1).all(axis=1))[0])
            raise ValueError(f"{name} scores contain NaN or infinite values, first in item {k}")
    diagonal = np.eye(2, dtype=bool)[None, :, :]
    right = np.where(diagonal, y > n, n > y)
    question = right.all(axis=1)  # per question j: both videos' cells right
    return {"binary_acc": float(right.mean()), "question_acc": float(question.mean()), "n": int(y.shape[0])}


def mean_std_population(values: ArrayLike) -> dict[str, float | int]:
    """Mean and population standard deviation (``ddof=0``, as ``np.std``; 0.0 for one value), the spread
    the CameraBench scripts report over splits."""
    v = as_vector(values, min_len=1)
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}
