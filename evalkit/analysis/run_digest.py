"""A run's sample records as the report, `evalkit compare` and `evalkit run`'s end read them:
every number as columns, whole records only where a page or the console shows their text.

A report's statistics (paired tests, the summary's ties, the metric heatmap, counts) need a few
numbers per sample; only the sample browser, the meta-evaluation against human ratings and the
console's list of failures need records. `read_digest` reads samples.jsonl in two passes: the
first validates every line as a `SampleRecord`, one at a time, and keeps only its numbers in
`RunColumns` (sample ids kept: about 100 bytes a sample beside each metric's 8-byte values); the
second keeps whole only the lines chosen: the latest records shown in the sample browser (the
first `max_samples` per task x model by data index), those whose outputs carry human ratings,
and the first failed generations. A million-sample run is reported in flat memory instead of
holding 4-10 KB of pydantic objects a sample (issue 24). `digest_of` builds the same digest from
records already in memory.

"Latest" is `RunStore.latest_records`'s rule: of several records of one (task, model, sample) the
last written counts, at the place of the first; every list here is in that order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from evalkit.errors import UserError
from evalkit.store.columns import GroupColumns, RunColumns
from evalkit.store.run_store import RunStore, complete_lines
from evalkit.types import SampleRecord
from evalkit.validation import first_error

LISTED_FAILURES = 10  # failed generations named on the console, at most

GroupKey = tuple[str, str]  # (task, model)


@dataclass
class RunDigest:
    """A run's latest sample records: `columns` for every number (sample ids kept), and the few
    records kept whole (`shown`, `human_rated`, `failed`, each in latest-record order)."""

    columns: RunColumns
    shown: list[SampleRecord] = field(default_factory=list)
    human_rated: list[SampleRecord] = field(default_factory=list)
    failed: list[SampleRecord] = field(default_factory=list)  # the first LISTED_FAILURES
    n_failed: Counter[GroupKey] = field(default_factory=Counter)  # failed generations per group
    max_samples: int | None = None  # the cap `shown` was chosen under (None: every record)

    @property
    def groups(self) -> dict[GroupKey, GroupColumns]:
        return self.columns.groups

    @property
    def n_records(self) -> int:
        """Latest records (one per task x model x sample)."""
        return sum(len(g.latest()[0]) for g in self.groups.values())

    @property
    def models(self) -> list[str]:
        """Model names in the order their first record was written."""
        return list(dict.fromkeys(model for _, model in self.groups))

    def ok_counts(self) -> Counter[tuple[str, str, str]]:
        """(task, model, metric) -> latest records whose score of the metric is `ok`."""
        found: Counter[tuple[str, str, str]] = Counter()
        for (task, model), group in self.groups.items():
            _, rank, _ = group.latest()
            for metric, column in group.metrics.items():
                rows = np.frombuffer(column.rows, dtype=np.int64)
                ok = np.frombuffer(column.ok, dtype=np.uint8).astype(bool)
                found[(task, model, metric)] = int((ok & (rank[rows] >= 0)).sum())
        return found

    def renamed(self, names: dict[str, str]) -> RunDigest:
        """The digest with model names replaced by `names` (name -> label; others kept)."""
        if all(names.get(m, m) == m for m in self.models):
            return self
        columns = RunColumns(keep_ids=True)
        columns.lines = self.columns.lines
        for (task, model), group in self.groups.items():
            label = names.get(model, model)
            columns.groups[(task, label)] = group
            columns.first_ordinal[(task, label)] = self.columns.first_ordinal[(task, model)]

        def rename(records: list[SampleRecord]) -> list[SampleRecord]:
            return [
                r
                if names.get(r.model, r.model) == r.model
                else r.model_copy(update={"model": names[r.model]})
                for r in records
            ]

        n_failed = Counter({(t, names.get(m, m)): n for (t, m), n in self.n_failed.items()})
        return replace(
            self,
            columns=columns,
            shown=rename(self.shown),
            human_rated=rename(self.human_rated),
            failed=rename(self.failed),
            n_failed=n_failed,
        )


@dataclass(frozen=True)
class _Chosen:
    """Line ordinals (0-based places in samples.jsonl) of the records to keep whole, each with
    its key's first ordinal (the latest-record order)."""

    shown: dict[int, int]
    human_rated: dict[int, int]
    failed: dict[int, int]

    def wanted(self) -> set[int]:
        return self.shown.keys() | self.human_rated.keys() | self.failed.keys()


