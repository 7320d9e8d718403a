"""ROUGE-L and ROUGE-Lsum with a bit-parallel LCS, exactly equal to rouge-score's.

rouge-score (google-research `rouge_scorer.py`) fills an (m+1) x (n+1) table cell by cell in
pure Python for every LCS: for ROUGE-L once per (reference, prediction), for ROUGE-Lsum once per
(reference sentence, prediction sentence) followed by a backtrack over the table. That table was
~65% of evalkit's ROUGE time on SummEval.

Here the LCS is the bit-vector algorithm of Allison & Dix (1986, "A bit-string
longest-common-subsequence algorithm", IPL 23(5)) in the form of Hyyrö (2004, "Bit-parallel
LCS-length computation revisited", AWOCC): the reference's tokens are the bits of one Python int
V, and each prediction token updates the whole column with `U = V & match[token];
V = (V + U) | (V - U)`. After j prediction tokens, the zero bits of V below bit i count the table
cell t[i][j] = LCS(ref[:i], pred[:j]), so `(~V_j & (2**i - 1)).bit_count()` recovers any cell of
rouge-score's table from the stored columns. ROUGE-Lsum's union LCS then follows rouge-score's
backtrack (a match goes diagonally; else left when t[i][j-1] > t[i-1][j], up otherwise) a column
at a time, so it picks the same LCS indices on ties and every count is the same.

Tokenizer, n-gram counting (`_create_ngrams`, `_score_ngrams`), the F-measure (`scoring.fmeasure`)
and the summary-level hit counting stay rouge-score's rules. Each distinct text is tokenized and
counted once (memoised by text: references are shared by every system), the prediction once for
all its references. Equality with `rouge_scorer.RougeScorer.score` / `score_multi` to the last bit
is tested (tests/scorers/test_rouge_lcs.py): SummEval pairs, random token sequences with many ties,
every tokenizer and sentence splitter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from rouge_score import rouge_scorer, scoring, tokenizers
from rouge_score.scoring import Score

Tokens = tuple[str, ...]
Masks = dict[str, int]
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_CACHE_SIZE = 16384  # distinct texts kept; SummEval has ~2,700 (1,600 summaries, 1,100 refs)
_ZERO = Score(precision=0, recall=0, fmeasure=0)  # rouge-score's (integer) zero for empty texts


def match_masks(tokens: Sequence[str]) -> Masks:
    """token -> int whose bit k is set where tokens[k] is that token (Hyyrö's match vectors)."""
    masks: Masks = {}
    bit = 1
    for token in tokens:
        masks[token] = masks.get(token, 0) | bit
        bit <<= 1
    return masks


def lcs_length(masks: Masks, m: int, other: Sequence[str]) -> int:
    """Length of the LCS of the m tokens behind `masks` and `other` (Hyyrö 2004, Fig. 2)."""
    get = masks.get
    v = (1 << m) - 1
    for token in other:
        u = v & get(token, 0)
        if u:
            v = (v + u) | (v - u)
    return m - (v & ((1 << m) - 1)).bit_count()


def lcs_indices(ref: Sequence[str], masks: Masks, can: Sequence[str]) -> list[int]:
    """Indices into `ref` of the LCS that rouge-score's `lcs_ind(ref, can)` returns, ascending.

    `masks` is `match_masks(ref)`; empty inputs give []. rouge-score's backtrack from cell
    (i, j) = (m, n) takes the diagonal at a match, else goes left when t[i][j-1] > t[i-1][j],
    else up. Off a match, t[i][j] = max(t[i-1][j], t[i][j-1]), so it goes up exactly while the
    cell above keeps the value T = t[i][j]: within column j it climbs to the lowest row r with
    t[r][j] = T (the highest set bit of column j's increments below row i) and stops earlier
    at the highest match among rows r..i. So one column costs a few big-int operations."""
    m = len(ref)
    get = masks.get
    v = (1 << m) - 1
    columns = [v]  # columns[j]: V after can[:j]; t[i][j] = popcount(~V_j below bit i)
    for token in can:
        u = v & get(token, 0)
        if u:
            v = (v + u) | (v - u)
        columns.append(v)
    left = m - (v & ((1 << m) - 1)).bit_count()  # t[i][j] along the path: matches to collect
    out: list[int] = []
    i, j = m, len(can)
    while left:  # t[i][j] = left >= 1, so i >= 1 and j >= 1
        below = (1 << i) - 1
        r = (~columns[j] & below).bit_length()  # lowest row r with t[r][j] = t[i][j]
        matches = (get(can[j - 1], 0) & below) >> (r - 1)  # rows r..i that match can[j-1]
        j -= 1
        if matches:  # the highest one: diagonal from row r - 1 + bit_length
            i = r + matches.bit_length() - 2
            out.append(i)
            left -= 1
        else:  # no match on the way up: left from row r
            i = r
    out.reverse()
    return out


def _memo(function: Callable[[_K], _V]) -> Callable[[_K], _V]:
    cached: Callable[[_K], _V] = lru_cache(maxsize=_CACHE_SIZE)(function)
    return cached


class RougeKernel:
    """rouge-score's `RougeScorer(rouge_types, tokenizer=...)` with evalkit's LCS: `score` and
    `score_multi` take and return what rouge-score's do (dicts of `scoring.Score`), value for
    value. ROUGE-Lsum sentences are the text's lines (rouge-score's `split_summaries=False`).

    `rouge_types`: rougeN (N >= 1), rougeL, rougeLsum; an unknown one raises ValueError.
    `tokenizer`: any object with `tokenize(text) -> list[str]` (default: rouge-score's own)."""

    def __init__(
        self,
        rouge_types: Sequence[str],
        use_stemmer: bool = False,
        tokenizer: tokenizers.Tokenizer | None = None,
    ) -> None:
        self.rouge_types = list(rouge_types)
        for rouge_type in self.rouge_types:
            if rouge_type not in ("rougeL", "rougeLsum") and not _ngram_order(rouge_type):
                raise ValueError(f"Invalid rouge type: {rouge_type}")
        self._tokenizer = tokenizer or tokenizers.DefaultTokenizer(use_stemmer)
        self._tokens = _memo(self._tokenize)
        self._ngrams = _memo(self._count_ngrams)
        self._masks = _memo(match_masks)
        self._sentences = _memo(self._split_tokenize)

    def _tokenize(self, text: str) -> Tokens:
        return tuple(self._tokenizer.tokenize(text))

    def _count_ngrams(self, key: tuple[str, int]) -> Counter[Any]:
        text, n = key
        ngrams: Counter[Any] = rouge_scorer._create_ngrams(self._tokens(text), n)
        return ngrams

    def _split_tokenize(self, text: str) -> tuple[Tokens, ...]:
        return tuple(self._tokenize(s) for s in text.split("\n") if s)

    def score(self, target: str, prediction: str) -> dict[str, Score]:
        """rouge-score's `RougeScorer.score(target, prediction)`: type -> Score."""
        result: dict[str, Score] = {}
        for rouge_type in self.rouge_types:
            if rouge_type == "rougeL":
                result[rouge_type] = self._rouge_l(target, prediction)
            elif rouge_type == "rougeLsum":
                result[rouge_type] = self._rouge_lsum(target, prediction)
            else:
                n = _ngram_order(rouge_type)
                result[rouge_type] = rouge_scorer._score_ngrams(
                    self._ngrams((target, n)), self._ngrams((prediction, n))
                )
        return result

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Score]:
        """rouge-score's `score_multi`: per type, the target with the best F (the first on ties,
        as numpy's argmax)."""
        per_target = [self.score(t, prediction) for t in targets]
        best: dict[str, Score] = {}
        for rouge_type in self.rouge_types:
            top = per_target[0][rouge_type]
            for scores in per_target[1:]:
                if scores[rouge_type].fmeasure > top.fmeasure:
                    top = scores[rouge_type]
            best[rouge_type] = top
        return best

    def _rouge_l(self, target: str, prediction: str) -> Score:
        ref, can = self._tokens(target), self._tokens(prediction)
        if not ref or not can:
            return _ZERO
        lcs = lcs_length(self._masks(ref), len(ref), can)
        precision, recall = lcs / len(can), lcs / len(ref)
        return Score(precision, recall, scoring.fmeasure(precision, recall))

    def _rouge_lsum(self, target: str, prediction: str) -> Score:
        """Summary-level LCS (Lin 2004, section 3.2) as rouge-score counts it: the union LCS of
        each reference sentence with all prediction sentences, each token counted at most as
        often as it occurs in both texts."""
        ref_sents, can_sents = self._sentences(target), self._sentences(prediction)
        if not ref_sents or not can_sents:
            return _ZERO
        m = sum(map(len, ref_sents))
        n = sum(map(len, can_sents))
        if not m or not n:
            return _ZERO
        left_ref: Counter[str] = Counter()
        left_can: Counter[str] = Counter()
        for sent in ref_sents:
            left_ref.update(sent)
        for sent in can_sents:
            left_can.update(sent)
        hits = 0
        for ref in ref_sents:
            masks = self._masks(ref)
            union: set[int] = set()
            for can in can_sents:
                union.update(lcs_indices(ref, masks, can))
            for k in sorted(union):
                token = ref[k]
                if left_can[token] > 0 and left_ref[token] > 0:
                    hits += 1
                    left_can[token] -= 1
                    left_ref[token] -= 1
        precision, recall = hits / n, hits / m
        return Score(precision, recall, scoring.fmeasure(precision, recall))


def _ngram_order(rouge_type: str) -> int:
    """N of 'rougeN' (N a single digit >= 1, rouge-score's pattern), else 0."""
    digit = rouge_type[5:]
    if rouge_type.startswith("rouge") and len(digit) == 1 and digit in "123456789":
        return int(digit)
    return 0
