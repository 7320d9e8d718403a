"""The report's digest of samples.jsonl (columns, a few records kept whole) against the same
quantities computed the way the report computed them from every latest record (issue 24: a
report in flat memory must not change a number)."""

from __future__ import annotations

import gc
import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from evalkit.analysis.bundle import LabelledRun, bundle_runs
from evalkit.analysis.compare import LoadedRecords, ok_rows
from evalkit.analysis.report_payload import _heatmaps, build_payload
from evalkit.analysis.run_digest import LISTED_FAILURES, digest_of, read_digest
from evalkit.errors import UserError
from evalkit.stages.metricspec import MetricTable, score_row
from evalkit.stats.rankcorr import spearman_matrix
from evalkit.store.run_store import RunStore
from evalkit.types import (
    ChatMessage,
    Generation,
    Request,
    RunRecord,
    SampleRecord,
    Score,
)

N = 40


def _record(
    task: str, model: str, i: int, rng: random.Random, *, retry: bool = False
) -> SampleRecord:
    """A record with a mean metric, a corpus metric (sufficient statistics), sometimes a failed
    score or a failed generation, and human ratings on task 'rated'."""
    failed = not retry and rng.random() < 0.15
    human = {"coherence": rng.randint(1, 5), "fluency": rng.random()} if task == "rated" else None
    scores = []
    if not failed:
        scores = [
            Score(name="em", value=float(rng.random() < 0.5)),
            Score(
                name="bleu",
                value=rng.random() * 100,
                statistics=[float(rng.randint(0, 9)) for _ in range(4)],
            ),
            Score(name="f1", value=rng.random())
            if rng.random() > 0.2
            else Score(name="f1", value=math.nan, status="unscorable", explanation="no text"),
        ]
    return SampleRecord(
        task=task,
        model=model,
        sample_id=f"s{i:03d}",
        index=i,
        request=Request(
            task=task, sample_id=f"s{i:03d}", messages=[ChatMessage(role="user", content=f"q{i}")]
        ),
        generation=Generation(
            text="" if failed else f"answer {i}",
            error="HTTP 500" if failed else None,
            status="error" if failed else "ok",
            metadata={"human": human} if human else {},
        ),
        scores=scores,
        references=[f"ref {i}"],
    )


def _records(seed: int = 3) -> list[SampleRecord]:
    """Two tasks x two models written interleaved and out of data order, then some failed
    samples written again (their new record supersedes the old one, which stays in the log)."""
    rng = random.Random(seed)
    written = []
    for task in ("plain", "rated"):
        order = list(range(N))
        rng.shuffle(order)
        for i in order:
            for model in ("a", "b"):
                written.append(_record(task, model, i, rng))
    retried = [r for r in written if r.generation.error][:5]
    retried += [r for r in written if not r.generation.error][:4]  # rewritten with new scores
    written += [_record(r.task, r.model, r.index, rng, retry=True) for r in retried]
    return written


def _latest(records: list[SampleRecord]) -> list[SampleRecord]:
    latest: dict[tuple[str, str, str], SampleRecord] = {}
    for r in records:
        latest[(r.task, r.model, r.sample_id)] = r
    return list(latest.values())


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SampleRecord]]:
    run_dir = tmp_path_factory.mktemp("digest")
    store = RunStore(run_dir)
    records = _records()
    store.append(records)
    store.close()
    return run_dir, records


def test_columns_give_every_ok_row_as_the_records_do(written):
    run_dir, records = written
    digest = read_digest(RunStore(run_dir))
    latest = _latest(records)
    assert digest.n_records == len(latest)
    for (task, model), group in digest.groups.items():
        for metric in ("em", "bleu", "f1"):
            expected = {
                r.sample_id: score_row(s)
                for r in latest
                if (r.task, r.model) == (task, model)
                for s in r.scores
                if s.name == metric and s.status == "ok"
            }
            positions, rows = ok_rows(group, metric)
            assert positions.keys() == expected.keys()
            for sample_id, row in expected.items():
                assert rows[positions[sample_id]].tolist() == row
    ok = Counter((r.task, r.model, s.name) for r in latest for s in r.scores if s.status == "ok")
    assert digest.ok_counts() == ok


def test_records_kept_whole_are_the_latest_in_their_order(written):
    run_dir, records = written
    latest = _latest(records)
    digest = read_digest(RunStore(run_dir), max_samples=7)
    position = {"plain": 0, "rated": 1}
    shown: list[SampleRecord] = []
    per_group: Counter[tuple[str, str]] = Counter()
    for r in sorted(latest, key=lambda r: (position[r.task], r.index)):
        per_group[(r.task, r.model)] += 1
        if per_group[(r.task, r.model)] <= 7:
            shown.append(r)
    # kept in latest-record order; the browser sorts them by data index itself
    assert [
        r.model_dump_json() for r in sorted(digest.shown, key=lambda r: (position[r.task], r.index))
    ] == [r.model_dump_json() for r in shown]
    assert [r.model_dump_json() for r in digest.human_rated] == [
        r.model_dump_json() for r in latest if r.generation.metadata.get("human")
    ]
    failed = [r for r in latest if r.generation.error]
    assert len(failed) > 0 and len(digest.failed) == min(len(failed), LISTED_FAILURES)
    assert [r.model_dump_json() for r in digest.failed] == [
        r.model_dump_json() for r in failed[:LISTED_FAILURES]
    ]
    # per task x model, in the order the console lists them (that of their first failure)
    assert list(digest.n_failed.items()) == list(Counter((r.task, r.model) for r in failed).items())
    # the superseded records are not counted anywhere
    assert digest.n_records == len(latest) < len(records)


