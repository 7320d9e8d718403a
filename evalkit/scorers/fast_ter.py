"""A faster, exactly equal TER: sacrebleu's algorithm with a leaner inner loop.

sacrebleu's TER (a port of tercom) spends ~80% of its time in the beam-restricted Levenshtein
matrix of `BeamEditDistance._edit_distance`, which builds a tuple of three candidate operations
per cell. `_LeanBeamEditDistance` fills the same cells in the same preference order (match or
substitution, then deletion, then insertion; ties keep the earlier choice) with plain comparisons,
so every cost, operation, cached row and trace is identical. Shift search, caching and the
tokenisation stay sacrebleu's own (`lib_ter._shift`, the base class, `TER._preprocess_segment`).

Equality with `sacrebleu.metrics.TER` is tested on the WMT17 systems; the speed-up is measured
in benchmarks/ter_speed.py.
"""

from __future__ import annotations

import math
from typing import Any

from sacrebleu.metrics import lib_ter
from sacrebleu.metrics.ter import TER as SacreTER
from sacrebleu.tokenizers.tokenizer_char import TokenizerChar

_CHAR = TokenizerChar()  # type: ignore[no-untyped-call]

_INF = lib_ter._INT_INFINITY
_UNDEF = (lib_ter._INT_INFINITY, lib_ter._OP_UNDEF)
_NOP, _SUB, _INS, _DEL = lib_ter._OP_NOP, lib_ter._OP_SUB, lib_ter._OP_INS, lib_ter._OP_DEL
_C_SUB, _C_INS, _C_DEL = lib_ter._COST_SUB, lib_ter._COST_INS, lib_ter._COST_DEL


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
    distance = _LeanBeamEditDistance(words_ref)
    shifts, words, checked = 0, words_hyp, 0
    while True:
        delta, shifted, checked = lib_ter._shift(words, words_ref, distance, checked)
        if checked >= lib_ter._MAX_SHIFT_CANDIDATES or delta <= 0:
            break
        shifts += 1
        words = shifted
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
