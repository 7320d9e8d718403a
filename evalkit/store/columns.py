"""A run's per-sample numbers as compact columns, accumulated record by record (issue 24).

Aggregation, usage totals and extraction counts need a few numbers per sample, never the whole
record: per task x model, the sample's index and a key for "latest record wins", the generation's
status and measurements, and per metric its value, status, truncation flag and sufficient
statistics (a corpus metric's per-sample vector). They are kept in `array` buffers (8 bytes a
number) instead of pydantic records (10-12 KB a sample), so a million-sample run aggregates in
flat memory. Records come from samples.jsonl lines (`add_line`, parsed JSON) or from the
pipeline's SampleRecords as they are written (`add_record`): both give the same columns.

`latest()` reproduces `RunStore.latest_records` without the records: of several records of one
(task, model, sample id) the last one written counts, at the place of the first one.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evalkit.types import SampleRecord

NAN = math.nan
GENERATION_STATUSES = ("ok", "truncated", "empty", "error")
_STATUS_CODE = {s: i for i, s in enumerate(GENERATION_STATUSES)}
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
MEASUREMENTS = ("latency_s", "time_to_first_token_s", "input_tokens", "output_tokens", "cost_usd")


def _float(value: Any) -> float:
    """A measurement as a float; None (not measured) is NaN."""
    return NAN if value is None else float(value)


def _score_line(
    score: Mapping[str, Any],
) -> tuple[str, float, str, Mapping[str, Any], Any]:
    """(name, value, status, details, statistics) of a score as samples.jsonl holds it; a record
    written before `Score.statistics` existed has them in `details["stats"]` (as `Score` reads
    it)."""
    details = score.get("details") or {}
    statistics = score.get("statistics")
    if statistics is None and "stats" in details:
        statistics = details["stats"]
    value = NAN if score["value"] is None else float(score["value"])  # null: how NaN is written
    return score["name"], value, score.get("status", "ok"), details, statistics


@dataclass
class MetricColumn:
    """One metric's scores in a task x model: the record row each came from, value, ok status,
    `details["truncated"]`, and the sufficient statistics (`Score.statistics`, width k, flat;
    NaN rows for scores without them)."""

    rows: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    ok: bytearray = field(default_factory=bytearray)
    truncated: bytearray = field(default_factory=bytearray)
    stats: array[float] = field(default_factory=lambda: array("d"))
    width: int | None = None  # k, known from the first score that has statistics

    def add(self, row: int, value: float, ok: bool, truncated: bool, stats: Any) -> None:
        if isinstance(stats, list):
            if self.width is None:
                self.width = len(stats)
                self.stats.extend([NAN] * (self.width * len(self.rows)))
            if len(stats) != self.width:
                raise ValueError(f"sufficient statistics of {len(stats)} values, not {self.width}")
            self.stats.extend(NAN if v is None else float(v) for v in stats)
        elif self.width is not None:
            self.stats.extend([NAN] * self.width)
        self.rows.append(row)
        self.values.append(value)
        self.ok.append(ok)
        self.truncated.append(truncated)

    def stats_matrix(self) -> FloatArray | None:
        """(entries x k) statistics, or None when no score had any."""
        if self.width is None:
            return None
        return np.frombuffer(self.stats, dtype=np.float64).reshape(len(self.rows), self.width)


@dataclass
class PipelineColumn:
    """One extract pipeline's answers: row, place in the record's list, and 'no answer found'."""

    rows: array[int] = field(default_factory=lambda: array("q"))
    place: array[int] = field(default_factory=lambda: array("q"))
    no_answer: bytearray = field(default_factory=bytearray)


@dataclass
class GroupColumns:
    """The records of one task x model, one row per record in the order written."""

    index: array[int] = field(default_factory=lambda: array("q"))
    key: array[int] = field(default_factory=lambda: array("q"))  # hash of the sample id
    ordinal: array[int] = field(default_factory=lambda: array("q"))  # place in samples.jsonl
    status: bytearray = field(default_factory=bytearray)  # GENERATION_STATUSES position
    failed: bytearray = field(default_factory=bytearray)  # generation.error is set
    cached: bytearray = field(default_factory=bytearray)
    # MEASUREMENTS' values (NaN: not measured); a measurement no record had yet has no column
    measured: dict[str, array[float]] = field(default_factory=dict)
    metrics: dict[str, MetricColumn] = field(default_factory=dict)
    pipelines: dict[str, PipelineColumn] = field(default_factory=dict)
    ids: list[str] | None = None  # the sample ids, per row, when the RunColumns keeps them
    _latest: tuple[IntArray, IntArray, IntArray] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def measurement(self, name: str) -> FloatArray:
        """One of MEASUREMENTS per row (NaN: not measured)."""
        column = self.measured.get(name)
        if column is None:
            return np.full(len(self), NAN)
        return np.frombuffer(column, dtype=np.float64)

    def latest(self) -> tuple[IntArray, IntArray, IntArray]:
        """(rows, rank, first): the last row of each sample key, ordered by the key's first row
        (as `RunStore.latest_records` orders them); per row, its place in that order (-1: the
        row was superseded) and the samples.jsonl ordinal of its key's first row."""
        if self._latest is not None:
            return self._latest
        n = len(self)
        index = np.frombuffer(self.index, dtype=np.int64)
        key = np.frombuffer(self.key, dtype=np.int64)
        order = np.lexsort((key, index))  # stable: a key's rows stay in the order written
        si, sk = index[order], key[order]
        new = np.r_[True, (si[1:] != si[:-1]) | (sk[1:] != sk[:-1])]
        del si, sk
        if new.all():  # no sample written twice (every fresh run): each row is its own latest
            rows = np.arange(n)
            self._latest = (rows, rows, np.frombuffer(self.ordinal, dtype=np.int64))
            return self._latest
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], n] - 1
        first, last = order[starts], order[ends]
        del order, new
        by_first = np.argsort(first, kind="stable")
        rows = last[by_first]
        rank = np.full(n, -1, dtype=np.int64)
        rank[rows] = np.arange(len(rows))
        first_ordinal = np.full(n, -1, dtype=np.int64)
        first_ordinal[rows] = np.frombuffer(self.ordinal, dtype=np.int64)[first[by_first]]
        self._latest = (rows, rank, first_ordinal)
        return self._latest

    def metric_entries(self, metric: str) -> tuple[IntArray, MetricColumn] | None:
        """Positions of `metric`'s scores of latest records, in data order (sample index, then
        the records' order), and its column; None when no record has the metric."""
        column = self.metrics.get(metric)
        if column is None:
            return None
        _, rank, _ = self.latest()
        rows = np.frombuffer(column.rows, dtype=np.int64)
        kept = np.flatnonzero(rank[rows] >= 0)
        index = np.frombuffer(self.index, dtype=np.int64)[rows[kept]]
        if len(index) < 2 or bool((index[1:] > index[:-1]).all()):
            return kept, column  # written in data order (a run not resumed): nothing to sort
        return kept[np.lexsort((rank[rows[kept]], index))], column


