"""A faster, exactly equal TER: sacrebleu's algorithm with a leaner inner loop.

sacrebleu's TER (a port of tercom) spends ~80% of its time in the beam-restricted Levenshtein
matrix of `BeamEditDistance._edit_distance`, which builds a tuple of three candidate operations
per cell. `_LeanBeamEditDistance` fills the same cells in the same preference order (match or
substitution, then deletion, then insertion; ties keep the earlier choice) with plain comparisons,
so every cost, operation, cached row and trace is identical. Shift search, caching and the
tokenisation stay sacrebleu's own (`lib_ter._shift`, the base class, `TER._preprocess_segment`).

Most calls in the shift search only need the cost of a candidate shift, not its trace. The beam's
cost equals the plain Levenshtein distance (unit costs) whenever an optimal alignment stays inside
the beam, always so for references up to 24 words: `_CandidateCosts` then answers with
rapidfuzz's bit-parallel C++ distance and editops, and keeps the exact beam search for the current
hypothesis, whose trace decides the next shift, and for any candidate whose path leaves the beam.

Equality with `sacrebleu.metrics.TER` is tested on the WMT17 systems; the speed-up is measured
in benchmarks/ter_speed.py.
"""

from __future__ import annotations

import math
from typing import Any

from rapidfuzz.distance import Levenshtein
from sacrebleu.metrics import lib_ter
from sacrebleu.metrics.ter import TER as SacreTER
from sacrebleu.tokenizers.tokenizer_char import TokenizerChar

_CHAR = TokenizerChar()  # type: ignore[no-untyped-call]

_INF = lib_ter._INT_INFINITY
_UNDEF = (lib_ter._INT_INFINITY, lib_ter._OP_UNDEF)
_NOP, _SUB, _INS, _DEL = lib_ter._OP_NOP, lib_ter._OP_SUB, lib_ter._OP_INS, lib_ter._OP_DEL
_C_SUB, _C_INS, _C_DEL = lib_ter._COST_SUB, lib_ter._COST_INS, lib_ter._COST_DEL
# the plain Levenshtein distance equals the full matrix's cost only with tercom's unit costs
_UNIT_COSTS = (_C_SUB, _C_INS, _C_DEL) == (1, 1, 1)


class _LeanBeamEditDistance(lib_ter.BeamEditDistance):
    def _edit_distance(
        self, words_h: list[str], start_h: int, cache: list[Any]
    ) -> tuple[int, list[Any], str]:
        n_h = len(words_h)
        n_r = self._n_words_ref
        ref = self._words_ref
        rows: list[Any] = cache + [[_UNDEF] * (n_r + 1) for _ in range(n_h - start_h)]
        ratio = n_r / n_h if words_h else 1
        beam = lib_ter._BEAM_WIDTH
        if beam < ratio / 2:
            beam = math.ceil(ratio / 2 + beam)
        for i in range(start_h + 1, n_h + 1):
            diagonal = math.floor(i * ratio)
            lo = max(0, diagonal - beam)
            hi = n_r + 1 if i == n_h else min(n_r + 1, diagonal + beam)
            prev, cur, word = rows[i - 1], rows[i], words_h[i - 1]
            if lo == 0:
                cur[0] = (prev[0][0] + _C_DEL, _DEL)
                lo = 1
            for j in range(lo, hi):
                # tercom's preference on ties: match/substitution, then deletion, then insertion
                if word == ref[j - 1]:
                    best, op = prev[j - 1][0], _NOP
                else:
                    best, op = prev[j - 1][0] + _C_SUB, _SUB
                if best >= _INF:  # an undefined cell is only ever replaced by a finite cost
                    best, op = _UNDEF
                cost = prev[j][0] + _C_DEL
                if cost < best:
                    best, op = cost, _DEL
                cost = cur[j - 1][0] + _C_INS
                if cost < best:
                    best, op = cost, _INS
                cur[j] = (best, op)
        return rows[-1][-1][0], rows[len(cache) :], _trace(rows, n_h, n_r)


def beam_band(n_h: int, n_r: int) -> list[tuple[int, int]]:
    """For each row i = 0..n_h of the (n_h + 1) x (n_r + 1) matrix, the columns [lo, hi) that
    `_edit_distance`'s beam fills, with the very arithmetic it uses (row 0 is all defined)."""
    band = [(0, n_r + 1)]
    if n_h == 0:
        return band
    ratio = n_r / n_h
    beam = lib_ter._BEAM_WIDTH
    if beam < ratio / 2:
        beam = math.ceil(ratio / 2 + beam)
    for i in range(1, n_h + 1):
        diagonal = math.floor(i * ratio)
        hi = n_r + 1 if i == n_h else min(n_r + 1, diagonal + beam)
        band.append((max(0, diagonal - beam), hi))
    return band


