"""scoring.engine=dask: the CPU-heavy scorers on a local Dask cluster (2 worker processes) give
the same per-sample scores and aggregates as scoring in this process."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import CliRunner, write_jsonl

pytest.importorskip("distributed")

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "while",
    "dogs",
    "ran",
    "past",
    "quickly",
    "under",
    "grey",
    "skies",
    "near",
    "old",
    "town",
]


def mt_task(root: Path, n: int = 60) -> Path:
    """Outputs that overlap their references partly: BLEU, chrF and ROUGE all vary."""
    rng = random.Random(7)
    rows, outputs = [], []
    for i in range(n):
        ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))
        rows.append({"id": f"s{i}", "source": f"source {i}", "target": [ref, ref.upper()]})
        for system in ("a", "b"):
            words = ref.split()
            words = [w if rng.random() < 0.7 else rng.choice(WORDS) for w in words]
            out = ref if (i % 5 == 0 and system == "a") else " ".join(words)
            outputs.append({"id": f"s{i}", "system": system, "output": out})
    write_jsonl(root / "data.jsonl", rows)
    write_jsonl(root / "outputs.jsonl", outputs)
    (root / "task.yaml").write_text(
        "name: toy_mt\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: source, references: target}\n"
        "scorers: {bleu: {}, chrf: {}, rouge: {}, exact_match: {}}\noutputs: outputs.jsonl\n"
    )
    return root


def scores_of(run_dir: Path) -> dict[tuple[str, str], list[dict[str, object]]]:
    """Each record's scores, whole (values, BLEU/chrF corpus statistics, status), in order."""
    out = {}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        out[record["model"], record["sample_id"]] = record["scores"]
    return out


def aggregates_of(run_dir: Path) -> list[dict[str, object]]:
    run = json.loads((run_dir / "run.json").read_text())
    aggregates: list[dict[str, object]] = run["aggregates"]
    return aggregates


def test_dask_engine_scores_like_the_local_engine(tmp_path: Path, run_cli: CliRunner) -> None:
    task = mt_task(tmp_path / "toy_mt")
    common = [f"tasks=[{task}]", "model=replay", "batch_size=8", "progress=false",
              "report.enabled=false"]  # fmt: skip
    local = run_cli("run", *common, "scoring.workers=0", f"run_dir={tmp_path / 'local'}")
    assert local.returncode == 0, local.stderr[-2000:]
    dask = run_cli("run", *common, "scoring.engine=dask", "scoring.workers=2",
                   f"run_dir={tmp_path / 'dask'}")  # fmt: skip
    assert dask.returncode == 0, dask.stderr[-2000:]
    assert "scoring on Dask: 2 worker threads" in (tmp_path / "dask" / "run.log").read_text()
    expected = scores_of(tmp_path / "local")
    assert len(expected) == 120
    names = {s["name"] for scores in expected.values() for s in scores}
    assert names >= {"bleu", "chrf", "rougeL", "exact_match"}
    assert scores_of(tmp_path / "dask") == expected
    assert aggregates_of(tmp_path / "dask") == aggregates_of(tmp_path / "local")


def test_an_unreachable_scheduler_is_one_line_exit_2(
    tmp_path: Path, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    task = mt_task(tmp_path / "toy_mt", n=4)
    monkeypatch.setenv("EVALKIT_DASK_CONNECT_TIMEOUT", "2s")
    out = run_cli("run", f"tasks=[{task}]", "model=replay", "progress=false",
                  "report.enabled=false", "scoring.engine=dask",
                  f"scoring.scheduler_address=tcp://127.0.0.1:{port}",
                  f"run_dir={tmp_path / 'run'}")  # fmt: skip
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalkit: error: scoring.scheduler_address:")
    assert f"tcp://127.0.0.1:{port}" in lines[0]


def test_an_unreadable_connect_timeout_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.errors import UserError
    from evalkit.stages.scoring_dask import connect_timeout

    monkeypatch.setenv("EVALKIT_DASK_CONNECT_TIMEOUT", "banana")
    with pytest.raises(UserError, match="EVALKIT_DASK_CONNECT_TIMEOUT='banana': not a duration"):
        connect_timeout()
    monkeypatch.setenv("EVALKIT_DASK_CONNECT_TIMEOUT", "2m")
    assert connect_timeout() == "2m"
