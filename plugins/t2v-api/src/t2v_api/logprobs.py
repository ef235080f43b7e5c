"""The probability of the answer, read from the first output token's top log-probabilities.

The rule (also in the README):

* A returned candidate token counts as the answer when it equals the answer after removing surrounding
  whitespace and ignoring case (``str.strip`` then ``str.casefold``): for the answer "Yes", the tokens
  "Yes", " Yes", "yes", "YES" and "Yes\\n" all count, "Yes." and "Yesterday" do not.
* The score is the sum of the probabilities (``exp(logprob)``) of every counted candidate. Candidates are
  distinct tokens; a token repeated in a reply counts once.
* When at least one candidate counts, the score is ``exact`` (as exact as top-k allows: variants the service
  did not return could add at most the unreturned mass ``1 - sum(returned)``).
* When no candidate counts, the answer's probability is not observed. Every answer token then lies in the
  unreturned mass, so the score reported is the **upper bound** ``max(0, 1 - sum(returned probabilities))``,
  flagged ``exact=False``; it is never a silent 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerProbability:
    """The answer's probability from one reply.

    Attributes:
        value: the score (the summed probability, or the upper bound when ``exact`` is False).
        exact: False when the answer was not among the returned candidates and ``value`` is an upper bound.
        matched: the candidate tokens that counted as the answer.
        returned_mass: the summed probability of every returned candidate.
        min_returned: the smallest returned probability (each unreturned token is at most this likely).
        n_returned: how many distinct candidates the reply held.
    """

    value: float
    exact: bool
    matched: tuple[str, ...]
    returned_mass: float
    min_returned: float
    n_returned: int


def normalize(token: str) -> str:
    """The form in which a token is compared with the answer: stripped of whitespace, case-folded."""
    return token.strip().casefold()


def answer_probability(candidates: Iterable[tuple[str, float]], answer: str) -> AnswerProbability:
    """Apply the rule above to ``(token, logprob)`` candidates of the first output token.

    Raises:
        ValueError: no candidates, or a log-probability that is not a finite number <= 0 (a malformed reply).
    """
    seen: dict[str, float] = {}
    for token, logprob in candidates:
        if not isinstance(token, str):
            raise ValueError(f"candidate token {token!r} is not a string")
        if isinstance(logprob, bool) or not isinstance(logprob, (int, float)) or not math.isfinite(logprob) \
                or logprob > 1e-6:
            raise ValueError(f"candidate {token!r} has log-probability {logprob!r}; expected a finite number <= 0")
        seen.setdefault(token, math.exp(min(float(logprob), 0.0)))
    if not seen:
        raise ValueError("the reply holds no candidate tokens")
    target = normalize(answer)
    matched = tuple(t for t in seen if normalize(t) == target)
    mass = sum(seen.values())
    lowest = min(seen.values())
    if matched:
        value = min(1.0, sum(seen[t] for t in matched))
        return AnswerProbability(value, True, matched, mass, lowest, len(seen))
    return AnswerProbability(min(1.0, max(0.0, 1.0 - mass)), False, (), mass, lowest, len(seen))


def check_answer(answer: str) -> str:
    """Refuse answers that cannot be one first token: the hosted models only show the first token's options."""
    word = answer.strip()
    if not word:
        raise ValueError("the answer is empty; hosted-model VQAScore needs a one-word answer such as 'Yes'")
    if any(ch.isspace() for ch in word):
        raise ValueError(
            f"the answer {answer!r} has several words, but hosted models return log-probabilities of the first "
            "output token only: use a one-word answer_template such as 'Yes' or 'No' (VisualGPTScore's '{}' "
            "is not possible with these services)")
    return word
