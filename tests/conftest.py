"""Shared fixtures: an isolated cache, and small real tasks written to disk for each test."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from subprocess import CompletedProcess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# A library that starts a multiprocessing pool in this process (bert-score's IDF counts do) must
# not fork it: by then torch, tokenizers and coverage hold threads and locks, and a forked child
# can wait forever on a lock copied in its held state (a CI run hung for an hour that way).
multiprocessing.set_start_method("spawn", force=True)
REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the code-quality tools (mypy: ~30 s on one core) when their tests were selected,
    so they run beside the rest of the suite instead of after it."""
    names = [
        item.callspec.params["name"]
        for item in session.items
        if item.nodeid.startswith("tests/test_code_quality.py") and hasattr(item, "callspec")
    ]
    if names:
        from tests.test_code_quality import start_tool_checks

        start_tool_checks(names)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "tests.test_code_quality" in sys.modules:
        sys.modules["tests.test_code_quality"].stop_tool_checks()


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


QA_ROWS = [
    {"qid": f"q{i}", "question": f"What is {i} plus {i}?", "answer": [str(2 * i), f"{2 * i}.0"]}
    for i in range(40)
]


def write_qa_task(root: Path) -> Path:
    """A small QA task with two recorded systems: 'good' (mostly right: "I do not know" on every
    4th question) and 'bad' (always wrong), written to `root` (named toy_qa)."""
    write_jsonl(root / "data.jsonl", QA_ROWS)
    outputs = []
    for i, row in enumerate(QA_ROWS):
        outputs.append(
            {
                "id": row["qid"],
                "system": "good",
                "output": str(2 * i) if i % 4 else "I do not know",
                "latency_s": 0.5,
            }
        )
        outputs.append({"id": row["qid"], "system": "bad", "output": str(2 * i + 1)})
    write_jsonl(root / "outputs.jsonl", outputs)
    (root / "task.yaml").write_text(
        "name: toy_qa\nversion: 1\ndescription: toy arithmetic QA\ndata: data.jsonl\n"
        "fields: {id: qid, input: question, references: answer}\n"
        "prompt: 'Answer briefly. {{ input }}'\n"
        "scorers: {exact_match: {}, f1: {}}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture
def qa_task(tmp_path: Path) -> Path:
    """A small QA task with two recorded systems: 'good' (mostly right) and 'bad'."""
    return write_qa_task(tmp_path / "tasks" / "toy_qa")


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(tmp_path: Path) -> CliRunner:
    """Run `evalkit ARGS` (in `cwd`, default the test's tmp_path) and give its exit status,
    stdout and stderr. In this process by default (`cli_in_process`: the same `main` the console
    script calls, without a new interpreter's ~1 s start-up); `subprocess=True` starts the
    installed command as users do, for what only a separate process shows (signals, start-up
    imports, a real terminal's environment)."""

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 300, subprocess: bool = False
    ) -> CompletedProcess[str]:
        if not subprocess:
            return cli_in_process(*args, cwd=cwd or tmp_path, env={"COLUMNS": "200"})
        return run_cli_subprocess(*args, cwd=cwd or tmp_path, timeout=timeout)

    return run


def run_cli_subprocess(
    *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m evalkit ARGS` in a new process (the path users take)."""
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


def cli_in_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`evalkit ARGS` through `evalkit.app.cli.main` in this process, its exit status, stdout and
    stderr as a subprocess would give them. What a command changes in the process is put back
    afterwards: environment variables (the CLI exports its verbosity and run log), the working
    directory, the root logger's handlers (run.log's file handler is closed), every logger's
    level, warning capture and filters, modules a command blocked from import (`None` in
    sys.modules: evalkit blocks torchao unless a run quantizes) and the SIGINT/SIGTERM handlers.
    No timeout applies in process (pytest-timeout's still does). An exception the CLI does not
    turn into an exit status propagates (a subprocess would print its traceback and exit 1)."""
    import contextlib
    import io
    import logging
    import signal

    from evalkit.app.cli import main
    from evalkit.console.logs import _HANDLER_MARK as _CLI_MARK

    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    saved_levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    blocked = {name for name, module in sys.modules.items() if module is None}
    stdout, stderr = io.StringIO(), io.StringIO()
    status = 0
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        with (
            warnings.catch_warnings(),  # the filters a command sets end with it
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                main(list(args))
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        out, err = stdout.getvalue(), stderr.getvalue()
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
                if isinstance(handler, logging.FileHandler) or getattr(handler, _CLI_MARK, False):
                    handler.close()  # a library's own handler may hold a stream it does not own
        for handler in saved_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved_level)
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(saved_levels.get(name, logging.NOTSET))
        logging.captureWarnings(False)
        for name in [n for n, m in sys.modules.items() if m is None and n not in blocked]:
            del sys.modules[name]  # a command's import block (torchao) ends with it
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
    return CompletedProcess(["evalkit", *args], status, out, err)
