"""Aggregates from compact columns (issue 24): equal to each scorer's own aggregate over the stored
records, and a run's memory does not hold its records."""

from __future__ import annotations

import dataclasses
import random
import tracemalloc
from array import array
from pathlib import Path
from typing import Any

import pytest
import sacrebleu

from evalkit.config import RunConfig
from evalkit.stages import pipeline, sample_stream, scoring
from evalkit.stages.aggregate import aggregate_columns, extraction_of, task_metrics, usage_of
from evalkit.stages.extraction_scoring import count_no_answers
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.scoring import build_scorers
from evalkit.stages.usage import summarize_usage
from evalkit.store.columns import RunColumns
from evalkit.store.run_store import RunStore
from evalkit.types import ExtractedAnswer, Generation, Request, SampleRecord, Score
from tests.conftest import write_jsonl

WORDS = ["alpha", "beta", "gamma", "delta", "the", "a", "cat", "sat", "on", "mat"]
SCORERS = [("exact_match", {}), ("bleu", {}), ("chrf", {})]
SMALL, LARGE = 1000, 4000


def _task(root: Path, n: int, scorers: str = "{exact_match: {}, bleu: {}, chrf: {}}") -> Path:
    rng = random.Random(n)
    rows, outputs = [], []
    for i in range(n):
        ref = " ".join(rng.choice(WORDS) for _ in range(6))
        hyp = ref if rng.random() < 0.4 else " ".join(rng.choice(WORDS) for _ in range(5))
        rows.append({"id": f"q{i}", "question": f"question {i}?", "answer": ref})
        outputs.append({"id": f"q{i}", "system": "sys", "output": hyp})
    write_jsonl(root / "data.jsonl", rows)
    write_jsonl(root / "outputs.jsonl", outputs)
    (root / "task.yaml").write_text(
        "name: qa\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\n"
        f"scorers: {scorers}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


def _config(task: Path, tmp_path: Path) -> RunConfig:
    return RunConfig.from_dict(
        {
            "suite": {"name": "s", "tasks": [str(task)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "report": {"enabled": False},
            "scoring": {"workers": 0},
            "cache": {"path": str(tmp_path / "cache.sqlite")},
        }
    )


def test_streamed_aggregates_equal_the_scorers_own_over_stored_records(tmp_path: Path) -> None:
    """5,000 samples: run.json's aggregates (from columns filled while writing) are == each
    scorer's `aggregate` over the records read back from samples.jsonl in data order, and
    BLEU/chrF equal sacrebleu's corpus scores of the outputs (the reference implementation)."""
    task = _task(tmp_path / "task", 5000)
    record = run_evaluation(_config(task, tmp_path), tmp_path / "run")
    latest = RunStore(tmp_path / "run").latest_records()
    assert len(latest) == 5000
    rows = sorted(latest, key=lambda r: r.index)
    expected = []
    for scorer in build_scorers(SCORERS):
        for metric in scorer.metrics:
            scores = [s for r in rows for s in r.scores if s.name == metric]
            expected.append(scorer.aggregate(metric, scores, task="qa", model="sys", seed=1234))
    assert record.aggregates == expected
    hyps = [r.generation.text for r in rows]
    refs = [[r.references[0] for r in rows]]
    by_metric = {a.metric: a.value for a in record.aggregates}
    assert by_metric["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)
    assert by_metric["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score, abs=1e-9)
    assert not (tmp_path / "cache.sqlite").exists()  # replayed outputs are not cached

    streamed = RunColumns()  # the same columns, streamed from samples.jsonl
    for _, head in RunStore(tmp_path / "run").lines():
        streamed.add_line(head)
    scorers = build_scorers(SCORERS)
    again = aggregate_columns(
        streamed, {"qa": task_metrics(SCORERS, scorers)}, seed=1234, n_resamples=1000
    )
    assert again == record.aggregates


def _record(sample_id: str, index: int, *, failed: bool, cost: float, extracted: str) -> dict:
    generation = (
        Generation(error="boom") if failed else Generation(text="x", cost_usd=cost, latency_s=cost)
    )
    score = (
        Score(name="exact_match", value=float("nan"), status="error")
        if failed
        else Score(name="exact_match", value=1.0)
    )
    return SampleRecord(
        task="t",
        model="m",
        sample_id=sample_id,
        index=index,
        request=Request(task="t", sample_id=sample_id, messages=[]),
        generation=generation,
        scores=[score],
        extracted=[ExtractedAnswer(pipeline="", answer=extracted)],
    ).model_dump()


def test_latest_record_wins_at_the_place_of_the_first(tmp_path: Path) -> None:
    """A retried sample's new record supersedes its failed one: usage, extraction counts and
    aggregates from columns equal those computed from `latest_records` by the older code."""
    records = [
        _record("b", 1, failed=True, cost=0.0, extracted=""),
        _record("a", 0, failed=False, cost=0.1, extracted="x"),
        _record("c", 2, failed=False, cost=0.2, extracted=""),
        _record("b", 1, failed=False, cost=0.3, extracted="y"),
    ]
    write_jsonl(tmp_path / "samples.jsonl", records)
    store = RunStore(tmp_path)
    columns = RunColumns()
    for _, head in store.lines():
        columns.add_line(head)
    latest = store.latest_records()
    assert usage_of(columns) == summarize_usage(latest)
    assert extraction_of(columns) == count_no_answers(latest)
    assert columns.counts() == (3, 0)
    (scorer,) = build_scorers([("exact_match", {})])
    ordered = sorted(latest, key=lambda r: r.index)
    want = scorer.aggregate(
        "exact_match", [r.scores[0] for r in ordered], task="t", model="m", seed=1
    )
    got = aggregate_columns(
        columns, {"t": task_metrics([("exact_match", {})], [scorer])}, seed=1, n_resamples=1000
    )
    assert got == [want]


def _peak_bytes(tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Peak traced memory of a run of n samples up to its aggregation (whose bootstrap works in
    bounded chunks of up to ~64 MB whatever n is, see evalkit.stats.bootstrap)."""
    task = _task(tmp_path / f"task{n}", n, scorers="{exact_match: {}}")
    config = _config(task, tmp_path)
    peaks = []

    def measured(*args: Any, **kwargs: Any) -> Any:
        peaks.append(tracemalloc.get_traced_memory()[1])
        return aggregate_columns(*args, **kwargs)

    monkeypatch.setattr(pipeline, "aggregate_columns", measured)
    tracemalloc.start()
    try:
        run_evaluation(config, tmp_path / f"run{n}")
    finally:
        tracemalloc.stop()
    (peak,) = peaks
    return peak


def test_a_run_does_not_hold_its_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Peak traced memory grows by well under 2 KB a sample from 1,000 to 4,000 samples (records
    held as pydantic objects cost about 12 KB each; the columns about 50 bytes, the replayed
    outputs a few hundred). Samples are streamed and the scoring memo bounded from small sizes
    here, as they are from 100k and 50k."""
    monkeypatch.setattr(sample_stream, "RETAIN", 300)
    monkeypatch.setattr(scoring, "SEEN_LIMIT", 600)
    small = _peak_bytes(tmp_path, SMALL, monkeypatch)
    large = _peak_bytes(tmp_path, LARGE, monkeypatch)
    per_sample = (large - small) / (LARGE - SMALL)
    assert per_sample < 2000, f"{per_sample:.0f} bytes per sample"


def _varied_record(rng: random.Random, position: int) -> SampleRecord:
    """A record of one of two tasks x two models, with or without measurements, statistics,
    truncation flags, extracted answers and a failed or cached generation."""
    task, model = rng.choice(["t", "u"]), rng.choice(["m", "n"])
    failed = rng.random() < 0.2
    measured = {name: rng.random() for name in ("latency_s", "cost_usd") if rng.random() < 0.3}
    if failed:
        generation = Generation(error="boom", **measured)
    else:
        generation = Generation(text="x", cached=rng.random() < 0.3, **measured)
    scores = [Score(name="exact_match", value=float(rng.random() < 0.5))]
    if rng.random() < 0.7:  # corpus statistics on some records only: NaN rows for the others
        stats = [float(rng.randint(0, 9)) for _ in range(4)] if rng.random() < 0.6 else None
        truncated = {"truncated": True} if rng.random() < 0.2 else {}
        scores.append(Score(name="bleu", value=rng.random(), details=truncated, statistics=stats))
    extracted = [
        ExtractedAnswer(pipeline=rng.choice(["", "last"]), answer=rng.choice(["", "4"]))
        for _ in range(rng.randint(0, 2))
    ]
    sample_id = f"s{rng.randint(0, 40)}"  # repeats: a sample written twice
    return SampleRecord(
        task=task,
        model=model,
        sample_id=sample_id,
        index=position,
        request=Request(task=task, sample_id=sample_id, messages=[]),
        generation=generation,
        scores=scores,
        extracted=extracted,
    )


@pytest.mark.parametrize("seed", range(5))
def test_columns_added_a_batch_at_a_time_equal_those_added_record_by_record(seed: int) -> None:
    """`add_records` (the pipeline's batches: one extend per column) gives the very columns
    `add_record` gives one record at a time, whatever the mix of groups, measurements appearing
    late, statistics on some scores only, failures, cached answers and extracted answers."""
    rng = random.Random(seed)
    records = [_varied_record(rng, i) for i in range(300)]
    one_by_one, batched = RunColumns(keep_ids=True), RunColumns(keep_ids=True)
    for record in records:
        one_by_one.add_record(record)
    cuts = sorted(rng.sample(range(1, len(records)), 12))
    for start, stop in zip([0, *cuts], [*cuts, len(records)], strict=True):
        batched.add_records(records[start:stop])
    assert batched.lines == one_by_one.lines == len(records)
    assert batched.first_ordinal == one_by_one.first_ordinal
    assert list(batched.groups) == list(one_by_one.groups)
    assert [_bits(g) for g in batched.groups.values()] == [
        _bits(g) for g in one_by_one.groups.values()
    ]
    group = one_by_one.groups[("t", "m")]  # what the comparison covers
    assert len(group) > 0 and group.measured and group.pipelines and group.failed.count(1)
    assert group.metrics["bleu"].width == 4 and group.metrics["bleu"].truncated.count(1)


def _bits(value: Any) -> Any:
    """Every array as its bytes (NaN rows compare equal), dicts with their key order."""
    if isinstance(value, array | bytearray):
        return bytes(value)
    if isinstance(value, dict):
        return [(k, _bits(v)) for k, v in value.items()]
    if dataclasses.is_dataclass(value):
        return [(f.name, _bits(getattr(value, f.name))) for f in dataclasses.fields(value)]
    return value
