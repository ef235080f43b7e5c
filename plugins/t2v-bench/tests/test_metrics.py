"""Metric functions against hand-computed examples, edge cases, and scipy / brute-force cross-checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _bench_helpers import brute_acc23_with_threshold
from t2v_bench import metrics as M

# ----------------------------------------------------------------------------------------- hand examples


def test_correlations_without_ties():
    # gold 1 2 3 4 vs metric 1 3 2 4: deviations (-1.5 -.5 .5 1.5) and (-1.5 .5 -.5 1.5), cov 4, var 5 -> 0.8;
    # one discordant pair (items 1, 2) of 6 -> tau = (5 - 1) / 6
    g, m = [1, 2, 3, 4], [1, 3, 2, 4]
    assert M.pearson(g, m) == pytest.approx(0.8)
    assert M.spearman(g, m) == pytest.approx(0.8)
    assert M.kendall_tau(g, m, "b") == pytest.approx(4 / 6)
    assert M.kendall_tau(g, m, "c") == pytest.approx(2 * 4 / (16 * 3 / 4))


def test_kendall_with_ties():
    # pairs: (0,1) tied in gold only, (1,2) tied in metric only, the 4 others concordant
    g, m = [1, 1, 2, 3], [1, 2, 2, 3]
    assert M.kendall_tau(g, m, "b") == pytest.approx(4 / math.sqrt(5 * 5))
    # tau-c: k = min(3 distinct, 3 distinct) = 3 -> 2 * 4 / (16 * 2 / 3)
    assert M.kendall_tau(g, m, "c") == pytest.approx(0.75)
    # Spearman: average ranks (1.5 1.5 3 4) and (1 2.5 2.5 4)
    assert M.spearman(g, m) == pytest.approx(M.pearson([1.5, 1.5, 3, 4], [1, 2.5, 2.5, 4]))


def test_pairwise_accuracy_hand():
    g, m = [1, 1, 2, 3], [1, 2, 2, 3]
    # eps = 0: 4 concordant of 6 pairs; eps = 1 ties five pairs, only the gold tie (0,1) is then right -> 2/6;
    # eps = 2 ties all -> 1/6. The best is eps = 0.
    pa = M.pairwise_accuracy(g, m)
    assert pa.accuracy == pytest.approx(4 / 6) and pa.threshold == 0.0 and pa.num_pairs == 6
    # without ties: 5 pairs not tied by humans, 4 ordered strictly the same way (the metric tie (1,2) is wrong)
    assert M.pairwise_accuracy_without_ties(g, m) == pytest.approx(4 / 5)


def test_tie_calibration_helps():
    # gold ties items 0 and 1; the metric separates them by 0.1 -> with eps >= 0.1 all 3 pairs are right
    g, m = [1, 1, 2], [0.5, 0.6, 0.9]
    assert M.pairwise_accuracy(g, m, tie_calibration=False).accuracy == pytest.approx(2 / 3)
    pa = M.pairwise_accuracy(g, m)
    assert pa.accuracy == pytest.approx(1.0)
    assert pa.threshold == pytest.approx(0.1)
    assert M.pairwise_accuracy_without_ties(g, m) == pytest.approx(1.0)


def test_pairwise_accuracy_groups():
    # group a ordered right, group b wrong -> mean 0.5; a singleton group has no pair and is left out
    g, m = [1, 2, 2, 1, 5], [1, 2, 1, 2, 0]
    pa = M.pairwise_accuracy(g, m, groups=["a", "a", "b", "b", "c"])
    assert pa.accuracy == pytest.approx(0.5) and pa.num_groups == 2 and pa.num_pairs == 2
    assert M.pairwise_accuracy_without_ties(g, m, groups=["a", "a", "b", "b", "c"]) == pytest.approx(0.5)


def test_single_group_and_no_pairs():
    assert M.pairwise_accuracy([1, 2, 3], [3, 2, 1], groups=["x", "x", "x"]).accuracy == 0.0
    with pytest.raises(ValueError, match="two or more items"):
        M.pairwise_accuracy([1, 2], [1, 2], groups=["a", "b"])
    with pytest.raises(ValueError, match="one label per item"):
        M.pairwise_accuracy([1, 2], [1, 2], groups=["a"])


def test_constant_inputs():
    assert math.isnan(M.pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(M.spearman([1, 2, 3], [5, 5, 5]))
    assert math.isnan(M.kendall_tau([1, 2, 3], [5, 5, 5]))
    # a constant metric ties every pair: right exactly on the gold ties (1 of 3 pairs)
    assert M.pairwise_accuracy([1, 1, 2], [0.3, 0.3, 0.3]).accuracy == pytest.approx(1 / 3)
    assert math.isnan(M.pairwise_accuracy_without_ties([2, 2, 2], [1, 2, 3]))


@pytest.mark.parametrize("fn", [M.pearson, M.spearman, M.kendall_tau, M.pairwise_accuracy, M.auroc])
def test_nan_rejected(fn):
    with pytest.raises(ValueError, match="NaN or infinite.*index 1"):
        fn([0, 1, 1], [0.2, float("nan"), 0.5])
    with pytest.raises(ValueError, match="gold|labels|values"):
        fn([0, float("inf"), 1], [0.2, 0.3, 0.5])


def test_length_mismatch_and_too_short():
    with pytest.raises(ValueError, match="same length"):
        M.pearson([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        M.kendall_tau([1], [1])


def test_auroc_and_accuracy():
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ranked right
    assert M.auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert M.auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert math.isnan(M.auroc([1, 1], [0.2, 0.3]))
    assert M.binary_accuracy([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.8]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="0 or 1"):
        M.auroc([0, 2], [0.1, 0.2])


def test_winoground_accuracy_hand():
    s = np.array([
        [[0.9, 0.1], [0.2, 0.8]],  # everything right
        [[0.6, 0.5], [0.7, 0.8]],  # text right (0.6>0.5, 0.8>0.7); image wrong (0.6 < 0.7)
        [[0.5, 0.5], [0.1, 0.9]],  # text tie -> wrong; image right (0.5>0.1, 0.9>0.5)
        [[0.1, 0.9], [0.9, 0.1]],  # all wrong
    ])
    acc = M.winoground_accuracy(s)
    assert acc == {"text": 0.5, "image": 0.5, "group": 0.25, "n": 4}
    with pytest.raises(ValueError, match="shape"):
        M.winoground_accuracy(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="item 1"):
        M.winoground_accuracy(np.where(np.arange(16).reshape(4, 2, 2) == 5, np.nan, s))


def test_skill_means_hand():
    out = M.skill_means([1, 2, 3, 4], {"a": [0, 1], "b": [1, 2, 3], "empty": []})
    assert out["a"]["mean"] == pytest.approx(1.5) and out["a"]["std"] == pytest.approx(math.sqrt(0.5))
    assert out["b"]["mean"] == pytest.approx(3.0) and out["b"]["std"] == pytest.approx(1.0)
    assert out["all"]["mean"] == pytest.approx(2.5) and out["all"]["n"] == 4
    assert "empty" not in out
    assert math.isnan(M.skill_means([1, 2], {"one": [1]})["one"]["std"])
    with pytest.raises(ValueError, match="refers to item 7"):
        M.skill_means([1, 2], {"x": [7]})


# ----------------------------------------------------------------------------------------- cross-checks


@pytest.mark.parametrize("seed", range(6))
def test_pairwise_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 14
    g = rng.integers(1, 4, n).astype(float)  # many gold ties, as Likert ratings have
    m = np.round(rng.random(n), 1)  # some metric ties too
    groups = rng.integers(0, 3, n) if seed % 2 else None
    acc, eps = brute_acc23_with_threshold(g, m, groups)
    pa = M.pairwise_accuracy(g, m, groups=groups)
    assert pa.accuracy == pytest.approx(acc)
    assert pa.threshold == pytest.approx(eps)


@pytest.mark.parametrize("seed", range(4))
def test_against_scipy(seed):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(seed)
    g = rng.integers(1, 6, 40).astype(float)
    m = np.round(rng.random(40), 2)
    assert M.pearson(g, m) == pytest.approx(stats.pearsonr(g, m)[0])
    assert M.spearman(g, m) == pytest.approx(stats.spearmanr(g, m)[0])
    assert M.kendall_tau(g, m, "b") == pytest.approx(stats.kendalltau(g, m, variant="b")[0])
    assert M.kendall_tau(g, m, "c") == pytest.approx(stats.kendalltau(g, m, variant="c")[0])
    assert np.allclose(M.rankdata(m), stats.rankdata(m))
    labels = (g > 3).astype(float)
    pos, neg = m[labels == 1], m[labels == 0]
    brute = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    assert M.auroc(labels, m) == pytest.approx(brute)


def test_kendall_chunking_large():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    g, m = rng.integers(1, 6, 2500).astype(float), rng.random(2500)
    assert M.kendall_tau(g, m) == pytest.approx(stats.kendalltau(g, m)[0])


def test_sampled_pairs_are_deterministic():
    rng = np.random.default_rng(1)
    g, m = rng.integers(1, 6, 300).astype(float), rng.random(300)
    a = M.pairwise_accuracy(g, m, sample_rate=0.2, seed=3)
    b = M.pairwise_accuracy(g, m, sample_rate=0.2, seed=3)
    full = M.pairwise_accuracy(g, m)
    assert a == b and 0.15 * full.num_pairs < a.num_pairs < 0.25 * full.num_pairs
    assert abs(a.accuracy - full.accuracy) < 0.05
    with pytest.raises(ValueError, match="sample_rate"):
        M.pairwise_accuracy(g, m, sample_rate=0)
