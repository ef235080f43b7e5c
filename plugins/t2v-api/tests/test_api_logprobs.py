"""The probability rule on its own: variants, decoys, absent answers, malformed candidates."""

from __future__ import annotations

import math

import pytest
from t2v_api.logprobs import answer_probability, check_answer


def lp(p: float) -> float:
    return math.log(p)


def test_case_and_space_variants_add_up() -> None:
    cands = [("Yes", lp(0.5)), (" yes", lp(0.2)), ("YES\n", lp(0.05)), ("No", lp(0.2)), ("Yes.", lp(0.03))]
    r = answer_probability(cands, "Yes")
    assert r.exact
    assert set(r.matched) == {"Yes", " yes", "YES\n"}
    assert r.value == pytest.approx(0.75, rel=1e-12)  # "Yes." differs by punctuation: not counted


def test_answer_with_spaces_and_other_case_matches() -> None:
    r = answer_probability([(" no", lp(0.6)), ("Yes", lp(0.4))], " NO ")
    assert r.exact and r.value == pytest.approx(0.6)


def test_repeated_token_counts_once() -> None:
    r = answer_probability([("Yes", lp(0.4)), ("Yes", lp(0.4)), ("No", lp(0.5))], "Yes")
    assert r.value == pytest.approx(0.4)


def test_absent_answer_is_the_flagged_upper_bound_not_zero() -> None:
    cands = [("No", lp(0.9)), ("I", lp(0.05)), ("The", lp(0.03))]
    r = answer_probability(cands, "Yes")
    assert not r.exact
    assert r.value == pytest.approx(0.02, rel=1e-9)  # 1 - (0.9 + 0.05 + 0.03)
    assert r.min_returned == pytest.approx(0.03)
    assert r.n_returned == 3


def test_absent_answer_bound_is_clamped_at_zero_when_mass_rounds_over_one() -> None:
    r = answer_probability([("No", 0.0), ("I", lp(1e-9))], "Yes")
    assert not r.exact and r.value == 0.0


@pytest.mark.parametrize("bad", [[], [("Yes", float("nan"))], [("Yes", 0.5)], [("Yes", "x")], [(3, -1.0)]])
def test_malformed_candidates_raise(bad: list) -> None:
    with pytest.raises(ValueError):
        answer_probability(bad, "Yes")


def test_multi_word_answers_are_refused() -> None:
    assert check_answer(" Yes ") == "Yes"
    with pytest.raises(ValueError, match="first output token"):
        check_answer("a red cube")
    with pytest.raises(ValueError, match="empty"):
        check_answer("  ")
