"""Reference-based metric features: the metrics a distilled judge has to beat, as its inputs.

A head that reads ROUGE-2 recall and F itself can at worst learn to copy them, so the metrics a
judge is compared with become a floor rather than a rival. The columns (METRICS, in order):

- ROUGE-1 and ROUGE-2 precision, recall and F against the references (each the best over them):
  tokens as rouge-score's default tokenizer makes them (lowercased, ASCII letters and digits,
  Porter-stemmed words longer than 3 letters) and its n-gram formulas (clipped overlap over the
  candidate's / the reference's n-gram count; F the harmonic mean), so `ref_rouge2_recall` and
  `ref_rouge2_f` equal rouge-score's `rouge2` recall and fmeasure (Lin 2004; google-research
  rouge-score, checked in tests/distill/test_distill25.py);
- clipped 3- and 4-gram precision (BLEU's modified precisions, Papineni et al. 2002) on the same
  tokens, best over the references;
- chrF (sacrebleu's CHRF, character 6-grams, beta 2; Popovic 2015) against up to four references
  (sacrebleu's multi-reference sentence score: the best reference's), divided by 100;
- log length ratio of the response to the closest-length reference (BLEU's brevity signal);
- ROUGE-1 / ROUGE-2 precision and recall against the source (copying and coverage; for a
  translation, the shared names and numbers).

No reference gives zeros (the `has_reference` scalar tells the head). Tokens are memoised per text:
the references and sources of a comparison are shared by many responses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

METRICS = (
    "ref_rouge1_precision",
    "ref_rouge1_recall",
    "ref_rouge1_f",
    "ref_rouge2_precision",
    "ref_rouge2_recall",
    "ref_rouge2_f",
    "ref_precision3",
    "ref_precision4",
    "ref_chrf",
    "ref_log_length_ratio",
    "src_rouge1_precision",
    "src_rouge1_recall",
    "src_rouge2_precision",
    "src_rouge2_recall",
)
CHRF_REFERENCES = 4


class _MemoStemmer:
    """nltk's Porter stemmer (the one rouge-score uses), each distinct word stemmed once."""

    def __init__(self) -> None:
        from nltk.stem import porter

        self._stem = lru_cache(maxsize=262144)(porter.PorterStemmer().stem)

    def stem(self, word: str) -> str:
        return str(self._stem(word))


@lru_cache(maxsize=1)
def _stemmer() -> _MemoStemmer:
    return _MemoStemmer()


@lru_cache(maxsize=32768)
def tokens(text: str) -> tuple[str, ...]:
    """rouge-score's tokens of `text` (its tokenize() with the Porter stemmer)."""
    from rouge_score.tokenize import tokenize

    return tuple(tokenize(text, _stemmer()))


@lru_cache(maxsize=32768)
def _grams(text: str, n: int) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def overlap_scores(candidate: str, target: str, n: int) -> tuple[float, float, float]:
    """(precision, recall, F) of candidate n-grams against target n-grams, rouge-score's way."""
    cand, ref = _grams(candidate, n), _grams(target, n)
    hits = sum(min(count, ref[gram]) for gram, count in cand.items() if gram in ref)
    precision = hits / max(sum(cand.values()), 1)
    recall = hits / max(sum(ref.values()), 1)
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f


@lru_cache(maxsize=1)
def _chrf():  # type: ignore[no-untyped-def]
    from sacrebleu.metrics.chrf import CHRF

    return CHRF()


@lru_cache(maxsize=8192)
def _chrf_references(references: tuple[str, ...]) -> dict[str, Any]:
    """sacrebleu's extracted n-grams of a reference set, once per set (shared by its systems)."""
    chrf = _chrf()
    return dict(chrf._extract_reference_info([chrf._preprocess_segment(r) for r in references]))


def chrf_score(response: str, references: Sequence[str]) -> float:
    """sacrebleu's CHRF().sentence_score(response, references).score, with the references'
    n-grams extracted once (the same steps sentence_score takes, checked equal in the tests)."""
    chrf = _chrf()
    stats = chrf._compute_segment_statistics(
        chrf._preprocess_segment(response), _chrf_references(tuple(references))
    )
    return float(chrf._compute_score_from_stats(stats).score)


def clear_caches() -> None:
    """Forget memoised tokens, n-grams and stems (a cold start, for timing)."""
    for cached in (tokens, _grams, _stemmer, _chrf_references):
        cached.cache_clear()


def metric_scalars(source: str, response: str, references: Sequence[str]) -> list[float]:
    """The METRICS columns of one response (floats, in METRICS order)."""
    refs = [r for r in references if r.strip()]
    out: list[float] = []
    for n in (1, 2):
        per_ref = [overlap_scores(response, r, n) for r in refs] or [(0.0, 0.0, 0.0)]
        out += [max(s[k] for s in per_ref) for k in range(3)]
    for n in (3, 4):
        out.append(max((overlap_scores(response, r, n)[0] for r in refs), default=0.0))
    # several references: sacrebleu keeps the statistics of the best-scoring one
    out.append(chrf_score(response, refs[:CHRF_REFERENCES]) / 100 if refs else 0.0)
    length = len(tokens(response))
    ref_lengths = [len(tokens(r)) for r in refs]
    closest = min(ref_lengths, key=lambda x: (abs(x - length), x)) if ref_lengths else length
    out.append(math.log((1 + length) / (1 + closest)))
    for n in (1, 2):
        precision, recall, _ = overlap_scores(response, source, n) if source.strip() else (0, 0, 0)
        out += [float(precision), float(recall)]
    return out
