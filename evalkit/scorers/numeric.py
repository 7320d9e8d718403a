"""Numeric match: the answer's number equals the reference's number, as numbers, not as strings.

Numbers are read from text (see `find_numbers`): `1.50` = `1.5`, `$29.00` = `29`, `1,000` = `1000`,
`-5` (also with the Unicode minus), `1e3` = `1000`, `3/4` = `0.75`; a percent sign is dropped
(`50%` = `50`, not `0.5`). Values are exact rationals (`fractions.Fraction`), so there is no float
rounding: `0.1` never equals `0.10000000000000001`. With `abs_tol` / `rel_tol` the test is
`math.isclose`'s: |p - r| <= max(rel_tol * max(|p|, |r|), abs_tol).

A prediction's answer is its last number by default (`which: first | last | only`; `only` needs
exactly one). A prediction with no number scores 0 with the reason in the explanation; a
reference's number is its last one, and a sample none of whose references holds a number is
`unscorable`. The score is the best over references (1.0 or 0.0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.types import Score

_NUMBER = re.compile(
    r"""
    (?<![^\W\d_])                         # not glued to a letter: x1, H2O, v2 are not numbers
    (?:(?<![\w.])(?P<sign>[-+\u2212]))?   # a sign only where it cannot be a hyphen (3-5)
    [$€£¥]?                               # a currency symbol before the digits
    (?P<body>
        (?<![\d/])\d+/[1-9]\d*(?![\d/])   # a fraction 3/4 (not a date 12/25/2024)
      | \d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)  # thousands separated: 1,000,000.5
      | \d+(?:\.\d+)?                     # 42, 3.14
      | (?<!\d)\.\d+                      # .5
    )
    (?P<exp>[eE][-+]?\d+(?![\w]))?        # 1e3, 2.5E-4
    """,
    re.VERBOSE,
)
WHICH = ("last", "first", "only")


def number_matches(text: str) -> list[re.Match[str]]:
    """The numbers `find_numbers` reads, as regex matches (groups `sign`, `body`, `exp`)."""
    return list(_NUMBER.finditer(text))


def find_numbers(text: str) -> list[Fraction]:
    """Every number in `text`, in order, as exact rationals (see the module docstring)."""
    found = []
    for match in _NUMBER.finditer(text):
        value = Fraction(match.group("body").replace(",", "") + (match.group("exp") or ""))
        found.append(-value if match.group("sign") in ("-", "\u2212") else value)
    return found


def numbers_close(a: Fraction, b: Fraction, abs_tol: Fraction, rel_tol: Fraction) -> bool:
    """math.isclose's test, in exact arithmetic; equality when both tolerances are 0."""
    return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), abs_tol)


def answer_number(prediction: str, which: str) -> tuple[Fraction | None, str | None]:
    """(the prediction's answer number, None) or (None, why there is none)."""
    numbers = find_numbers(prediction)
    if not numbers:
        return None, "no number in the prediction"
    if which == "only" and len(numbers) > 1:
        return None, f"{len(numbers)} numbers in the prediction; which: only needs exactly one"
    return (numbers[0] if which == "first" else numbers[-1]), None


def _tolerance(name: str, value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UserError(f"scorer 'numeric_match': {name} must be a number >= 0, got {value!r}")
    try:
        tolerance = Fraction(str(value))
    except ValueError:
        raise UserError(f"scorer 'numeric_match': {name} must be a number, got {value!r}") from None
    if tolerance < 0:
        raise UserError(f"scorer 'numeric_match': {name} must be >= 0, got {value!r}")
    return tolerance


class NumericMatch(ReferenceScorer):
    """1.0 when the prediction's answer number equals (within tolerance) a reference's number."""

    name = "numeric_match"
    cpu_heavy = False
    memoize = False  # scoring costs less than looking an item up
    metrics = ("numeric_match",)

    def __init__(
        self, which: str = "last", abs_tol: Any = 0, rel_tol: Any = 0, **options: Any
    ) -> None:
        super().__init__(**options)
        if which not in WHICH:
            raise UserError(f"scorer 'numeric_match': which must be one of {WHICH}, got {which!r}")
        self.which = which
        self.abs_tol = _tolerance("abs_tol", abs_tol)
        self.rel_tol = _tolerance("rel_tol", rel_tol)

    def signature(self) -> str:
        return (
            f"numeric_match|which:{self.which}|abs_tol:{self.abs_tol}|rel_tol:{self.rel_tol}"
            "|pct:dropped|refs:max"
        )

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        if not item.references:
            return "no reference"
        if not any(find_numbers(ref) for ref in item.references):
            return "no reference holds a number"
        return None

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return [[self._score_one(item.prediction, item.references)] for item in items]

    def _score_one(self, prediction: str, references: Sequence[str]) -> Score:
        answer, reason = answer_number(prediction, self.which)
        if answer is None:
            return Score(name=self.name, value=0.0, explanation=reason)
        targets = [numbers[-1] for numbers in map(find_numbers, references) if numbers]
        hit = any(numbers_close(answer, t, self.abs_tol, self.rel_tol) for t in targets)
        return Score(
            name=self.name,
            value=1.0 if hit else 0.0,
            details={"answer": str(answer), "references": [str(t) for t in targets]},
        )
