"""BLEU / chrF / TER against sacrebleu's own published test vectors and its corpus scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sacrebleu

from evalkit.scorers.corpus import BLEU, TER, ChrF, reference_streams
from evalkit.stages.scoring import ScoringItem
from tests.conftest import SHARED_DATA


def corpus_value(scorer, hyps, refs_per_sample) -> float:
    items = [ScoringItem(h, tuple(r)) for h, r in zip(hyps, refs_per_sample, strict=True)]
    scores = [s[0] for s in scorer.score(items)]
    return scorer.aggregate(scorer.metrics[0], scores, task="t", model="m", seed=0).value


# sacrebleu test/test_bleu.py: three hypotheses, two reference streams.
_REF_STREAMS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
_HYPS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
_PER_SAMPLE = [list(refs) for refs in zip(*_REF_STREAMS, strict=True)]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, 48.530827),
        ({"tokenize": "none"}, 49.1919566),
        ({"tokenize": "intl"}, 43.91623493),
        ({"smooth_method": "none"}, 48.530827),
    ],
)
def test_bleu_matches_sacrebleu_published_vectors(options, expected):
    assert corpus_value(BLEU(**options), _HYPS, _PER_SAMPLE) == pytest.approx(expected, abs=1e-6)


def test_bleu_empty_hypotheses_are_kept():
    assert corpus_value(BLEU(), ["", "", ""], _PER_SAMPLE) == 0.0


@pytest.mark.parametrize(
    ("hyp", "ref", "expected"),
    [
        ("aa", "ab", 8.3333),
        ("a", "a", 16.6667),
        ("a b c", "abc", 50.0),
        (
            "Niemand hat die Absicht, eine Mauer zu errichten",
            "Niemand hat die Absicht, eine Mauer zu errichten",
            100.0,
        ),
    ],
)
def test_chrf_matches_sacrebleu_published_vectors(hyp, ref, expected):
    value = corpus_value(ChrF(eps_smoothing=True), [hyp], [[ref]])
    assert value == pytest.approx(expected, abs=1e-4)


def test_chrf_plus_plus_is_named_and_matches_library():
    scorer = ChrF(word_order=2)
    assert scorer.metrics == ("chrf++",)
    expected = sacrebleu.corpus_chrf(_HYPS, _REF_STREAMS, word_order=2).score
    assert corpus_value(scorer, _HYPS, _PER_SAMPLE) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("hyp", "ref", "expected"),
    [
        ("aaaa bbbb cccc dddd", "aaaa bbbb cccc dddd", 0.0),
        ("dddd eeee ffff", "aaaa bbbb cccc", 100.0),
        ("", "a", 100.0),
        ("d e f g h a b c", "a b c d e f g h", 12.5),
    ],
)
def test_ter_matches_sacrebleu_published_vectors(hyp, ref, expected):
    assert corpus_value(TER(), [hyp], [[ref]]) == pytest.approx(expected, abs=1e-3)


def test_variable_number_of_references():
    refs = [
        ["The dog bit the man."],
        ["It was not unexpected.", "No one was surprised."],
        ["The man bit him first.", "The man had bitten the dog.", "A third one."],
    ]
    streams = reference_streams(refs)
    assert streams[2] == [None, None, "A third one."]
    expected = sacrebleu.corpus_bleu(_HYPS, streams).score
    assert corpus_value(BLEU(), _HYPS, refs) == pytest.approx(expected, abs=1e-9)


@pytest.fixture(scope="module")
def wmt17_rows():
    path = SHARED_DATA / "wmt17_en_de" / "newstest2017_16systems.jsonl"
    if not path.is_file():
        pytest.skip("shared WMT17 data not present")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:600]


@pytest.mark.parametrize("system", ["uedin-nmt.4722", "online-F.0"])
def test_wmt17_corpus_scores_equal_sacrebleu(wmt17_rows, system):
    hyps = [r["outputs"][system] for r in wmt17_rows]
    refs = [r["reference"] for r in wmt17_rows]
    assert (
        corpus_value(BLEU(), hyps, [[r] for r in refs]) == sacrebleu.corpus_bleu(hyps, [refs]).score
    )
    assert (
        corpus_value(ChrF(), hyps, [[r] for r in refs]) == sacrebleu.corpus_chrf(hyps, [refs]).score
    )


def test_sentence_value_is_sentence_bleu():
    scorer = BLEU()
    [[score]] = scorer.score([ScoringItem("The cat sat on a mat.", ("The cat sat on the mat.",))])
    expected = sacrebleu.sentence_bleu("The cat sat on a mat.", ["The cat sat on the mat."]).score
    assert score.value == pytest.approx(expected)
    assert len(score.statistics) == 10


@pytest.mark.parametrize(
    "options",
    [{}, {"smooth_method": "floor", "smooth_value": 0.1}, {"smooth_method": "add-k"},
     {"smooth_method": "none"}, {"max_ngram_order": 2}, {"lowercase": True}],
)  # fmt: skip
def test_sentence_values_equal_sacrebleu_on_every_wmt17_segment(wmt17_rows, options):
    """evalkit's BLEU sentence values are sacrebleu's `sentence_bleu`, bit for bit."""
    scorer = BLEU(**options)
    reference = sacrebleu.BLEU(**options, effective_order=True)
    for system in ["uedin-nmt.4722", "online-F.0", "PROMT-Rule-based.4735"]:
        hyps = [r["outputs"][system] for r in wmt17_rows] + ["", "a"]
        refs = [r["reference"] for r in wmt17_rows] + ["x y", "a"]
        ours = scorer.score([ScoringItem(h, (r,)) for h, r in zip(hyps, refs, strict=True)])
        expected = [reference.sentence_score(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
        assert [row[0].value for row in ours] == expected


def test_corpus_ci_brackets_value_and_is_seeded(wmt17_rows):
    scorer = BLEU()
    items = [ScoringItem(r["outputs"]["KIT.4950"], (r["reference"],)) for r in wmt17_rows]
    scores = [s[0] for s in scorer.score(items)]
    a = scorer.aggregate("bleu", scores, task="t", model="m", seed=7)
    b = scorer.aggregate("bleu", scores, task="t", model="m", seed=7)
    c = scorer.aggregate("bleu", scores, task="t", model="m", seed=8)
    assert a == b and a.ci_low != c.ci_low
    assert a.ci_low < a.value < a.ci_high
    assert a.method == "corpus" and a.n == len(items)
    # a mean of sentence BLEU is a different (wrong) number: prove we do not compute that
    assert abs(np.mean([s.value for s in scores]) - a.value) > 0.5


def test_ter_lower_is_better_and_failures_are_counted():
    scorer = TER()
    scores = [s[0] for s in scorer.score([ScoringItem("a b", ("a b",)), ScoringItem("x", ())])]
    assert scores[1].status == "unscorable"
    agg = scorer.aggregate("ter", scores, task="t", model="m", seed=0)
    assert agg.higher_is_better is False and agg.n == 1 and agg.n_failed == 1


def test_signature_names_library_and_options():
    sig = BLEU(tokenize="intl").signature()
    assert sig.startswith("sacrebleu.BLEU|") and "tok:intl" in sig and "version:" in sig


@pytest.mark.parametrize("system", ["PROMT-Rule-based.4735", "online-A.0"])
def test_fast_ter_statistics_equal_sacrebleu_ter(wmt17_rows, system):
    from sacrebleu.metrics import TER as SacreTER

    from evalkit.scorers.fast_ter import FastTER

    hyps = [r["outputs"][system] for r in wmt17_rows[:300]]
    refs = [[r["reference"] for r in wmt17_rows[:300]]]
    assert FastTER()._extract_corpus_statistics(
        hyps, refs
    ) == SacreTER()._extract_corpus_statistics(hyps, refs)


@pytest.mark.parametrize(
    ("hyp", "refs"),
    [
        ("", ["a b c"]),
        ("a b c", [""]),
        ("x " * 80, ["x y"]),
        ("y", ["x " * 90]),
        ("a b c d", ["d c b a", "a b c"]),
        ("the the the cat", ["the cat the the"]),
    ],
)
def test_fast_ter_edge_cases_equal_sacrebleu(hyp, refs):
    from sacrebleu.metrics import TER as SacreTER

    from evalkit.scorers.fast_ter import FastTER

    streams = [[r] for r in refs]
    assert FastTER()._extract_corpus_statistics(
        [hyp], streams
    ) == SacreTER()._extract_corpus_statistics([hyp], streams)
    assert (
        FastTER().corpus_score([hyp], streams).score
        == SacreTER().corpus_score([hyp], streams).score
    )


def _shuffled_pair(rng, n_ref: int, n_hyp: int) -> tuple[str, str]:
    """A reference and a hypothesis that reuses its words with blocks moved, words dropped and
    inserted, so that TER shifts them and the beam (25 cells) restricts the longer pairs."""
    vocab = [f"w{k}" for k in range(40)]
    ref = [rng.choice(vocab) for _ in range(n_ref)]
    hyp = list(ref[:n_hyp]) + [rng.choice(vocab) for _ in range(max(0, n_hyp - n_ref))]
    for _ in range(3):
        a = rng.randrange(len(hyp))
        b = min(len(hyp), a + rng.randint(1, 6))
        block, rest = hyp[a:b], hyp[:a] + hyp[b:]
        at = rng.randrange(len(rest) + 1)
        hyp = rest[:at] + block + rest[at:]
    for k in rng.sample(range(len(hyp)), k=len(hyp) // 6):
        hyp[k] = rng.choice(vocab)
    return " ".join(hyp), " ".join(ref)


def test_fast_ter_equals_sacrebleu_where_the_beam_restricts_and_where_it_does_not():
    """Candidate costs come from rapidfuzz only where that is provably the beam's cost; both
    branches (path inside the beam, and the beam search fallback) are taken here."""
    import random

    from sacrebleu.metrics import TER as SacreTER

    from evalkit.scorers import fast_ter

    rng = random.Random(7)
    pairs = [_shuffled_pair(rng, rng.randint(5, 70), rng.randint(3, 80)) for _ in range(60)]
    hyps = [h for h, _ in pairs]
    refs = [[r for _, r in pairs]]
    calls = {True: 0, False: 0}
    real = fast_ter.path_in_band

    def counted(ops, band):
        inside = real(ops, band)
        calls[inside] += 1
        return inside

    fast_ter.path_in_band = counted
    try:
        fast = fast_ter.FastTER()._extract_corpus_statistics(hyps, refs)
    finally:
        fast_ter.path_in_band = real
    assert fast == SacreTER()._extract_corpus_statistics(hyps, refs)
    assert calls[True] > 0 and calls[False] > 0, calls


@pytest.mark.parametrize(("n_h", "n_r"), [(1, 1), (10, 30), (30, 10), (60, 61), (100, 40), (5, 90)])
def test_beam_band_is_the_cells_the_beam_search_fills(n_h, n_r):
    from evalkit.scorers.fast_ter import _UNDEF, _LeanBeamEditDistance, beam_band

    ref = [f"r{j}" for j in range(n_r)]
    hyp = [f"h{i}" for i in range(n_h)]
    distance = _LeanBeamEditDistance(ref)
    _, rows, _ = distance._edit_distance(hyp, 0, [distance._initial_row])
    filled = [
        (min(js), max(js) + 1)
        for js in ([j for j, cell in enumerate(row) if cell != _UNDEF] for row in rows)
    ]
    assert filled == beam_band(n_h, n_r)[1:]  # row 0, the initial row, is all defined
