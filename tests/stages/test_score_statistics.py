"""Per-sample sufficient statistics live in the typed `Score.statistics` field (issue 17): the
corpus scorers write sacrebleu's own statistics there, a record written before the field existed
(statistics in `details["stats"]`) reads back the same through every reader (pydantic records,
the columns fast path, compare/gate rows), and the corpus values equal sacrebleu's."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU as SacreBLEU
from sacrebleu.metrics import CHRF as SacreCHRF
from sacrebleu.metrics import TER as SacreTER

from evalkit.stages.aggregate import aggregate_columns, task_metrics
from evalkit.stages.metricspec import aggregate_scores, score_row, specs_of_scorers
from evalkit.stages.scoring import ScoringItem, build_scorers
from evalkit.store.columns import RunColumns
from evalkit.types import Generation, Request, SampleRecord, Score

HYPS = [
    "the cat sat on the mat",
    "a dog ran",
    "hello there world",
    "Das ist gut.",
    "x y z w",
    "the quick brown fox jumps",
]
REFS = [
    "the cat is on the mat",
    "a dog ran in the park",
    "hello world",
    "Das ist sehr gut.",
    "a b c d",
    "the quick brown fox jumped over",
]
SCORERS: list[tuple[str, dict[str, Any]]] = [("bleu", {}), ("chrf", {}), ("ter", {})]
REFERENCE_METRICS = {"bleu": SacreBLEU, "chrf": SacreCHRF, "ter": SacreTER}


def _scores() -> dict[str, list[Score]]:
    """metric -> the scorer's Score of each sample, in data order."""
    items = [ScoringItem(h, (r,), None) for h, r in zip(HYPS, REFS, strict=True)]
    out = {}
    for scorer in build_scorers(SCORERS):
        out[scorer.metrics[0]] = [row[0] for row in scorer.score(items)]
    return out


def _old_format(score: Score) -> dict[str, Any]:
    """The JSON of `score` as evalkit wrote it before `Score.statistics`: in details["stats"]."""
    data: dict[str, Any] = json.loads(score.model_dump_json())
    data["details"] = {**data["details"], "stats": data.pop("statistics")}
    return data


def _lines(scores: dict[str, list[Score]], old: bool) -> list[dict[str, Any]]:
    """samples.jsonl lines (parsed) of one task x model, new or old format."""
    lines = []
    for i, hyp in enumerate(HYPS):
        record = SampleRecord(
            task="t",
            model="m",
            sample_id=f"s{i}",
            index=i,
            request=Request(task="t", sample_id=f"s{i}", messages=[]),
            generation=Generation(text=hyp),
            scores=[s[i] for s in scores.values()],
            references=[REFS[i]],
        )
        line = json.loads(record.model_dump_json())
        if old:
            line["scores"] = [_old_format(s) for s in record.scores]
        lines.append(line)
    return lines


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_scorers_write_sacrebleus_statistics_in_the_typed_field(metric: str) -> None:
    reference = REFERENCE_METRICS[metric]()
    expected = reference._extract_corpus_statistics(HYPS, [REFS])
    scores = _scores()[metric]
    assert [s.statistics for s in scores] == [[float(v) for v in row] for row in expected]
    assert all("stats" not in s.details for s in scores)
    dumped = json.loads(scores[0].model_dump_json())
    assert dumped["statistics"] == [float(v) for v in expected[0]]
    assert "stats" not in dumped["details"]


def test_bleu_statistics_are_lengths_matches_and_totals_by_hand() -> None:
    """'the cat sat on the mat' vs 'the cat is on the mat': 6 words each; matching 1-grams
    the, cat, on, the, mat (5 of 6), 2-grams 'the cat', 'on the', 'the mat' (3 of 5), 3-grams
    'on the mat' (1 of 4), no 4-gram (of 3)."""
    score = _scores()["bleu"][0]
    assert score.statistics == [6.0, 6.0, 5.0, 3.0, 1.0, 0.0, 6.0, 5.0, 4.0, 3.0]


def test_a_score_without_statistics_writes_no_field() -> None:
    score = Score(name="exact_match", value=1.0)
    assert score.statistics is None
    assert "statistics" not in json.loads(score.model_dump_json())
    assert Score.model_validate_json(score.model_dump_json()) == score


def test_an_old_format_score_reads_back_as_the_new_one() -> None:
    for scores in _scores().values():
        for score in scores:
            old = Score.model_validate(_old_format(score))
            assert old == score
            assert old.statistics == score.statistics and "stats" not in old.details
            assert score_row(old) == score_row(score) == score.statistics
    other = Score.model_validate({"name": "x", "value": 0.5, "details": {"stats": "a note"}})
    assert other.statistics is None and other.details == {"stats": "a note"}


def test_old_and_new_records_aggregate_identically_and_as_sacrebleu() -> None:
    """samples.jsonl lines in both formats: the columns fast path, the pydantic records and the
    spec aggregation give the same aggregates, and each value is sacrebleu's corpus score."""
    scores = _scores()
    scorers = build_scorers(SCORERS)
    metrics = {"t": task_metrics(SCORERS, scorers)}
    results = []
    for old in (False, True):
        lines = _lines(scores, old)
        from_lines, from_records = RunColumns(), RunColumns()
        for line in lines:
            from_lines.add_line(line)
            from_records.add_record(SampleRecord.model_validate(line))
        for columns in (from_lines, from_records):
            results.append(aggregate_columns(columns, metrics, seed=3, n_resamples=100))
    assert all(r == results[0] for r in results)
    by_metric = {a.metric: a.value for a in results[0]}
    assert by_metric["bleu"] == pytest.approx(sacrebleu.corpus_bleu(HYPS, [REFS]).score)
    assert by_metric["chrf"] == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score)
    assert by_metric["ter"] == pytest.approx(sacrebleu.corpus_ter(HYPS, [REFS]).score)
    specs = specs_of_scorers(SCORERS, scorers)
    for spec, aggregate in zip(specs, results[0], strict=True):
        old = [Score.model_validate(_old_format(s)) for s in scores[spec.metric]]
        kwargs: dict[str, Any] = {"task": "t", "model": "m", "seed": 3, "n_resamples": 100}
        assert aggregate_scores(spec, old, **kwargs) == aggregate
