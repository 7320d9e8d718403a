"""Run store (append-only log, crash tails, atomic writes) and the SQLite response cache."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from evalkit.analysis.run_digest import read_digest
from evalkit.errors import UserError
from evalkit.store.atomicio import atomic_write_text
from evalkit.store.cache import ResponseCache, cache_key
from evalkit.store.columns import RunColumns
from evalkit.store.run_store import RunStore
from evalkit.types import ChatMessage, Generation, GenerationParams, Request, SampleRecord, Score


def record(i: int) -> SampleRecord:
    request = Request(task="t", sample_id=str(i), messages=[ChatMessage(role="user", content="q")])
    return SampleRecord(
        task="t",
        model="m",
        sample_id=str(i),
        index=i,
        request=request,
        generation=Generation(text=str(i)),
        scores=[Score(name="x", value=float("nan"), status="error")],
    )


def test_partial_tail_is_dropped_on_resume(tmp_path):
    store = RunStore(tmp_path)
    store.append([record(0), record(1)])
    store.close()
    with store.samples_path.open("a", encoding="utf-8") as handle:
        handle.write(record(2).model_dump_json()[:40])  # a kill -9 in the middle of a write
    assert [r.sample_id for r in store.records()] == ["0", "1"]
    assert store.done_keys() == {("t", "m", "0"), ("t", "m", "1")}
    store.open_log()
    store.append([record(2)])
    store.close()
    assert [r.sample_id for r in store.records()] == ["0", "1", "2"]


def test_nan_scores_round_trip(tmp_path):
    store = RunStore(tmp_path)
    store.append([record(0)])
    store.close()
    [back] = store.records()
    assert back.scores[0].status == "error" and back.scores[0].value != back.scores[0].value


def _strict_json(line: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not strict JSON")

    return json.loads(line, parse_constant=refuse)


def _nan_read_back_by_every_reader(store: RunStore) -> None:
    """The record model, the columns read from parsed lines (resume, aggregation) and the
    digest (report, compare) all read the unscorable score as NaN, its statistic NaN too."""
    [back] = store.records()
    assert math.isnan(back.scores[0].value) and back.scores[0].status == "unscorable"
    assert back.scores[0].statistics is not None and math.isnan(back.scores[0].statistics[1])
    columns = RunColumns()
    for _, head in store.lines():
        columns.add_line(head)
    metric = columns.groups[("t", "m")].metrics["x"]
    assert math.isnan(metric.values[0]) and not metric.ok[0] and math.isnan(metric.stats[1])
    digest_metric = read_digest(store).columns.groups[("t", "m")].metrics["x"]
    assert math.isnan(digest_metric.values[0])


def test_unscorable_scores_are_written_as_strict_json_null_and_read_back_as_nan(tmp_path):
    score = Score(name="x", value=math.nan, status="unscorable", statistics=[1.0, math.nan])
    store = RunStore(tmp_path / "new")
    store.append([record(0).model_copy(update={"scores": [score]})])
    store.close()
    [line] = store.samples_path.read_text(encoding="utf-8").splitlines()
    stored = _strict_json(line)["scores"][0]  # a bare NaN is not JSON (jq, JSON.parse refuse it)
    assert (stored["value"], stored["statistics"]) == (None, [1.0, None])
    _nan_read_back_by_every_reader(store)
    # a samples.jsonl written before, with the constant NaN, reads the same
    old = RunStore(tmp_path / "old")
    old.samples_path.parent.mkdir()
    written_before = line.replace('"value":null', '"value":NaN').replace("1.0,null", "1.0,NaN")
    assert written_before != line
    old.samples_path.write_text(written_before + "\n", encoding="utf-8")
    _nan_read_back_by_every_reader(old)


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "run.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def req(content: str, seed: int = 0) -> Request:
    return Request(
        task="t",
        sample_id="1",
        messages=[ChatMessage(role="user", content=content)],
        params=GenerationParams(seed=seed),
    )


def test_cache_key_covers_backend_prompt_and_params():
    keys = {
        cache_key("model-a", req("x")),
        cache_key("model-b", req("x")),
        cache_key("model-a", req("y")),
        cache_key("model-a", req("x", seed=1)),
    }
    assert len(keys) == 4
    assert cache_key("model-a", req("x")) == cache_key("model-a", req("x"))


def test_cache_round_trip_and_errors_not_stored(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put_many(
        [("ok", Generation(text="hi", latency_s=1.5)), ("bad", Generation(error="boom"))]
    )
    found = cache.get_many(["ok", "bad", "absent"])
    assert list(found) == ["ok"] and found["ok"].text == "hi" and found["ok"].latency_s == 1.5
    cache.close()
    assert len(ResponseCache(tmp_path / "c.sqlite")) == 1


def _writer(path: str, worker: int, start_together: Any) -> None:
    start_together.wait()
    cache = ResponseCache(Path(path))
    for start in range(0, 200, 20):
        cache.put_many(
            [(f"{worker}-{i}", Generation(text=str(i))) for i in range(start, start + 20)]
        )
    cache.close()


def test_parallel_writers_lose_nothing(tmp_path):
    """Four processes open one new cache file at the same instant (parallel sweep jobs do):
    none dies of "database is locked" while the file is switched to WAL, none loses a write."""
    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    start_together = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(path, w, start_together)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(ResponseCache(Path(path))) == 800


def test_opening_one_new_cache_from_many_connections_at_once_never_fails(tmp_path):
    """Switching a new file to WAL needs SQLite's exclusive lock, which answers "database is
    locked" at once (no busy handler) to all but one of several connections opening the file
    together. 200 rounds of 8 connections opened at the same instant: before the retry about 1
    round in 20 lost a connection."""
    failures: list[BaseException] = []
    for round_no in range(200):
        path = tmp_path / f"new-{round_no}.sqlite"
        start_together = threading.Barrier(8)

        def open_cache(path: Path = path, barrier: threading.Barrier = start_together) -> None:
            barrier.wait()
            try:
                ResponseCache(path).close()
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=open_cache) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures, failures[0]


@pytest.mark.parametrize("kind", ["a folder", "not sqlite", "cache dir is a file"])
def test_a_cache_path_that_cannot_be_written_is_one_line(tmp_path, kind):
    path = tmp_path / "responses.sqlite"
    if kind == "a folder":
        path.mkdir()
    elif kind == "not sqlite":
        path.write_bytes(os.urandom(5000))
    else:
        (tmp_path / "cachedir").write_text("a file")
        path = tmp_path / "cachedir" / "responses.sqlite"
    with pytest.raises(UserError, match=r"response cache .*responses\.sqlite: cannot open it"):
        ResponseCache(path)


def test_the_cli_names_an_unusable_cache_in_one_line_before_any_request(run_cli, qa_task, tmp_path):
    cache = tmp_path / "cache" / "responses.sqlite"
    cache.mkdir(parents=True)
    out = run_cli(
        "run", f"tasks=[{qa_task}]", "model=openai", "model.base_url=http://127.0.0.1:9/v1",
        "model.api_key_env=null", "model.model=m", f"cache.path={cache}",
        f"run_dir={tmp_path / 'run'}", "progress=false",
    )  # fmt: skip
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert (
        lines[0].startswith("evalkit: error: response cache ") and "cache.enabled=false" in lines[0]
    )


def test_a_write_that_fails_later_warns_once_and_the_run_goes_on(tmp_path, monkeypatch, caplog):
    """Another process holds the file past the busy timeout: the answers are not cached (the
    run's records keep them), one warning, no exception."""
    import sqlite3

    import evalkit.store.cache as cache_module

    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    cache._db.execute("PRAGMA busy_timeout=50")
    monkeypatch.setattr(cache_module, "_BUSY_TIMEOUT_S", 0.05)
    with caplog.at_level("WARNING", logger="evalkit.store.cache"):
        for batch in range(2):
            cache.put_many([(f"k{batch}", Generation(text="hi"))])
    holder.execute("ROLLBACK")
    holder.close()
    warnings = [r for r in caplog.records if "answers not stored" in r.getMessage()]
    assert len(warnings) == 1 and "locked" in warnings[0].getMessage()
    assert len(cache) == 0
    cache.put_many([("k", Generation(text="hi"))])  # free again: written
    assert len(cache) == 1


def test_a_read_only_cache_file_is_refused_when_opened(tmp_path):
    """A read-only file opens in SQLite; the write probe refuses it before any request (as root,
    the check runs in a process without the capability to override file permissions)."""
    import shutil
    import subprocess
    import sys

    path = tmp_path / "r.sqlite"
    ResponseCache(path).close()
    path.chmod(0o444)
    code = (
        "from pathlib import Path\nfrom evalkit.errors import UserError\n"
        "from evalkit.store.cache import ResponseCache\n"
        f"try:\n    ResponseCache(Path({str(path)!r}))\nexcept UserError as exc:\n"
        "    print(exc)\n"
    )
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
                   "--inh-caps=-all", *command]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if out.returncode != 0 and out.stderr.startswith("setpriv:"):
        pytest.skip(f"setpriv cannot drop capabilities here: {out.stderr.strip()}")
    assert "cannot open it for writing (attempt to write a readonly database)" in out.stdout, (
        out.stdout + out.stderr
    )
