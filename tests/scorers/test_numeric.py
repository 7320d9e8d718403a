"""Numbers in answers: exact_match and f1 never equate different numbers, SQuAD's values on text
answers are unchanged, and numeric_match compares numbers as numbers.

References: the official SQuAD v1.1 evaluation script's `normalize_answer` and `f1_score`
(re-implemented verbatim below) for text without digits; Python's `fractions.Fraction` /
`decimal.Decimal` for the value a numeral denotes; `math.isclose`'s definition for tolerances.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from evalkit.errors import UserError
from evalkit.scorers.match import exact_match, token_f1
from evalkit.scorers.numeric import NumericMatch, find_numbers
from evalkit.scorers.textnorm import normalize_answer_keep_numbers
from evalkit.stages.scoring import ScoringItem


def squad_normalize_answer(s: str) -> str:
    """The official SQuAD v1.1 evaluate-v1.1.py `normalize_answer`, verbatim."""

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def squad_f1_score(prediction: str, ground_truth: str) -> float:
    """The official SQuAD v1.1 `f1_score`, verbatim."""
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


# The case ../shared/cases/em-numeric-normalization: (reference, wrong_numbers, right_formatted)
CASE = [
    ("10", "1.0", "10"),
    ("3.14", "314", "3.14"),
    ("-5", "5", "-5"),
    ("5", "-5", "5"),
    ("1.5", "15", "1.50"),
    ("29", "2.9", "$29.00"),
]


def numeric(prediction: str, *references: str, **options: object) -> float:
    [[score]] = NumericMatch(**options).score([ScoringItem(prediction, references)])
    return score.value


def test_the_case_values():
    wrong = [(p, r) for r, p, _ in CASE]
    right = [(p, r) for r, _, p in CASE]
    for metric in (exact_match, token_f1):
        assert [metric(prediction=p, references=[r]) for p, r in wrong] == [0.0] * 6
    # string comparison: 1.50 != 1.5 and $29.00 != 29 as written
    assert [exact_match(prediction=p, references=[r]) for p, r in right] == [1, 1, 1, 1, 0, 0]
    assert [numeric(p, r) for p, r in wrong] == [0.0] * 6
    assert [numeric(p, r) for p, r in right] == [1.0] * 6


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [
        ("3-5", "35"), (".5", "5"), ("1e-3", "1e3"), ("\u22125", "5"), ("v1.0", "v10"),
        ("1/2", "12"), ("The answer is 2.9.", "29"), ("about 0.5 kg", "05 kg"),
        ("(-7)", "7"), ("12,5", "125"), ("1.2.3", "123"), ("x = -3.0", "x = 30"),
    ],
)  # fmt: skip
def test_other_different_numbers_never_match(prediction, reference):
    assert exact_match(prediction=prediction, references=[reference]) == 0.0
    assert exact_match(prediction=reference, references=[prediction]) == 0.0
    assert token_f1(prediction=prediction, references=[reference]) < 1.0


def test_numbers_inside_text_keep_the_squad_treatment_of_the_words():
    assert normalize_answer_keep_numbers("The answer: -3.14, roughly!") == "answer -3.14 roughly"
    assert exact_match(prediction="It is 42.", references=["42"]) == 0.0  # "it is" differs
    assert exact_match(prediction="42.", references=["42"]) == 1.0
    assert token_f1(prediction="about -5 degrees", references=["-5 degrees"]) == pytest.approx(0.8)


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Nd", "No", "Nl", "Cs")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_TEXT, _TEXT)
def test_on_text_without_digits_values_equal_the_official_squad_script(prediction, reference):
    assert normalize_answer_keep_numbers(prediction) == squad_normalize_answer(prediction)
    official_em = float(squad_normalize_answer(prediction) == squad_normalize_answer(reference))
    assert exact_match(prediction=prediction, references=[reference]) == official_em
    assert token_f1(prediction=prediction, references=[reference]) == pytest.approx(
        squad_f1_score(prediction, reference)
    )


_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(_FLOATS, _FLOATS)
def test_two_different_floats_as_strings_never_match(a, b):
    assume(a != b)
    for x, y in ((repr(a), repr(b)), (f"{a:f}", f"{b:f}"), (f"{a:,}", f"{b:,}")):
        assume(Decimal(x.replace(",", "")) != Decimal(y.replace(",", "")))
        assert exact_match(prediction=x, references=[y]) == 0.0
        assert token_f1(prediction=x, references=[y]) == 0.0
        assert numeric(x, y) == 0.0


@st.composite
def _same_number_two_ways(draw: st.DrawFn) -> tuple[str, str, Fraction]:
    units = draw(st.integers(min_value=-(10**9), max_value=10**9))
    places = draw(st.integers(min_value=0, max_value=4))
    value = Decimal(units).scaleb(-places)
    extra = draw(st.integers(min_value=0, max_value=3))
    styles = [
        f"{value}",
        f"{value:,}",
        f"{value:.{places + extra}f}",
        f"{value:,.{places + extra}f}",
        f"{'-' if value < 0 else ''}${abs(value):,.{places + extra}f}",
        f"{value:.6e}" if places <= 2 and abs(units) < 10**6 else f"{value}",
        f"The answer is {value:,}.",
    ]
    return draw(st.sampled_from(styles)), draw(st.sampled_from(styles)), Fraction(value)


@settings(max_examples=300, deadline=None)
@given(_same_number_two_ways())
def test_the_same_number_in_different_formats_matches_numerically(pair):
    x, y, value = pair
    assert find_numbers(x)[-1] == value and find_numbers(y)[-1] == value
    assert numeric(x, y) == 1.0


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1.50", ["3/2"]), ("$29.00", ["29"]), ("1,000", ["1000"]), ("-5", ["-5"]),
        ("\u22125", ["-5"]), ("1e3", ["1000"]), ("2.5E-4", ["1/4000"]), ("50%", ["50"]),
        ("3/4 of 12", ["3/4", "12"]), ("on 12/25/2024", ["12", "25", "2024"]),
        ("COVID-19 in 2020", ["19", "2020"]), ("pages 3-5", ["3", "5"]), ("H2O x1", []),
        ("1,5", ["1", "5"]), ("-$1,234.5", ["-2469/2"]), ("no digits", []),
    ],
)  # fmt: skip
def test_numbers_read_from_text(text, numbers):
    assert find_numbers(text) == [Fraction(n) for n in numbers]


def test_numeric_match_options_and_reasons():
    assert numeric("7 apples then 9", "7") == 0.0
    assert numeric("7 apples then 9", "7", which="first") == 1.0
    [[only]] = NumericMatch(which="only").score([ScoringItem("7 then 9", ("9",))])
    assert only.value == 0.0 and "which: only" in str(only.explanation)
    [[none]] = NumericMatch().score([ScoringItem("I do not know", ("9",))])
    assert (none.status, none.value, none.explanation) == ("ok", 0.0, "no number in the prediction")
    [[no_ref]] = NumericMatch().score([ScoringItem("9", ("nine",))])
    assert no_ref.status == "unscorable" and math.isnan(no_ref.value)
    assert numeric("3.14159", "3.14") == 0.0
    assert numeric("3.14159", "3.14", abs_tol=0.01) == 1.0
    # math.isclose semantics: |a-b| <= max(rel_tol * max(|a|, |b|), abs_tol)
    assert numeric("101", "100", rel_tol=0.01) == float(math.isclose(101, 100, rel_tol=0.01))
    assert numeric("102", "100", rel_tol=0.01) == float(math.isclose(102, 100, rel_tol=0.01))
    assert numeric("0.1", "0.10000000000000001") == 0.0  # exact rationals, no float rounding
    assert numeric("12", "ten", "twelve: 12") == 1.0  # best over references
    for bad in ({"which": "middle"}, {"abs_tol": -1}, {"rel_tol": "x"}, {"tolerance": 1}):
        with pytest.raises(UserError, match="numeric_match"):
            NumericMatch(**bad)  # type: ignore[arg-type]


def test_numeric_match_is_registered_in_pyproject():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))
    scorers = pyproject["project"]["entry-points"]["evalkit.scorers"]
    assert scorers["numeric_match"] == "evalkit.scorers.numeric:NumericMatch"


def test_the_case_through_the_cli(run_cli, tmp_path):
    task = tmp_path / "task"
    task.mkdir()
    rows = [{"id": f"n{i}", "question": "?", "answer": r} for i, (r, _, _) in enumerate(CASE)]
    outputs = [
        {"id": f"n{i}", "outputs": {"wrong_numbers": w, "right_formatted": p}}
        for i, (_, w, p) in enumerate(CASE)
    ]
    (task / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (task / "outputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in outputs))
    (task / "task.yaml").write_text(
        "name: em_numeric\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\nprompt: '{{ input }}'\n"
        "scorers: {exact_match: {}, f1: {}, numeric_match: {}}\noutputs: outputs.jsonl\n"
    )
    out = run_cli("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}", "progress=false")
    assert out.returncode == 0, out.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    values = {(a["model"], a["metric"]): a["value"] for a in run["aggregates"]}
    assert values[("wrong_numbers", "exact_match")] == values[("wrong_numbers", "f1")] == 0.0
    assert values[("wrong_numbers", "numeric_match")] == 0.0
    assert values[("right_formatted", "exact_match")] == pytest.approx(4 / 6)
    assert values[("right_formatted", "numeric_match")] == 1.0
