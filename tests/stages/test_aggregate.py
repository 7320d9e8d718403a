"""evalkit.stages.aggregate directly, on hand-made records: the latest record of a sample wins, the
order
records were written in (a resumed run) changes nothing, failures are counted apart, corpus metrics
are sacrebleu's corpus scores, and usage totals / percentiles are numpy's of the measurements."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import sacrebleu

from evalkit.stages.aggregate import aggregate_columns, extraction_of, task_metrics, usage_of
from evalkit.stages.scoring import ScoringItem, build_scorers
from evalkit.store.columns import RunColumns
from evalkit.types import ExtractedAnswer, Generation, Request, SampleRecord, Score

NAN = float("nan")
SPECS: list[tuple[str, dict[str, Any]]] = [("exact_match", {}), ("bleu", {})]


def _record(
    index: int,
    scores: list[Score],
    *,
    model: str = "m",
    generation: Generation | None = None,
    extracted: list[ExtractedAnswer] | None = None,
) -> SampleRecord:
    sample_id = f"s{index}"
    return SampleRecord(
        task="t",
        model=model,
        sample_id=sample_id,
        index=index,
        request=Request(task="t", sample_id=sample_id, messages=[]),
        generation=generation or Generation(text="x"),
        scores=scores,
        extracted=extracted or [],
    )


def _aggregates(records: list[SampleRecord]) -> dict[str, Any]:
    columns = RunColumns()
    columns.add_records(records)
    metrics = {"t": task_metrics(SPECS, build_scorers(SPECS))}
    return {a.metric: a for a in aggregate_columns(columns, metrics, seed=5, n_resamples=200)}


def _scored(hyps: list[str], refs: list[str]) -> list[list[Score]]:
    items = [ScoringItem(h, (r,), None) for h, r in zip(hyps, refs, strict=True)]
    by_scorer = [scorer.score(items) for scorer in build_scorers(SPECS)]
    return [[row[0] for row in rows] for rows in zip(*by_scorer, strict=True)]


HYPS = ["a cat sat", "the dog ran home", "hello world", "it rains today", "one two three four"]
REFS = ["a cat sat", "the dog went home", "hello there world", "it rains", "one two three five"]


def test_values_are_the_mean_and_sacrebleus_corpus_bleu() -> None:
    records = [_record(i, s) for i, s in enumerate(_scored(HYPS, REFS))]
    got = _aggregates(records)
    assert got["exact_match"].value == pytest.approx(1 / 5)  # only "a cat sat" is exact
    assert got["exact_match"].method == "mean" and got["exact_match"].n == 5
    assert got["bleu"].value == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    assert got["bleu"].method == "corpus"
    for aggregate in got.values():
        assert aggregate.ci_low is not None and aggregate.ci_high is not None
        assert aggregate.ci_low <= aggregate.value <= aggregate.ci_high


def test_the_latest_record_wins_and_write_order_does_not_matter() -> None:
    scored = _scored(HYPS, REFS)
    first = [_record(i, s) for i, s in enumerate(scored)]
    stale = _record(0, _scored(["wrong"], [REFS[0]])[0])  # written first, then superseded
    shuffled = first[:]
    random.Random(1).shuffle(shuffled)
    assert _aggregates([stale, *shuffled]) == _aggregates(first)


def test_failed_scores_are_counted_not_averaged() -> None:
    ok = [Score(name="exact_match", value=v) for v in (1.0, 0.0, 1.0)]
    failed = Score(name="exact_match", value=NAN, status="error", explanation="boom")
    records = [_record(i, [s]) for i, s in enumerate([*ok, failed])]
    aggregate = _aggregates(records)["exact_match"]
    assert (aggregate.value, aggregate.n, aggregate.n_failed) == (pytest.approx(2 / 3), 3, 1)
    nothing = _aggregates([_record(0, [failed])])["exact_match"]
    assert (nothing.value, nothing.ci_low, nothing.n, nothing.n_failed) == (None, None, 0, 1)


def test_usage_totals_and_latency_percentiles_are_numpys() -> None:
    latencies = [0.5, 1.5, 0.25, 3.0, 2.0, 9.0]
    cached = [False, False, False, False, False, True]
    records = [
        _record(
            i,
            [Score(name="exact_match", value=1.0)],
            generation=Generation(
                text="x",
                latency_s=lat,
                input_tokens=10 + i,
                output_tokens=2 * i,
                cost_usd=0.01,
                cached=hit,
            ),
        )
        for i, (lat, hit) in enumerate(zip(latencies, cached, strict=True))
    ]
    records.append(_record(6, [Score(name="exact_match", value=NAN, status="error")],
                           generation=Generation(error="timeout")))  # fmt: skip
    columns = RunColumns()
    columns.add_records(records)
    (usage,) = usage_of(columns)
    assert (usage.n, usage.n_errors, usage.n_cached) == (7, 1, 1)
    fresh = [v for v, hit in zip(latencies, cached, strict=True) if not hit]
    assert usage.latency_p50_s == pytest.approx(float(np.percentile(fresh, 50)))
    assert usage.latency_p95_s == pytest.approx(float(np.percentile(fresh, 95)))
    assert usage.input_tokens is None  # the failed generation measured nothing: no total
    columns = RunColumns()
    columns.add_records(records[:6])
    (usage,) = usage_of(columns)
    assert usage.input_tokens == sum(10 + i for i in range(6))
    assert usage.output_tokens == sum(2 * i for i in range(6))
    assert usage.cost_usd == pytest.approx(0.06)


def test_extraction_counts_outputs_without_an_answer() -> None:
    answers = ["4", "", "7", ""]
    records = [
        _record(
            i,
            [Score(name="exact_match", value=0.0)],
            extracted=[ExtractedAnswer(pipeline="number", answer=a)],
        )
        for i, a in enumerate(answers)
    ]
    columns = RunColumns()
    columns.add_records(records)
    (count,) = extraction_of(columns)
    assert (count.pipeline, count.n, count.n_no_answer) == ("number", 4, 2)