class RunColumns:
    """Columns of every task x model of a run, in the order their first record came.

    `keep_ids`: keep each row's sample id (`GroupColumns.ids`, about 60 bytes a sample), which
    paired comparisons match samples by; aggregation needs only their hashes."""

    def __init__(self, *, keep_ids: bool = False) -> None:
        self.keep_ids = keep_ids
        self.groups: dict[tuple[str, str], GroupColumns] = {}
        self.first_ordinal: dict[tuple[str, str], int] = {}
        self.lines = 0
        self.damaged = False  # set while samples.jsonl is read, cleared when it was whole

    def _group(self, task: str, model: str) -> GroupColumns:
        group = self.groups.get((task, model))
        if group is None:
            group = self.groups[(task, model)] = GroupColumns(ids=[] if self.keep_ids else None)
            self.first_ordinal[(task, model)] = self.lines
        group._latest = None
        return group

    def add_line(self, row: Mapping[str, Any]) -> None:
        """One samples.jsonl record, parsed (json.loads). Raises KeyError/TypeError/ValueError
        for a record without the fields a valid one has."""
        generation = row["generation"]
        self._add(
            row["task"],
            row["model"],
            str(row["sample_id"]),
            int(row["index"]),
            generation.get("status") or "ok",
            generation.get("error") is not None,
            bool(generation.get("cached", False)),
            [generation.get(m) for m in MEASUREMENTS],
            [_score_line(s) for s in row["scores"]],
            [(e.get("pipeline", ""), e["answer"]) for e in row.get("extracted", [])],
        )

    def add_record(self, record: SampleRecord) -> None:
        """One record as the pipeline writes it (the same columns as its line gives)."""
        g = record.generation
        self._add(
            record.task,
            record.model,
            record.sample_id,
            record.index,
            g.status,
            g.error is not None,
            g.cached,
            [getattr(g, m) for m in MEASUREMENTS],
            [(s.name, s.value, s.status, s.details, s.statistics) for s in record.scores],
            [(e.pipeline, e.answer) for e in record.extracted],
        )

    def add_records(self, records: Sequence[SampleRecord]) -> None:
        """Records as the pipeline writes them, a batch at a time: the same columns as
        `add_record` of each in turn, with each column extended once per run of records of one
        task x model (0.29 s -> 0.15 s at 100,000 records, py-spy)."""
        start = 0
        while start < len(records):
            task, model = records[start].task, records[start].model
            stop = start + 1
            while stop < len(records) and (records[stop].task, records[stop].model) == (
                task,
                model,
            ):
                stop += 1
            self._add_run(task, model, records[start:stop])
            start = stop

    def _add_run(self, task: str, model: str, records: Sequence[SampleRecord]) -> None:
        group = self._group(task, model)
        first_row = len(group)
        generations = [r.generation for r in records]
        group.index.extend([r.index for r in records])
        group.key.extend([hash(r.sample_id) for r in records])
        if group.ids is not None:
            group.ids.extend([r.sample_id for r in records])
        group.ordinal.extend(range(self.lines, self.lines + len(records)))
        group.status.extend([_STATUS_CODE[g.status] for g in generations])
        group.failed.extend([g.error is not None for g in generations])
        group.cached.extend([g.cached for g in generations])
        measured = {name: [getattr(g, name) for g in generations] for name in MEASUREMENTS}
        new = [name for name, values in measured.items() if name not in group.measured]
        first = {n: next((i for i, v in enumerate(measured[n]) if v is not None), -1) for n in new}
        for name in sorted((n for n in new if first[n] >= 0), key=first.__getitem__):
            group.measured[name] = array("d", [NAN] * first_row)  # in add_record's order
        for name, kept in group.measured.items():
            kept.extend([_float(v) for v in measured[name]])
        for row, record in enumerate(records, start=first_row):
            for score in record.scores:
                column = group.metrics.get(score.name)
                if column is None:
                    column = group.metrics[score.name] = MetricColumn()
                column.add(
                    row, score.value, score.status == "ok", bool(score.details.get("truncated")),
                    score.statistics,
                )  # fmt: skip
            for place, extracted in enumerate(record.extracted):
                self._add_extracted(group, row, place, extracted.pipeline, extracted.answer)
        self.lines += len(records)

    def _add(
        self,
        task: str,
        model: str,
        sample_id: str,
        index: int,
        status: str,
        failed: bool,
        cached: bool,
        measured: Sequence[Any],
        scores: Sequence[tuple[str, float, str, Mapping[str, Any], Any]],
        extracted: Sequence[tuple[str, str]],
    ) -> None:
        group = self._group(task, model)
        row = len(group)
        group.index.append(index)
        group.key.append(hash(sample_id))
        if group.ids is not None:
            group.ids.append(sample_id)
        group.ordinal.append(self.lines)
        group.status.append(_STATUS_CODE[status])
        group.failed.append(failed)
        group.cached.append(cached)
        for name, value in zip(MEASUREMENTS, measured, strict=True):
            kept = group.measured.get(name)
            if kept is None:
                if value is None:
                    continue  # replayed outputs have no measurements: no column of NaNs
                kept = group.measured[name] = array("d", [NAN] * row)
            kept.append(_float(value))
        for name, value, score_status, details, statistics in scores:
            column = group.metrics.get(name)
            if column is None:
                column = group.metrics[name] = MetricColumn()
            column.add(
                row, value, score_status == "ok", bool(details.get("truncated")), statistics
            )  # fmt: skip
        for place, (pipeline, answer) in enumerate(extracted):
            self._add_extracted(group, row, place, pipeline, answer)
        self.lines += 1

    @staticmethod
    def _add_extracted(
        group: GroupColumns, row: int, place: int, pipeline: str, answer: str
    ) -> None:
        pipe = group.pipelines.get(pipeline)
        if pipe is None:
            pipe = group.pipelines[pipeline] = PipelineColumn()
        pipe.rows.append(row)
        pipe.place.append(place)
        pipe.no_answer.append(answer == "")

    def counts(self) -> tuple[int, int]:
        """(latest records, of which failed generations) over every task x model."""
        done = failed = 0
        for group in self.groups.values():
            rows, _, _ = group.latest()
            done += len(rows)
            failed += int(np.frombuffer(group.failed, dtype=np.uint8)[rows].sum())
        return done, failed