def _choose(
    columns: RunColumns, human_lines: set[int], max_samples: int | None
) -> tuple[_Chosen, Counter[GroupKey]]:
    """Which latest records to keep whole: per task x model the first `max_samples` by (data
    index, latest order), as the sample browser sorts and caps them; those with human ratings;
    the first LISTED_FAILURES failed generations over the whole run."""
    shown: dict[int, int] = {}
    human: dict[int, int] = {}
    failed_rows: list[tuple[int, int, GroupKey]] = []
    for key, group in columns.groups.items():
        rows, _, first = group.latest()
        ordinal = np.frombuffer(group.ordinal, dtype=np.int64)
        index = np.frombuffer(group.index, dtype=np.int64)[rows]
        by_index = np.lexsort((np.arange(len(rows)), index))
        if max_samples is not None:
            by_index = by_index[:max_samples]
        for row in rows[by_index]:
            shown[int(ordinal[row])] = int(first[row])
        for row in rows:
            if int(ordinal[row]) in human_lines:
                human[int(ordinal[row])] = int(first[row])
        failed = np.frombuffer(group.failed, dtype=np.uint8)[rows].astype(bool)
        failed_rows += [(int(first[r]), int(ordinal[r]), key) for r in rows[failed]]
    failed_rows.sort(key=lambda row: row[0])
    listed = {o: f for f, o, _ in failed_rows[:LISTED_FAILURES]}
    n_failed = Counter(key for _, _, key in failed_rows)  # in the order of their first failure
    return _Chosen(shown, human, listed), n_failed


def _ordered(kept: dict[int, SampleRecord], chosen: dict[int, int]) -> list[SampleRecord]:
    """The chosen records in latest-record order (their key's first ordinal)."""
    return [kept[o] for o in sorted(chosen, key=chosen.__getitem__)]


def _digest(
    columns: RunColumns,
    human_lines: set[int],
    max_samples: int | None,
    materialize: Callable[[set[int]], dict[int, SampleRecord]],
) -> RunDigest:
    chosen, n_failed = _choose(columns, human_lines, max_samples)
    kept = materialize(chosen.wanted())
    return RunDigest(
        columns=columns,
        shown=_ordered(kept, chosen.shown),
        human_rated=_ordered(kept, chosen.human_rated),
        failed=_ordered(kept, chosen.failed),
        n_failed=n_failed,
        max_samples=max_samples,
    )


def _carries_human(metadata: object) -> bool:
    return isinstance(metadata, dict) and isinstance(metadata.get("human"), dict)


def digest_of(records: Iterable[SampleRecord], max_samples: int | None = None) -> RunDigest:
    """The digest of records in memory, in the order written (latest record wins, as in
    samples.jsonl)."""
    listed = list(records)
    columns = RunColumns(keep_ids=True)
    human_lines = set()
    for ordinal, record in enumerate(listed):
        columns.add_record(record)
        if _carries_human(record.generation.metadata):
            human_lines.add(ordinal)
    return _digest(columns, human_lines, max_samples, lambda wanted: {o: listed[o] for o in wanted})


def read_digest(store: RunStore, max_samples: int | None = None) -> RunDigest:
    """The digest of `store`'s samples.jsonl (see the module docstring). Every line is validated
    as a SampleRecord, one at a time, and dropped once its numbers are in the columns. Raises
    UserError naming the line of a record that is not valid, in pydantic's words."""
    columns = RunColumns(keep_ids=True)
    human_lines: set[int] = set()
    path = store.samples_path
    columns.damaged = True
    lines = complete_lines(path) if path.is_file() else iter(())
    for ordinal, (line_no, line) in enumerate(lines):
        try:
            record = SampleRecord.model_validate_json(line)
            columns.add_record(record)
        except ValidationError as exc:
            raise _invalid(path, line_no, first_error(exc)) from None
        except ValueError as exc:  # sufficient statistics of another width than the metric's
            raise _invalid(path, line_no, str(exc)) from None
        if _carries_human(record.generation.metadata):
            human_lines.add(ordinal)
    columns.damaged = False

    def materialize(wanted: set[int]) -> dict[int, SampleRecord]:
        kept: dict[int, SampleRecord] = {}
        if not wanted:
            return kept
        last = max(wanted)
        for ordinal, (_, line) in enumerate(complete_lines(path)):
            if ordinal in wanted:
                kept[ordinal] = SampleRecord.model_validate_json(line)  # valid: read above
            if ordinal >= last:
                break
        return kept

    return _digest(columns, human_lines, max_samples, materialize)


def _invalid(path: Path, line_no: int, reason: str) -> UserError:
    return UserError(f"{path}:{line_no}: not a valid sample record ({reason})")