def test_digest_of_records_in_memory_equals_the_one_read_from_the_log(written):
    run_dir, records = written
    read = read_digest(RunStore(run_dir), max_samples=5)
    made = digest_of(records, max_samples=5)
    for name in ("shown", "human_rated", "failed"):
        assert [r.model_dump_json() for r in getattr(read, name)] == [
            r.model_dump_json() for r in getattr(made, name)
        ]
    assert read.ok_counts() == made.ok_counts() and read.n_failed == made.n_failed


def test_heatmap_from_columns_equals_the_one_from_every_record(written):
    run_dir, records = written
    run = RunRecord.model_construct(seed=1, aggregates=[], usage=[], metric_specs={}, config={})
    bundle = bundle_runs([LabelledRun("r", run, read_digest(RunStore(run_dir), max_samples=3))])
    bundle.aggregates = [
        type("A", (), {"task": t, "model": "a", "metric": "em"})() for t in ("plain", "rated")
    ]  # the tasks, in order (only their names are read here)
    got = _heatmaps(bundle)
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in _latest(records):  # the report's former computation, record by record
        row = {s.name: s.value for s in r.scores if s.status == "ok"}
        human = r.generation.metadata.get("human")
        if isinstance(human, dict):
            row.update({f"human: {k}": float(v) for k, v in human.items()})
        rows[r.task].append(row)
    assert set(got) == {"plain", "rated"}
    for task, task_rows in rows.items():
        columns = sorted(
            dict.fromkeys(c for row in task_rows for c in row),
            key=lambda c: (c.startswith("human: "), c),
        )
        expected = spearman_matrix(task_rows, columns, min_periods=10)
        assert got[task]["labels"] == columns and got[task]["n"] == len(task_rows)
        flat = [v for line in expected for v in line]
        mine = [v for line in got[task]["matrix"] for v in line]
        assert mine == [None if math.isnan(v) else float(f"{v:.3g}") for v in flat]
    assert "human: coherence" in got["rated"]["labels"]


def test_paired_columns_serve_compare_as_records_did(written):
    run_dir, records = written
    digest = read_digest(RunStore(run_dir), max_samples=0)
    data = LoadedRecords(digest.groups, MetricTable(), digest.models)
    assert data.has("plain", "a") and not data.has("plain", "c")
    positions, rows = data.column("rated", "b", "bleu")
    expected = {
        r.sample_id: next(s.statistics for s in r.scores if s.name == "bleu")
        for r in _latest(records)
        if (r.task, r.model) == ("rated", "b") and r.scores
    }
    assert {i: rows[p].tolist() for i, p in positions.items()} == expected
    assert digest.shown == []  # max_samples=0: nothing kept for a browser


def test_payload_browser_shows_the_capped_records(written):
    run_dir, _ = written
    run = RunRecord.model_construct(seed=1, aggregates=[], usage=[], metric_specs={}, config={})
    bundle = bundle_runs([LabelledRun("r", run, read_digest(RunStore(run_dir), max_samples=4))])
    payload = build_payload(bundle, max_samples=4)
    shown = Counter(payload["models"][m] for m in payload["outputs"]["m"])
    assert shown == {"a": 8, "b": 8}  # 4 per task x model, 2 tasks
    assert sorted(set(payload["samples"]["index"])) == [0, 1, 2, 3]  # the first by data index


def test_only_the_records_kept_whole_stay_in_memory(written):
    """The flat-memory property: reading the log keeps the browser's capped records, the
    human-rated ones and the listed failures, and no other record object."""
    run_dir, _ = written

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, SampleRecord) for o in gc.get_objects())

    before = alive()
    digest = read_digest(RunStore(run_dir), max_samples=2)
    kept = {id(r) for r in digest.shown + digest.human_rated + digest.failed}
    assert alive() - before == len(kept)
    plain = [r for r in digest.shown + digest.failed if r.task == "plain"]
    assert len({id(r) for r in plain}) <= 2 * 2 + LISTED_FAILURES  # of 80 latest records
    assert len(digest.shown) == 2 * 4  # 2 per task x model


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"sample_id": 12345}, "sample_id: Input should be a valid string"),
        ({"index": 10.5}, "index: Input should be a valid integer"),
        ({"unknown": 1}, "unknown: unknown field"),
        ({"scores.0.statistics": "abc"}, "scores.0.statistics: Input should be a valid array"),
        ({"scores.0.status": "bogus"}, "scores.0.status: Input should be"),
    ],
)
def test_a_record_not_kept_whole_is_still_validated(written, tmp_path, damage, reason):
    """Every line is validated, shown or not: a damaged record far past the browser's cap is
    one line naming it (before: compare paired it wrongly or crashed on its statistics)."""
    run_dir, _ = written
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    row = json.loads(lines[40])
    for dotted, value in damage.items():
        *path, last = dotted.split(".")
        target = row
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    lines[40] = json.dumps(row)
    (tmp_path / "samples.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"samples.jsonl:41: not a valid sample record") as err:
        read_digest(RunStore(tmp_path), max_samples=0)
    assert reason in str(err.value)
