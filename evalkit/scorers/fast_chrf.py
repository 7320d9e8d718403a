"""A faster, exactly equal chrF / chrF++: sacrebleu's statistics, references counted once.

sacrebleu's `CHRF._extract_corpus_statistics` extracts every reference's character (and word)
n-grams on each call, and a task's references are the same for each of its systems (WMT17: 16
systems x 3,004 segments); that extraction was ~45% of chrF's time. `FastCHRF` memoises
`_extract_reference_info` (sacrebleu's own) by the preprocessed reference texts of a segment,
with each order's n-gram total. Per hypothesis it builds the same character n-gram Counters as
sacrebleu's `extract_all_char_ngrams` (each n-gram as its (n-1)-gram plus a character, in C),
takes each order's total from the length (L - n + 1, as the Counter's sum), and counts the matches
over the n-grams hypothesis and reference share (a set intersection) instead of over every
hypothesis n-gram. All counts are integers equal to sacrebleu's `_get_match_statistics`; the best
reference is still picked by sacrebleu's `_compute_f_score` (the first with the highest F). Word
n-grams (chrF++) and preprocessing stay sacrebleu's (`extract_word_ngrams`, `_remove_punctuation`,
`_preprocess_segment`).

Equality with `sacrebleu.metrics.CHRF` (chrF and chrF++, other orders, white space kept, one and
several references, references repeated across systems, tied references) is tested in
tests/scorers/test_fast_chrf.py; the speed-up is measured in benchmarks/rouge_chrf_speed.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import add
from typing import Any

from sacrebleu.metrics.chrf import CHRF as SacreCHRF
from sacrebleu.metrics.helpers import extract_word_ngrams

_CACHE_SIZE = 65536  # distinct reference tuples kept (WMT17: 3,004)
RefInfo = dict[str, list[Any]]


def char_ngrams(chars: str, max_order: int) -> list[Counter[str]]:
    """sacrebleu's `extract_all_char_ngrams` of a line already stripped of white space (or not,
    with `whitespace`): a Counter of the n-grams per order n = 1..max_order, the same keys and
    counts; each n-gram is built as its (n-1)-gram plus one character, in C (`map(add, ...)`)
    rather than sliced in a Python loop."""
    if max_order < 1:
        return []
    grams: list[str] = list(chars)
    counters = [Counter(grams)]
    for n in range(2, max_order + 1):
        grams = list(map(add, grams, chars[n - 1 :]))
        counters.append(Counter(grams))
    return counters


class FastCHRF(SacreCHRF):
    """sacrebleu's CHRF (same options, same statistics) with reference n-grams memoised.

    `_extract_reference_info(refs)` -> {'ref_ngrams': per reference, a Counter per order;
    'ref_totals': per reference, the n-gram count per order}; the returned objects are shared
    between calls and never modified."""

    _reference_info: Callable[[tuple[str, ...]], RefInfo] | None = None  # made on first use

    def _count_references(self, refs: tuple[str, ...]) -> RefInfo:
        info: RefInfo = super()._extract_reference_info(refs)
        info["ref_totals"] = [[sum(c.values()) for c in per_ref] for per_ref in info["ref_ngrams"]]
        return info

    def _extract_reference_info(self, refs: Sequence[str]) -> RefInfo:
        if self._reference_info is None:  # not in __init__: sacrebleu's signature stays visible
            self._reference_info = lru_cache(maxsize=_CACHE_SIZE)(self._count_references)
        return self._reference_info(tuple(refs))

    def _compute_segment_statistics(self, hypothesis: str, ref_kwargs: RefInfo) -> list[int]:
        """sacrebleu's statistics for one (preprocessed) hypothesis: [hyp, ref, match] counts
        per order against the reference with the best F."""
        chars = hypothesis if self.whitespace else "".join(hypothesis.split())
        hyp_ngrams = char_ngrams(chars, self.char_order)
        hyp_totals = [max(0, len(chars) - n) for n in range(self.char_order)]
        if self.word_order > 0:
            words = self._remove_punctuation(hypothesis)
            hyp_ngrams.extend(extract_word_ngrams(words, n) for n in range(1, self.word_order + 1))
            hyp_totals.extend(max(0, len(words) - n) for n in range(self.word_order))
        best_stats: list[int] = []
        best_f = -1.0
        for ref_ngrams, ref_totals in zip(
            ref_kwargs["ref_ngrams"], ref_kwargs["ref_totals"], strict=True
        ):
            stats: list[int] = []
            for hyp, hyp_total, ref, ref_total in zip(
                hyp_ngrams, hyp_totals, ref_ngrams, ref_totals, strict=True
            ):
                shared = hyp.keys() & ref.keys()
                matches = sum(map(min, map(hyp.__getitem__, shared), map(ref.__getitem__, shared)))
                stats += (hyp_total if ref else 0, ref_total, matches)
            f_score = self._compute_f_score(stats)
            if f_score > best_f:
                best_f, best_stats = f_score, stats
        return best_stats
