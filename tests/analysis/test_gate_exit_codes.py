"""`evalkit gate` exits 1 only for a regression: every error (not a run directory, a corrupt
run.json, a missing optional dependency, a bug) is one line `evalkit: error: ...` and exit 2."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from evalkit.app.cli import main
from tests.conftest import write_jsonl


def _gate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.raises(SystemExit) as exited,
    ):
        main(["gate", *args])
        raise SystemExit(0)  # a pass returns without exiting
    code = exited.value.code
    return int(code) if isinstance(code, int) else 1, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("gate_codes")
    root = tmp_path / "task"
    rows = [{"id": f"s{i}", "input": f"q{i}", "ref": f"r{i}"} for i in range(6)]
    write_jsonl(root / "data.jsonl", rows)
    (root / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: input, references: ref}\n"
        "scorers: {exact_match: {}, chrf: {}}\n",
        encoding="utf-8",
    )
    outputs = [{"id": f"s{i}", "system": "m", "output": f"r{i % 4}"} for i in range(6)]
    replay = write_jsonl(tmp_path / "replay.jsonl", outputs)
    run = tmp_path / "run"
    args = [
        "run", f"tasks=[{root}]", "model=replay", f"model.path={replay}", f"run_dir={run}",
        "progress=false", "report.enabled=false", f"cache.path={tmp_path / 'cache.sqlite'}",
    ]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(args)
    return run


def test_an_unchanged_run_passes_with_exit_0(run_dir: Path) -> None:
    code, out, _ = _gate(str(run_dir), "--baseline", str(run_dir))
    assert code == 0 and "## evalkit gate: passed" in out


def test_a_directory_that_is_not_a_run_exits_2(run_dir: Path, tmp_path: Path) -> None:
    code, _, err = _gate(str(tmp_path), "--baseline", str(run_dir))
    assert code == 2
    assert err == f"evalkit: error: {tmp_path}: not a run directory (no run.json)\n"
    code, _, err = _gate(str(tmp_path / "missing"), "--baseline", str(tmp_path / "missing"))
    assert code == 2 and err.startswith("evalkit: error: ") and err.count("\n") == 1


def test_a_corrupt_run_json_exits_2(run_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"status": "complete"}', encoding="utf-8")
    code, _, err = _gate(str(tmp_path), "--baseline", str(run_dir))
    assert code == 2 and err.startswith("evalkit: error: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom"), ModuleNotFoundError("No module named 'torch'", name="torch")],
    ids=["bug", "missing-dependency"],
)
def test_an_internal_error_exits_2_not_1(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    import evalkit.analysis.gate

    def broken(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(evalkit.analysis.gate, "run_gate", broken)
    code, out, err = _gate(str(run_dir), "--baseline", str(run_dir))
    assert code == 2 and out == ""
    assert err == f"evalkit: error: gate failed: {type(error).__name__}: {error}\n"


def test_a_missing_option_is_one_line_exit_2(run_dir: Path) -> None:
    code, out, err = _gate(str(run_dir))  # no --baseline
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "evalkit: error: Missing option '--baseline'. (see 'evalkit gate --help')"
    ]