def path_in_band(editops: list[tuple[str, int, int]], band: list[tuple[int, int]]) -> bool:
    """Whether the alignment path of `editops` (rapidfuzz's `as_list()`: tag, position in the
    hypothesis, position in the reference; matches between them) stays inside `band`."""
    n_h = len(band) - 1
    i = j = 0
    for tag, src, _ in [*editops, ("end", n_h, 0)]:
        while i < src:  # matched words on the diagonal up to the next edit
            i += 1
            j += 1
            lo, hi = band[i]
            if not lo <= j < hi:
                return False
        if tag == "end":
            return True
        if tag != "insert":
            i += 1
        if tag != "delete":
            j += 1
        lo, hi = band[i]
        if not lo <= j < hi:
            return False
    return True


class _CandidateCosts(_LeanBeamEditDistance):
    """Beam edit distance whose cost-only calls (candidate shifts) are answered by rapidfuzz
    whenever that is provably the beam's cost. `current` is the hypothesis whose trace the shift
    search reads; every other hypothesis is a candidate, whose trace sacrebleu ignores.

    The beam's cost is never below the Levenshtein distance (it minimises over fewer paths) and
    equals it when one optimal path lies inside the beam: then rapidfuzz's distance is returned,
    otherwise the beam search runs as before."""

    def __init__(self, words_ref: list[str], n_h: int) -> None:
        super().__init__(words_ref)
        self.current: list[str] | None = None
        self.band = beam_band(n_h, len(words_ref))
        self.whole_matrix = all(lo == 0 and hi == len(words_ref) + 1 for lo, hi in self.band)

    def __call__(self, words_hyp: list[str]) -> tuple[int, str]:
        if _UNIT_COSTS and words_hyp is not self.current:
            if self.whole_matrix:
                return Levenshtein.distance(words_hyp, self._words_ref), ""
            ops = Levenshtein.editops(words_hyp, self._words_ref)
            # the stubs say Editop objects; at runtime `as_list` gives (tag, src, dest) tuples
            edits: list[tuple[str, int, int]] = ops.as_list()  # type: ignore[assignment]
            if path_in_band(edits, self.band):
                return len(ops), ""
        return super().__call__(words_hyp)


def _trace(rows: list[Any], i: int, j: int) -> str:
    ops: list[str] = []
    while i > 0 or j > 0:
        op = rows[i][j][1]
        ops.append(op)
        if op in (_NOP, _SUB):
            i -= 1
            j -= 1
        elif op == _INS:
            j -= 1
        elif op == _DEL:
            i -= 1
        else:
            raise ValueError(f"unknown edit operation {op!r}")
    return "".join(reversed(ops))


def edits_and_length(words_hyp: list[str], words_ref: list[str]) -> tuple[int, int]:
    """(number of edits incl. shifts, reference length), as lib_ter.translation_edit_rate."""
    if not words_ref:
        return len(words_hyp), 0
    distance = _CandidateCosts(words_ref, len(words_hyp))
    shifts, words, checked = 0, words_hyp, 0
    while True:
        distance.current = words  # _shift reads this hypothesis's trace
        delta, shifted, checked = lib_ter._shift(words, words_ref, distance, checked)
        if checked >= lib_ter._MAX_SHIFT_CANDIDATES or delta <= 0:
            break
        shifts += 1
        words = shifted
    distance.current = None
    edits, _ = distance(words)
    return shifts + edits, len(words_ref)


class FastTER(SacreTER):
    """sacrebleu's TER with the lean edit-distance kernel; same options, same statistics.

    `char_split = True` first makes every character a word (sacrebleu's 'char' tokenizer), for
    scripts written without spaces."""

    char_split = False

    def _preprocess_segment(self, sent: str) -> str:
        if self.char_split:
            sent = _CHAR(sent)
        return str(super()._preprocess_segment(sent))

    def _compute_segment_statistics(
        self, hypothesis: str, ref_kwargs: dict[str, Any]
    ) -> list[float]:
        words_hyp = hypothesis.split()
        refs = ref_kwargs["ref_words"]
        results = [edits_and_length(words_hyp, words_ref) for words_ref in refs]
        best = min(edits for edits, _ in results)
        return [best, sum(length for _, length in results) / len(refs)]
