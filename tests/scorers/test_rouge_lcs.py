"""evalkit's bit-parallel ROUGE-L / ROUGE-Lsum kernel equals rouge-score's to the last bit.

Every comparison is `==` on rouge-score's own outputs (`_lcs_table`, `lcs_ind`, `RougeScorer.score`
and `score_multi`): SummEval pairs, random token sequences over a tiny vocabulary (many equal-length
LCSs, so rouge-score's backtracking tie rule decides which tokens ROUGE-Lsum unites), empty and
one-token texts, texts longer than 64 tokens (bit vectors of several machine words), and every
tokenizer and ROUGE-Lsum sentence splitter evalkit offers.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from evalkit.scorers.rouge import ROUGE_TYPES, Rouge, rouge_scores
from evalkit.scorers.rouge_lcs import RougeKernel, lcs_indices, lcs_length, match_masks
from evalkit.scorers.rouge_text import TOKENIZERS, RougeTokenizer, make_splitter
from evalkit.stages.scoring import ScoringItem
from tests.conftest import REPO

TYPES = list(ROUGE_TYPES)
_TOKENS = st.lists(st.sampled_from("abc"), max_size=12) | st.lists(
    st.sampled_from("abcdefg"), min_size=65, max_size=100
)


@settings(max_examples=200, deadline=None)
@given(ref=_TOKENS, can=_TOKENS)
def test_lcs_length_and_indices_equal_rouge_score_table_and_backtrack(ref, can):
    masks = match_masks(ref)
    assert lcs_length(masks, len(ref), can) == rouge_scorer._lcs_table(ref, can)[-1][-1]
    assert lcs_indices(ref, masks, can) == rouge_scorer.lcs_ind(ref, can)


def test_tie_breaking_follows_rouge_score_backtrack():
    # Two LCSs of length 1 ('b' = ref[0], 'a' = ref[1]): rouge-score's backtrack moves up
    # (i -= 1) unless the cell to its left is strictly larger, so on this tie it finds the 'b'
    ref, can = ["b", "a"], ["a", "b"]
    assert rouge_scorer.lcs_ind(ref, can) == [0]
    assert lcs_indices(ref, match_masks(ref), can) == [0]
    ref, can = ["a", "b", "a", "b"], ["b", "a", "b", "a"]
    assert lcs_indices(ref, match_masks(ref), can) == rouge_scorer.lcs_ind(ref, can)


def _text(sentences: list[list[str]]) -> str:
    return "\n".join(" ".join(words) for words in sentences)


_SENTENCES = st.lists(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=9), max_size=5)
_LONG = st.lists(st.lists(st.sampled_from(list("abcdefghij")), max_size=90), min_size=1, max_size=2)


@settings(max_examples=200, deadline=None)
@given(
    targets=st.lists(_SENTENCES | _LONG, min_size=1, max_size=4),
    prediction=_SENTENCES | _LONG,
)
def test_random_texts_equal_rouge_score(targets, prediction):
    refs = [_text(t) for t in targets]
    pred = _text(prediction)
    expected = rouge_scorer.RougeScorer(TYPES)
    kernel = RougeKernel(TYPES)
    assert kernel.score_multi(refs, pred) == expected.score_multi(refs, pred)
    for ref in refs:
        assert kernel.score(ref, pred) == expected.score(ref, pred)


def _summeval_pairs(limit: int) -> list[tuple[str, tuple[str, ...]]]:
    data = REPO / "tasks" / "summeval"
    references = {
        row["id"]: tuple(row["references"])
        for row in map(json.loads, (data / "data.jsonl").read_text(encoding="utf-8").splitlines())
    }
    rows = [json.loads(line) for line in (data / "outputs.jsonl").read_text().splitlines()]
    step = max(1, len(rows) // limit)
    return [(r["output"], references[r["id"]]) for r in rows[::step][:limit]]


def test_summeval_pairs_equal_rouge_score_with_stemming():
    """240 (summary, reference) pairs across SummEval's articles and systems, sentences split
    by evalkit's default splitter (pysbd) as the Rouge scorer does; and score_multi over all 11
    references for a few summaries."""
    splitter = make_splitter("pysbd", None)
    expected = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    kernel = RougeKernel(TYPES, use_stemmer=True)
    pairs = _summeval_pairs(240)
    for k, (prediction, references) in enumerate(pairs):
        pred = "\n".join(splitter.split(prediction))
        ref = "\n".join(splitter.split(references[k % len(references)]))
        assert kernel.score(ref, pred) == expected.score(ref, pred)
    for prediction, references in pairs[:4]:
        pred = "\n".join(splitter.split(prediction))
        refs = ["\n".join(splitter.split(r)) for r in references]
        assert kernel.score_multi(refs, pred) == expected.score_multi(refs, pred)


def test_the_rouge_scorer_equals_rouge_score_on_summeval():
    """The scorer a run uses (tokenizer 'default', stemming, pysbd, best of 11 references)."""
    pairs = _summeval_pairs(12)
    splitter = make_splitter("pysbd", None)
    expected = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    got = Rouge(tokenizer="default").score([ScoringItem(p, refs) for p, refs in pairs])
    for (prediction, references), scores in zip(pairs, got, strict=True):
        pred = "\n".join(splitter.split(prediction))
        best = expected.score_multi(["\n".join(splitter.split(r)) for r in references], pred)
        for score in scores:
            assert score.value == best[score.name].fmeasure
            assert score.details["precision"] == best[score.name].precision
            assert score.details["recall"] == best[score.name].recall


_MULTILINGUAL = [
    (
        "मौसम विभाग ने कहा कि कल भारी बारिश होगी। लोग घरों में रहें।",
        ("विभाग ने कल बारिश की चेतावनी दी। लोग घर में रहें।", "कल भारी बारिश होगी।"),
        "hi",
    ),
    (
        "今天天气很好。我们去公园散步。",
        ("今天天气不错。我们去公园。", "天气很好，我们散步。"),
        "zh",
    ),
    (
        "Правительство объявило новые меры. Цены вырастут.",
        ("Правительство объявило меры. Цены растут.", "Новые меры объявлены."),
        "ru",
    ),
    (
        "Dr. Smith arrived late. He sat down and the U.S. team won! 3.5 points.",
        ("The U.S. team won. Dr. Smith arrived late and sat down.", "He sat. Smith won?"),
        "en",
    ),
]


@pytest.mark.parametrize("tokenizer", TOKENIZERS)
@pytest.mark.parametrize("lsum_split", ["pysbd", "punct"])
@pytest.mark.parametrize("multi_ref", ["max", "mean"])
def test_every_tokenizer_splitter_and_multi_ref_equals_rouge_score(
    tokenizer, lsum_split, multi_ref
):
    for prediction, references, language in _MULTILINGUAL:
        stem = language == "en" and tokenizer != "char"
        tok = RougeTokenizer(tokenizer, stem)
        splitter = make_splitter(lsum_split, language)
        options = {"splitter": splitter, "multi_ref": multi_ref}
        ours = rouge_scores(
            prediction=prediction,
            references=references,
            scorer=RougeKernel(TYPES, tokenizer=tok),
            **options,
        )
        expected = rouge_scores(
            prediction=prediction,
            references=references,
            scorer=rouge_scorer.RougeScorer(TYPES, tokenizer=tok),
            **options,
        )
        assert ours == expected


def test_an_unknown_type_is_a_value_error_as_in_rouge_score():
    with pytest.raises(ValueError, match="rouge0"):
        RougeKernel(["rouge0"])
    assert set(RougeKernel(["rouge3"]).score("a b c d", "a b c")) == {"rouge3"}
