"""evalkit's FastCHRF gives sacrebleu's CHRF statistics exactly (== on every integer count).

References repeat across systems (one metric object scores several systems, so memoised reference
n-grams are reused), several references per segment (some missing), chrF and chrF++ options.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import CHRF

from evalkit.scorers.corpus import ChrF
from evalkit.scorers.fast_chrf import FastCHRF
from evalkit.stages.scoring import ScoringItem
from tests.conftest import REPO

WMT = REPO / "tasks" / "wmt17_en_de"


def _wmt17(n_segments: int, n_systems: int) -> tuple[list[str], list[list[str]]]:
    refs = [json.loads(line)["reference"] for line in (WMT / "data.jsonl").open()][:n_segments]
    rows = [json.loads(line)["outputs"] for line in (WMT / "outputs.jsonl").open()][:n_segments]
    systems = list(rows[0])[:n_systems]
    return refs, [[row[s] for row in rows] for s in systems]


@pytest.mark.parametrize(
    "options",
    [{}, {"word_order": 2}, {"lowercase": True, "whitespace": True}, {"eps_smoothing": True}],
)
def test_statistics_equal_sacrebleu_on_wmt17_with_references_repeated(options):
    refs, systems = _wmt17(150, 3)
    fast = FastCHRF(**options)
    for hyps in systems:  # the same metric object: the second and third system hit the cache
        expected = CHRF(**options)._extract_corpus_statistics(hyps, [refs])
        assert fast._extract_corpus_statistics(hyps, [refs]) == expected
    streams = [refs, [systems[0][i] if i % 3 else None for i in range(len(refs))]]
    expected = CHRF(**options)._extract_corpus_statistics(systems[2], streams)
    assert fast._extract_corpus_statistics(systems[2], streams) == expected


_TEXT = st.text(alphabet="ab c.", max_size=14)


@settings(max_examples=200, deadline=None)
@given(
    hyps=st.lists(_TEXT, min_size=1, max_size=4),
    ref_pool=st.lists(_TEXT, min_size=1, max_size=3),
    options=st.fixed_dictionaries(
        {
            "word_order": st.sampled_from([0, 1, 2]),
            "char_order": st.sampled_from([0, 1, 3, 6]),
            "whitespace": st.booleans(),
        }
    ),
)
def test_random_segments_equal_sacrebleu(hyps, ref_pool, options):
    """Tiny alphabets: many references tie on F (the first must win), empty texts, and every
    hypothesis of a batch scored against the same references twice over."""
    streams = [[ref_pool[(i + k) % len(ref_pool)] for i in range(len(hyps))] for k in range(2)]
    fast = FastCHRF(**options)
    for _ in range(2):
        got = fast._extract_corpus_statistics(hyps, streams)
        assert got == CHRF(**options)._extract_corpus_statistics(hyps, streams)


def test_the_chrf_scorer_equals_sacrebleu_corpus_and_sentence_scores():
    refs, systems = _wmt17(100, 2)
    for word_order in (0, 2):
        scorer = ChrF(word_order=word_order)
        for hyps in systems:
            items = [ScoringItem(h, (r,)) for h, r in zip(hyps, refs, strict=True)]
            scores = [s[0] for s in scorer.score(items)]
            value = scorer.aggregate(scorer.metrics[0], scores, task="t", model="m", seed=0).value
            metric = CHRF(word_order=word_order)
            assert value == metric.corpus_score(hyps, [refs]).score
            for score, hyp, ref in zip(scores[:20], hyps, refs, strict=False):
                assert score.value == CHRF(word_order=word_order).sentence_score(hyp, [ref]).score
    assert ChrF().signature().startswith("sacrebleu.CHRF|case:mixed|eff:yes|nc:6|nw:0|space:no|")
