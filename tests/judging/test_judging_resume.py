"""A killed pairwise `evalkit judge` resumes from the typed lines of `pairwise.jsonl`: the pairs
judged before are not asked again (the judge cache is off, so only the file can spare them), and
the finished judging's file and tables equal an uninterrupted one's. Files written before the
records carried their judging still read, and are judged again rather than trusted."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from evalkit.judges.pairs import PairwiseRecord, read_pairs
from tests.backends.judge_server import JudgeServer
from tests.judging.test_judging import _toy_run_once, judge_args, toy_run  # noqa: F401  (fixtures)

BATCH = 8  # pairs per batch; the toy run has 40 pairs (good vs bad), each asked in both orders


def _reply(messages: list[dict[str, str]]) -> str:
    text = messages[-1]["content"]
    question = int(re.search(r"What is (\d+) plus", text).group(1))
    a = re.search(r"\[Answer A\]\n(.*?)\n\n\[Answer B\]", text, re.DOTALL).group(1)
    if question < 10:
        return '{"verdict": "A"}'  # position bias: inconsistent across the two orders
    return '{"verdict": "%s"}' % ("A" if a == str(2 * question) else "B")


def _config(server: JudgeServer, **extra: object):
    from evalkit.judging.command import JudgeConfig

    spec = {
        "judge": "pairwise_preference",
        "judge_model": server.model("strict-judge"),
        "batch_size": BATCH,
        "progress": False,
        "cache": {"enabled": False},
        **extra,
    }
    return JudgeConfig.from_dict(spec)


class Killed(Exception):
    pass


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_killed_pairwise_judging_asks_only_the_pairs_not_judged(toy_run, monkeypatch):  # noqa: F811
    from evalkit.judging import pairwise as judging_pairwise
    from evalkit.judging.command import judge_run

    whole = toy_run.parent.parent / "whole"
    shutil.copytree(toy_run, whole)
    asked = judging_pairwise.Asking._batch
    batches = {"n": 0}

    def dies_after_two(self, *args, **kwargs):
        if batches["n"] == 2:
            raise Killed
        batches["n"] += 1
        return asked(self, *args, **kwargs)

    with JudgeServer(_reply) as server:
        reference = judge_run(whole, _config(server))
        assert server.calls == 80
        with monkeypatch.context() as patch:
            patch.setattr(judging_pairwise.Asking, "_batch", dies_after_two)
            with pytest.raises(Killed):
                judge_run(toy_run, _config(server))
        kept = toy_run / "pairwise.jsonl"
        assert len(kept.read_text().splitlines()) == 2 * BATCH
        with kept.open("a") as handle:
            handle.write('{"task": "toy_qa", "sample_id": "q1')  # a kill mid-write
        before = server.calls
        resumed = judge_run(toy_run, _config(server))
        assert server.calls - before == 80 - 2 * 2 * BATCH  # both orders of 24 pairs

    assert resumed.pairwise == reference.pairwise
    [mine] = [r for r in resumed.judge_reports if r["kind"] == "pairwise"]
    [theirs] = [r for r in reference.judge_reports if r["kind"] == "pairwise"]
    assert mine["cached_share"] == pytest.approx(2 * BATCH / 40)  # not asked: as if cached
    timing = {"cached_share": 0.0, "latency_p50_s": 0.0}  # measured, so not equal
    assert {**mine, **timing} == {**theirs, **timing}
    lines, expected = _lines(toy_run / "pairwise.jsonl"), _lines(whole / "pairwise.jsonl")
    assert [x["judge_cached"] for x in lines] == [True] * 2 * BATCH + [False] * 24
    timing = {"judge_cached": False, "judge_latency_s": 0.0}
    assert [{**x, **timing} for x in lines] == [{**x, **timing} for x in expected]
    assert [(x["task"], x["sample_id"]) for x in lines][:2] == [("toy_qa", f"q{i}") for i in (0, 1)]


def test_another_judging_or_changed_outputs_are_not_reused(toy_run):  # noqa: F811
    from evalkit.judging.command import judge_run

    path = toy_run / "pairwise.jsonl"
    with JudgeServer(_reply) as server:
        judge_run(toy_run, _config(server))
        assert server.calls == 80
        judge_run(toy_run, _config(server))  # the same judging again: nothing asked
        assert server.calls == 80
        judge_run(toy_run, _config(server, reask=0))  # other asking options: asked again
        assert server.calls == 160
        records = list(read_pairs(path))
        changed = [r.model_copy(update={"outputs": "0" * 16}) for r in records[:5]]
        path.write_text("".join(r.line() for r in changed + records[5:]))
        judge_run(toy_run, _config(server, reask=0))  # 5 pairs of other outputs: asked
        assert server.calls == 170
    with JudgeServer(_reply) as other:  # another endpoint: another judge model signature
        judge_run(toy_run, _config(other, reask=0))
        assert other.calls == 80


def test_pairwise_files_written_before_typed_records_still_read(toy_run):  # noqa: F811
    from evalkit.judging.command import judge_run

    old = {  # a line as evalkit wrote pairwise.jsonl before records carried their judging
        "task": "toy_qa", "sample_id": "q3", "first": "good", "second": "bad",
        "verdict_first_as_a": "A", "verdict_first_as_b": "A", "battles": [0.5],
        "preferences": [None, None], "parse_errors": [], "consistent": False, "outcome": 0.5,
        "lengths": [1, 4], "human_outcome": None, "raw": ['{"verdict": "A"}'] * 2,
        "judge_calls": 2, "judge_cached": False, "judge_latency_s": 0.01,
        "judge_cost_usd": 1e-05, "judge_input_tokens": 120.0, "judge_output_tokens": 4.0,
    }  # fmt: skip
    path = toy_run / "pairwise.jsonl"
    path.write_text(json.dumps(old) + "\n")
    [record] = list(read_pairs(path))
    assert record == PairwiseRecord(**old) and record.judging is None
    assert record.judgment().verdicts == ("A", "A")
    with JudgeServer(_reply) as server:
        judge_run(toy_run, _config(server))
        assert server.calls == 80  # an old line is judged again, not trusted
    lines = _lines(path)
    assert len(lines) == 40 and all(set(old) <= set(x) for x in lines)


def test_evalkit_judge_killed_with_sigkill_resumes(run_cli, toy_run):  # noqa: F811
    """The CLI path: SIGKILL `evalkit judge` while the judge holds its second batch, rerun.

    Asks are told apart by prompt, not counted: requests the killed process had already sent
    may still be read by the server once it stops stalling, before or during the rerun."""
    gate = threading.Event()
    asked: list[str] = []  # each call's prompt, in order

    def stalls_after_one_batch(messages):
        asked.append(messages[-1]["content"])
        if server.calls > 2 * BATCH:
            gate.wait(60)  # the judge is slow: the process is killed meanwhile
        return _reply(messages)

    path = toy_run / "pairwise.jsonl"
    args = ["judge=pairwise_preference", f"batch_size={BATCH}", "cache.enabled=false"]
    with JudgeServer(stalls_after_one_batch) as server:
        judging = subprocess.Popen(
            [sys.executable, "-m", "evalkit", "judge", str(toy_run),
             *judge_args(server, *args)],
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not (path.is_file() and path.read_bytes().count(b"\n") >= BATCH):
            assert judging.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        judging.send_signal(signal.SIGKILL)
        judging.communicate()
        gate.set()
        judged_before = path.read_bytes().count(b"\n")
        first_batch = set(asked[: 2 * BATCH])  # both orders of the pairs judged before the kill
        before = len(asked)
        out = run_cli("judge", str(toy_run), *judge_args(server, *args))
        assert out.returncode == 0, out.stderr
        rerun = set(asked[before:])
        assert not rerun & first_batch  # no pair judged before is asked again
        assert len(rerun) == 80 - 2 * judged_before  # every other pair, in both orders
    assert judged_before == BATCH  # the stalled batch wrote nothing
    assert len(_lines(path)) == 40
