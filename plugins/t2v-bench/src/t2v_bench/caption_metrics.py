"""Caption metrics of CameraBench: the reference's simplified definitions, and the standard COCO ones.

The reference (``camerabench/caption_evaluation.py``) reports metrics named SPICE, CIDEr, BLEU-2, ROUGE-L and
METEOR, but only BLEU-2 and ROUGE-L are the usual definitions; the other three are simplified stand-ins. They
are implemented here under their reference formulas and reported with a ``_simplified`` suffix:

- tokens: lower-case, ASCII punctuation removed, split on whitespace;
- ``spice_simplified``: F1 of the sets of unigrams of reference and candidate;
- ``cider_simplified``: cosine of the two bag-of-words count vectors (no n-grams, no tf-idf, no corpus);
- ``meteor_simplified``: unigram and bigram *set* precision / recall, weighted 0.8 / 0.2, combined as
  ``10 P R / (R + 9 P)`` (no alignment, stems, synonyms or fragmentation penalty);
- ``bleu2``: sentence BLEU with weights (1/2, 1/2) and "method 1" smoothing (a zero n-gram count becomes 0.1),
  as ``nltk``'s ``sentence_bleu``; 0 when no unigram matches;
- ``rouge_l``: ROUGE-L F-measure of the ``rouge-score`` package with its Porter stemmer (needs
  ``pip install 't2v-bench[caption]'``; ``None`` without it).

:func:`coco_metrics` adds the standard corpus-level BLEU-1..4, CIDEr-D and ROUGE-L of ``pycocoevalcap`` when
that package is installed, on the same tokens (its PTB tokenizer and its METEOR and SPICE need Java, so they
are not used).
"""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

_PUNCT = str.maketrans("", "", string.punctuation)


def tokens(text: str | None) -> list[str]:
    """The reference's preprocessing: lower-case, punctuation removed, whitespace split."""
    return text.lower().translate(_PUNCT).split() if text else []


def spice_simplified(reference: str, candidate: str) -> float:
    """F1 of the unigram sets (the reference's "SPICE")."""
    ref, cand = set(tokens(reference)), set(tokens(candidate))
    if not ref or not cand:
        return 0.0
    common = len(ref & cand)
    p, r = common / len(cand), common / len(ref)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def cider_simplified(reference: str, candidate: str) -> float:
    """Cosine of the bag-of-words counts (the reference's "CIDEr")."""
    ref, cand = Counter(tokens(reference)), Counter(tokens(candidate))
    if not ref or not cand:
        return 0.0
    dot = sum(ref[w] * cand[w] for w in ref)
    return dot / (math.sqrt(sum(v * v for v in ref.values())) * math.sqrt(sum(v * v for v in cand.values())))


def meteor_simplified(reference: str, candidate: str) -> float:
    """Set-based unigram/bigram precision and recall, 0.8/0.2, combined as 10PR/(R+9P) (the reference's
    "METEOR")."""
    ref, cand = tokens(reference), tokens(candidate)
    if not ref or not cand:
        return 0.0

    def pr(a: set, b: set) -> tuple[float, float]:
        common = len(a & b)
        return (common / len(b) if b else 0.0), (common / len(a) if a else 0.0)

    p1, r1 = pr(set(ref), set(cand))
    p2, r2 = pr(set(zip(ref, ref[1:])), set(zip(cand, cand[1:])))
    p, r = 0.8 * p1 + 0.2 * p2, 0.8 * r1 + 0.2 * r2
    return 0.0 if p + r == 0 else 10 * p * r / (r + 9 * p)


def bleu2(reference: str, candidate: str) -> float:
    """Sentence BLEU-2 (weights 1/2, 1/2) with method-1 smoothing, as nltk's ``sentence_bleu``."""
    ref, cand = tokens(reference), tokens(candidate)
    if not ref or not cand:
        return 0.0
    logs = []
    for n in (1, 2):
        hyp = Counter(tuple(cand[i:i + n]) for i in range(len(cand) - n + 1))
        refc = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
        matched = sum(min(c, refc[g]) for g, c in hyp.items())
        total = max(1, sum(hyp.values()))
        if n == 1 and matched == 0:
            return 0.0
        logs.append(math.log((matched if matched else 0.1) / total))
    c, r = len(cand), len(ref)
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(0.5 * logs[0] + 0.5 * logs[1])


def rouge_l(reference: str, candidate: str) -> float | None:
    """ROUGE-L F-measure with stemming (``rouge-score``); ``None`` when the package is not installed."""
    if not reference or not candidate:
        return 0.0
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        return None
    return float(rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(reference, candidate)["rougeL"].fmeasure)


SIMPLIFIED = {"spice_simplified": spice_simplified, "cider_simplified": cider_simplified, "bleu2": bleu2,
              "rouge_l": rouge_l, "meteor_simplified": meteor_simplified}


def coco_metrics(references: Sequence[str], candidates: Sequence[str]) -> dict[str, Any] | None:
    """Corpus-level BLEU-1..4, CIDEr-D and ROUGE-L of ``pycocoevalcap`` (one reference per item), on the
    reference's tokens; ``None`` when the package is not installed or there is nothing to score."""
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        return None
    if not references:
        return None
    gts = {i: [" ".join(tokens(r))] for i, r in enumerate(references)}
    res = {i: [" ".join(tokens(c))] for i, c in enumerate(candidates)}
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pycocoevalcap prints its own progress
        bleu, _ = Bleu(4).compute_score(gts, res)
        cider, _ = Cider().compute_score(gts, res)
        rouge, _ = Rouge().compute_score(gts, res)
    return {"coco_bleu1": float(bleu[0]), "coco_bleu2": float(bleu[1]), "coco_bleu3": float(bleu[2]),
            "coco_bleu4": float(bleu[3]), "coco_cider": float(cider), "coco_rouge_l": float(rouge)}
