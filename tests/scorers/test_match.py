"""Exact match and token F1 follow the SQuAD v1.1 evaluation script's definitions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.scorers.match import ExactMatch, TokenF1, exact_match, token_f1
from evalkit.scorers.textnorm import normalize_answer, split_sentences
from evalkit.stages.scoring import ScoringItem


def test_normalization_drops_case_punctuation_articles():
    assert normalize_answer("The  Eiffel-Tower, an icon!") == "eiffeltower icon"


def test_exact_match_max_over_references():
    assert exact_match(prediction="Paris.", references=["London", "paris"]) == 1.0
    assert exact_match(prediction="Paris France", references=["Paris"]) == 0.0


def test_f1_counts_shared_tokens_with_multiplicity():
    # tokens: [cat, sat] vs [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    assert token_f1(prediction="the cat sat", references=["a cat sat down"]) == pytest.approx(0.8)
    # [a] is an article and vanishes; [x, x] vs [x]: shared 1, P = 1/2, R = 1
    assert token_f1(prediction="x x", references=["x"]) == pytest.approx(2 / 3)
    assert token_f1(prediction="nothing", references=["else", "nothing here"]) == pytest.approx(
        2 / 3
    )


def test_scorers_mark_missing_references_unscorable():
    items = [ScoringItem("4", ("4",)), ScoringItem("5", ())]
    em = ExactMatch().score(items)
    assert em[0][0].value == 1.0 and em[0][0].status == "ok"
    assert em[1][0].status == "unscorable" and math.isnan(em[1][0].value)
    agg = TokenF1().aggregate(
        "f1", [s[0] for s in TokenF1().score(items)], task="t", model="m", seed=1
    )
    assert (agg.n, agg.n_failed, agg.value) == (1, 1, 1.0)


def test_all_failed_gives_no_value():
    agg = ExactMatch().aggregate(
        "exact_match", ExactMatch().score([ScoringItem("x", ())])[0], task="t", model="m", seed=0
    )
    assert agg.value is None and agg.n == 0 and agg.n_failed == 1


def test_sentence_splitting_without_nltk():
    text = 'He left. "Why?" she asked. It was 3 p.m. Then 4 more came.\nNew line here'
    assert split_sentences(text) == [
        "He left.",
        '"Why?" she asked.',
        "It was 3 p.m.",
        "Then 4 more came.",
        "New line here",
    ]
    assert split_sentences("team 's win . the coach said .") == ["team 's win . the coach said ."]


def _squad_v11_normalize(text: str) -> str:
    """The SQuAD v1.1 evaluation script's normalisation, step by step as its spec reads: lower
    case, delete each ASCII punctuation character one by one, articles to spaces, collapse
    white space (the oracle `normalize_answer` must equal)."""
    import re
    import string

    kept = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", kept).split())


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aAnNtThHe xyz19.,-!?'\"()\u2212\u00e9\u00df\u0661\t\n")),
        max_size=40,
    )
)
def test_normalize_answer_equals_the_squad_script_on_any_text(text):
    assert normalize_answer(text) == _squad_v11_normalize(text)
