"""Names are the user's text: rich must print `served [v1]` as written, never read `[v1]` as a
style tag (rich.markup.render('served [v1]').plain == 'served ')."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from rich.markup import render

from evalkit.app.cli import main
from tests.app.test_bad_input import GOOD_ROWS, good_task
from tests.conftest import write_jsonl

NAMES = ("served [v1]", "served [v2]")


def stdout_of(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(args)
        except SystemExit as exc:
            assert exc.code in (0, None), out.getvalue()
    return out.getvalue()


def test_the_names_would_be_mangled_as_markup() -> None:
    assert [render(n).plain for n in NAMES] == ["served ", "served "]


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "250")  # wide enough that no table wraps a name
    task = good_task(tmp_path / "task")
    rows = [
        {"id": row["id"], "system": name, "output": out}
        for row in GOOD_ROWS
        for name, out in zip(NAMES, ("x", "z"), strict=True)
    ]
    replay = write_jsonl(tmp_path / "replay.jsonl", rows)
    run = tmp_path / "run"
    out = stdout_of(
        [
            "run",
            f"tasks=[{task}]",
            "model=replay",
            f"model.path={replay}",
            f"run_dir={run}",
            "progress=false",
            "report.enabled=false",
        ]
    )
    assert all(name in out for name in NAMES), out  # the run's leaderboard table
    return run


@pytest.mark.parametrize(
    "command",
    [["results", "RUN"], ["compare", "RUN", "--resamples", "200"], ["compare", "RUN", "--json"]],
)
def test_names_print_intact(run_dir: Path, command: list[str]) -> None:
    out = stdout_of([str(run_dir) if a == "RUN" else a for a in command])
    assert all(name in out for name in NAMES), out


def test_leaderboard_files_keep_the_names(run_dir: Path, tmp_path: Path) -> None:
    stdout_of(["leaderboard", str(run_dir), "-o", str(tmp_path / "board")])
    for name in ("leaderboard.csv", "leaderboard.json"):
        text = (tmp_path / "board" / name).read_text(encoding="utf-8")
        assert all(n in text for n in NAMES), name
