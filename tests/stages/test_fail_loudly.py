"""Fault injection against real `evalkit run` processes and a fault server on 127.0.0.1.

- kill -9 / SIGTERM of a run with a scoring pool: no worker and no resource tracker is left;
  SIGTERM exits 143 and keeps every finished record, and the rerun resumes.
- a server echoing the API key in its 401 body: a canary key appears nowhere on disk or in output.
- down / hung / 401 servers: the run ends early (a bounded number of attempts) with exit 3.
- a second run into a run directory in use is refused; the lock goes with its holder (kill -9).
- exit statuses: 0 all ok, 1 some failed with fail_on_errors=true, 3 every sample failed.
"""

from __future__ import annotations

import html
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import psutil
import pytest
from aiohttp import web

from evalkit.store.run_store import RunStore
from tests.backends.fault_server import FaultServer
from tests.conftest import REPO, write_jsonl

CANARY = "sk-canary-0123456789abcdefFAILLOUDLY"


def make_task(root: Path, n: int, scorers: str = "{exact_match: {}}") -> Path:
    rows = [{"id": f"s{i}", "input": f"prompt {i}", "ref": f"echo: prompt {i}"} for i in range(n)]
    write_jsonl(root / "data.jsonl", rows)
    (root / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: input, references: ref}\n"
        f"generation: {{max_new_tokens: 8, temperature: 0.0}}\nscorers: {scorers}\n",
        encoding="utf-8",
    )
    return root


def evalkit(tmp: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True) -> Any:
    """Run `evalkit ARGS` in a real process (stdout/stderr captured)."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "EVALKIT_CACHE_DIR": str(tmp / "cache"),
        **(env or {}),
    }
    command = [sys.executable, "-m", "evalkit", *args, "progress=false"]
    proc = subprocess.Popen(
        command, cwd=tmp, env=full_env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def openai_args(task: Path, server_url: str, run_dir: Path, *more: str) -> list[str]:
    return [
        "run",
        f"tasks=[{task}]",
        "model=openai",
        f"model.base_url={server_url}",
        "model.model=m",
        "model.api_key_env=EVALKIT_TEST_KEY",
        "+model.backoff_base_s=0.01",
        "+model.backoff_max_s=0.05",
        f"run_dir={run_dir}",
        *more,
    ]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_gone(processes: list[psutil.Process], timeout: float = 30.0) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- orphans and SIGTERM -------------------------------------------------------------------


def start_pooled_run(tmp: Path, server: FaultServer) -> tuple[subprocess.Popen[str], Path]:
    """A run that generates slowly (one request at a time) and scores in 2 spawned workers."""
    task = make_task(tmp / "task", 400, "{chrf: {}, exact_match: {}}")
    run_dir = tmp / "run"
    proc = evalkit(
        tmp,
        *openai_args(
            task,
            server.base_url,
            run_dir,
            "model.max_concurrency=1",
            "model.stream=false",
            "batch_size=4",
            "scoring.workers=2",
            "report.enabled=false",
        ),
        env={"EVALKIT_TEST_KEY": "k-123456"},
        wait=False,
    )
    deadline = time.monotonic() + 240
    while True:  # the two workers and the resource tracker are up, records are being written
        kids = descendants(proc.pid)
        samples = run_dir / "samples.jsonl"
        lines = samples.read_bytes().count(b"\n") if samples.exists() else 0
        if len(kids) >= 3 and lines >= 8:
            return proc, run_dir
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run never started its scoring pool"
        time.sleep(0.2)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_no_process_outlives_a_killed_run(tmp_path: Path, sig: signal.Signals) -> None:
    with FaultServer(delay_s=0.05) as server:
        proc, run_dir = start_pooled_run(tmp_path, server)
        kids = descendants(proc.pid)
        names = [" ".join(k.cmdline())[:80] for k in kids]
        assert any("resource_tracker" in n for n in names), names
        os.kill(proc.pid, sig)
        proc.communicate(timeout=120)
        alive = wait_gone(kids)
        for k in alive:  # clean up before failing
            k.kill()
        assert not alive, [" ".join(k.cmdline())[:80] for k in alive]
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        data = (run_dir / "samples.jsonl").read_bytes()
        assert data.endswith(b"\n")  # the record being written was finished
        assert len(list(RunStore(run_dir).records())) == data.count(b"\n")
    else:
        assert proc.returncode == -signal.SIGKILL


def run_json(run_dir: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    return record


@pytest.mark.parametrize(
    ("sig", "status", "line"),
    [
        (signal.SIGTERM, 143, "evalkit: terminated (SIGTERM); "),
        (signal.SIGINT, 130, "evalkit: interrupted (SIGINT); "),
    ],
    ids=["sigterm", "sigint"],
)
def test_a_signal_keeps_records_and_the_rerun_resumes(
    tmp_path: Path, sig: signal.Signals, status: int, line: str
) -> None:
    with FaultServer(delay_s=0.02) as server:
        task = make_task(tmp_path / "task", 300)
        run_dir = tmp_path / "run"
        args = openai_args(
            task, server.base_url, run_dir, "batch_size=5", "model.max_concurrency=2"
        )
        env = {"EVALKIT_TEST_KEY": "k-123456"}
        proc = evalkit(tmp_path, *args, env=env, wait=False)
        samples = run_dir / "samples.jsonl"
        while not samples.exists() or samples.read_bytes().count(b"\n") < 20:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == status, err
        kept = samples.read_text(encoding="utf-8").splitlines()
        # one stderr line (no empty line before it), counting the samples
        assert err.splitlines() == [
            f"{line}{len(kept)} of 300 samples done, {300 - len(kept)} not tried; "
            "finished samples are kept"
        ], err
        stopped = run_json(run_dir)
        assert stopped["status"] == "interrupted" and stopped["finished_at"] is not None
        assert stopped["stop_reason"].startswith(("SIGTERM; ", "SIGINT (Ctrl-C); "))
        assert f"{len(kept)} of 300 samples done" in stopped["stop_reason"]
        attempts_before = server.total_attempts
        code, _, err = evalkit(tmp_path, *args, env=env)
        assert code == 0, err
        final = samples.read_text(encoding="utf-8").splitlines()
        assert final[: len(kept)] == kept  # nothing finished was lost or rewritten
        assert len({line.split('"sample_id":')[1][:8] for line in final}) == 300 == len(final)
        # only the samples not finished before SIGTERM were requested again
        assert server.total_attempts - attempts_before <= 300 - len(kept) + 10
    assert run_json(run_dir)["status"] == "complete" and run_json(run_dir)["stop_reason"] is None


# --- secrets ------------------------------------------------------------------------------


class EchoKeyServer(FaultServer):
    """Answers every request 401 with the key it received in the body (as some gateways do)."""

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        key = request.headers.get("Authorization", "")[len("Bearer ") :]
        return web.json_response(
            {"error": {"message": f"Incorrect API key provided: {key}", "auth": f"Bearer {key}"}},
            status=401,
        )


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize(
    ("key", "needles"),
    [(CANARY, ["canary", "0123456789abcdef"]), ("Qz7x", [])],  # a 4-character key: still masked
    ids=["canary", "4-chars"],
)
def test_an_echoed_key_is_never_stored_or_printed(
    tmp_path: Path, key: str, needles: list[str]
) -> None:
    task = make_task(tmp_path / "task", 6)
    with EchoKeyServer() as server:
        code, out, err = evalkit(
            tmp_path,
            *openai_args(task, server.base_url, tmp_path / "run", "retry_failed=true"),
            env={"EVALKIT_TEST_KEY": key},
        )
        assert server.auth_headers == {f"Bearer {key}"}  # the key was sent, and echoed
    assert code == 3, err
    assert "[REDACTED]" in err
    for needle in [key, *needles]:
        assert needle.lower() not in (out + err).lower()
        # nowhere on disk: run dir (samples, run.json, run.log, .hydra), cache, the task folder
        assert files_containing(tmp_path, needle.encode()) == []


SLASH_PLUS_KEY = "gw/Zx+9Qe/0123456789+abcd=="  # base64-like: '/' and '+' change when encoded


class EchoEncodedKeyServer(FaultServer):
    """Answers 401 with the key it received URL-encoded, in a URL (quote_plus, as a query
    string carries it) and in the message (quote, '/' encoded too)."""

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        key = request.headers.get("Authorization", "")[len("Bearer ") :]
        message = f"key {quote(key, safe='')} rejected at https://gw/v1?key={quote_plus(key)}"
        return web.json_response({"error": {"message": message}}, status=401)


def _assert_echoed_key_nowhere(
    tmp_path: Path, server_class: type[FaultServer], key: str, needles: list[str]
) -> None:
    """Run 3 samples against a server that rejects `key` and echoes it: each needle (the key's
    forms, or a part of it) must be neither printed nor in any file of the run."""
    task = make_task(tmp_path / "task", 3)
    with server_class() as server:
        code, out, err = evalkit(
            tmp_path,
            *openai_args(task, server.base_url, tmp_path / "run"),
            env={"EVALKIT_TEST_KEY": key},
        )
    assert code == 3, err
    assert "[REDACTED]" in err
    for needle in needles:
        assert needle not in out + err, needle
        assert files_containing(tmp_path, needle.encode()) == [], needle


def test_a_key_echoed_url_encoded_is_never_stored_or_printed(tmp_path: Path) -> None:
    forms = {quote(SLASH_PLUS_KEY), quote_plus(SLASH_PLUS_KEY)}  # '/' kept, '/' encoded
    assert len(forms) == 2
    needles = [SLASH_PLUS_KEY, *forms, "0123456789"]
    _assert_echoed_key_nowhere(tmp_path, EchoEncodedKeyServer, SLASH_PLUS_KEY, needles)


def test_url_encoded_forms_of_a_key_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.store.redact import MASK, redact, redact_secrets, register_secret

    register_secret("Kq/7+zz/9a")  # a backend's key
    monkeypatch.setenv("GATEWAY_TOKEN", "tok+en/0123456789")  # found by its variable's name
    for key in ("Kq/7+zz/9a", "tok+en/0123456789"):
        for form in (quote(key), quote(key, safe=""), quote_plus(key)):
            lower = form.replace("%2F", "%2f").replace("%2B", "%2b")  # hex in either case
            text = f"url ?k={form} and ?k={lower}"
            assert redact(text) == redact_secrets(text) == f"url ?k={MASK} and ?k={MASK}"


def test_redaction_of_error_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.store.redact import MASK, redact, redact_secrets, register_env

    monkeypatch.setenv("MY_GATEWAY_CRED", "opaque-credential-42")
    register_env("MY_GATEWAY_CRED")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijkl")
    text = (
        "401 opaque-credential-42; Authorization: Bearer abc.def-ghi_jkl; key sk-proj-AAAA1111bbbb"
        "; hf hf_abcdefghijkl"
    )
    clean = redact(text)
    for secret in (
        "opaque-credential-42",
        "abc.def-ghi_jkl",
        "sk-proj-AAAA1111bbbb",
        "hf_abcdefghijkl",
    ):
        assert secret not in clean
    assert clean.count(MASK) == 4
    assert redact_secrets("the sk- prefix and Bearer tokens are fine in outputs") == (
        "the sk- prefix and Bearer tokens are fine in outputs"
    )


# --- runs that cannot succeed -------------------------------------------------------------


def one_error_line(err: str) -> str:
    lines = err.splitlines()  # no empty line either
    assert "Traceback" not in err and "Unclosed client session" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("evalkit: error: ")
    return lines[0]


def test_401_stops_the_run_at_once(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 200)
    with FaultServer() as server:
        server.script = {f"prompt {i}": ["401"] for i in range(200)}
        code, _, err = evalkit(
            tmp_path,
            *openai_args(task, server.base_url, tmp_path / "run", "model.max_concurrency=4"),
            env={"EVALKIT_TEST_KEY": "k-123456"},
        )
        attempts = server.total_attempts
    assert code == 3
    line = one_error_line(err)
    assert "HTTP 401" in line and "not retryable" in line
    assert attempts <= 4 + 4  # what was in flight when the first 401 came back, nothing more
    assert "; 0 of 200 samples done, 200 not tried; rerun with the same run_dir" in line
    stopped = run_json(tmp_path / "run")
    assert stopped["status"] == "aborted" and stopped["finished_at"] is not None
    assert stopped["stop_reason"] == line.removeprefix("evalkit: error: ")


def test_a_down_server_ends_early_with_status_3(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 200)
    code, _, err = evalkit(
        tmp_path,
        *openai_args(task, f"http://127.0.0.1:{free_port()}/v1", tmp_path / "run"),
        env={"EVALKIT_TEST_KEY": "k-123456"},
    )
    assert code == 3
    line = one_error_line(err)
    assert "10 requests in a row failed" in line and "Cannot connect" in line
    assert line.endswith(
        "; 0 of 200 samples done, 200 not tried; rerun with the same run_dir to resume"
    )
    assert RunStore(tmp_path / "run").latest_records() == []  # no sample recorded as failed
    assert run_json(tmp_path / "run")["status"] == "aborted"


def test_a_hung_server_ends_after_a_bounded_number_of_attempts(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 60)
    with FaultServer() as server:
        server.script = {f"prompt {i}": ["hang"] for i in range(60)}
        code, _, err = evalkit(
            tmp_path,
            *openai_args(
                task,
                server.base_url,
                tmp_path / "run",
                "model.timeout_s=0.3",
                "model.max_concurrency=4",
                "max_consecutive_failures=5",
            ),
            env={"EVALKIT_TEST_KEY": "k-123456"},
        )
        attempts = server.total_attempts
    assert code == 3
    assert "5 requests in a row failed" in one_error_line(err) and "timed out" in err
    assert attempts <= 5 + 4  # not 60 samples x 6 tries


def test_the_different_run_refusal_is_one_line(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 2)
    env = {"EVALKIT_TEST_KEY": "k-123456"}
    run_dir = tmp_path / "run"
    first = openai_args(task, f"http://127.0.0.1:{free_port()}/v1", run_dir, "model.max_tries=1")
    assert evalkit(tmp_path, *first, env=env)[0] == 3
    second = openai_args(task, f"http://127.0.0.1:{free_port()}/v1", run_dir, "model.max_tries=1")
    code, _, err = evalkit(tmp_path, *second, env=env)
    assert code == 2
    assert "holds a different run" in one_error_line(err)


def replay_run(tmp: Path, outputs: list[dict[str, object]], *more: str) -> tuple[int, str, str]:
    task = make_task(tmp / "task", 4)
    replay = write_jsonl(tmp / "replay.jsonl", outputs)
    return evalkit(  # type: ignore[no-any-return]
        tmp,
        "run",
        f"tasks=[{task}]",
        "model=replay",
        f"model.path={replay}",
        f"run_dir={tmp / 'run'}",
        "report.enabled=false",
        *more,
    )


ALL_OUTPUTS = [{"id": f"s{i}", "system": "s", "output": f"echo: prompt {i}"} for i in range(4)]


def test_exit_status_when_some_samples_failed(tmp_path: Path) -> None:
    some = ALL_OUTPUTS[:3]  # s3 has no recorded output: its generation fails
    code, _, err = replay_run(tmp_path / "a", some)
    assert code == 0 and "1 samples failed" in err
    code, _, err = replay_run(tmp_path / "b", some, "fail_on_errors=true")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("evalkit: error: 1 of 4 samples failed")


def test_every_sample_failed_is_one_line_and_status_3(tmp_path: Path) -> None:
    nothing = [{"id": "other", "system": "s", "output": "x"}]
    code, _, err = replay_run(tmp_path, nothing)
    assert code == 3
    assert "every sample failed (4 of 4 samples failed" in one_error_line(err)
    assert len(RunStore(tmp_path / "run").latest_records()) == 4  # kept for retry_failed=true


# --- the run directory lock ---------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_second_run_into_a_run_dir_in_use_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "a" / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from evalkit.store.run_store import RunStore\n"
            f"s = RunStore(Path({str(run_dir)!r})); s.acquire_lock(); print('locked', flush=True)\n"
            "time.sleep(600)",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        (run_dir / ".hydra").mkdir()  # what the holder's Hydra wrote
        (run_dir / ".hydra" / "overrides.yaml").write_text("- the holder's\n", encoding="utf-8")
        (run_dir / "run.log").write_text("the holder's log\n", encoding="utf-8")
        before = snapshot(run_dir)
        code, _, err = replay_run(tmp_path / "a", ALL_OUTPUTS)
        assert code == 2
        assert f"in use by another evalkit run (pid {holder.pid})" in one_error_line(err)
        assert snapshot(run_dir) == before  # the refused run wrote nothing into the run dir
        # refused before any task or model is loaded: a missing task is not even looked at
        code, _, err = evalkit(
            tmp_path, "run", "tasks=[no/such/task]", "model=replay", "model.path=none.jsonl",
            f"run_dir={run_dir}",
        )  # fmt: skip
        assert code == 2 and "in use by another evalkit run" in one_error_line(err)
        assert snapshot(run_dir) == before
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with its holder
        holder.wait()
    code, _, err = replay_run(tmp_path / "a", ALL_OUTPUTS)
    assert code == 0, err


def test_an_aborted_run_keeps_finished_samples_and_resumes(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 40)
    env = {"EVALKIT_TEST_KEY": "k-123456"}
    with FaultServer() as server:
        server.script = {f"prompt {i}": ["503"] for i in range(20, 40)}  # the server goes down
        args = openai_args(
            task, server.base_url, tmp_path / "run", "batch_size=10", "model.max_concurrency=2"
        )
        code, _, err = evalkit(tmp_path, *args, env=env)
        line = one_error_line(err)
        assert code == 3 and "10 requests in a row failed" in line
        assert "; 20 of 40 samples done, 20 not tried;" in line
        assert run_json(tmp_path / "run")["status"] == "aborted"
        kept = RunStore(tmp_path / "run").latest_records()
        assert len(kept) == 20 and not any(r.generation.error for r in kept)
        server.script = {}  # back up
        before = dict(server.attempts)
        code, _, err = evalkit(tmp_path, *args, env=env)
        assert code == 0, err
        records = RunStore(tmp_path / "run").latest_records()
        assert len(records) == 40 and not any(r.generation.error for r in records)
        # finished samples were neither requested nor written again
        assert all(server.attempts[f"prompt {i}"] == before[f"prompt {i}"] for i in range(20))
        assert len((tmp_path / "run" / "samples.jsonl").read_text().splitlines()) == 40
        resumed = run_json(tmp_path / "run")
        assert resumed["status"] == "complete" and resumed["stop_reason"] is None


def test_a_plain_word_in_a_key_named_variable_does_not_rewrite_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evalkit.store.redact import redact_secrets

    monkeypatch.setenv("KEYBOARD_LAYOUT", "german")
    monkeypatch.setenv("SSH_KEY_COMMENT", "laptop of the team")
    text = "the german laptop of the team won"
    assert redact_secrets(text) == text


def test_a_secret_set_or_changed_after_a_redaction_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment scan is cached between calls; a change to the environment is seen."""
    from evalkit.store.redact import MASK, redact_secrets

    text = "echo: gw-9f8e7d6c5b4a and gw-0a1b2c3d4e5f"
    assert redact_secrets(text) == text  # scanned and cached without either value
    monkeypatch.setenv("GATEWAY_TOKEN", "gw-9f8e7d6c5b4a")
    assert redact_secrets(text) == f"echo: {MASK} and gw-0a1b2c3d4e5f"
    monkeypatch.setenv("GATEWAY_TOKEN", "gw-0a1b2c3d4e5f")  # rotated: the new value, not the old
    assert redact_secrets(text) == f"echo: gw-9f8e7d6c5b4a and {MASK}"
    monkeypatch.delenv("GATEWAY_TOKEN")
    assert redact_secrets(text) == text


def test_a_short_key_is_masked_in_texts_not_in_stored_structure() -> None:
    from evalkit.store.redact import MASK, redact, redact_secrets, register_secret

    register_secret("Wq4z")  # a backend's 4-character key
    register_secret("Wq4")  # under 4 characters: never masked (it would mask ordinary text)
    assert redact("401: bad key Wq4z (Bearer Wq4z)") == f"401: bad key {MASK} (Bearer {MASK})"
    assert redact(f"Wq4 {MASK}") == f"Wq4 {MASK}"  # a mask already written stays whole
    record = '{"Wq4z": 1, "output": "Wq4z"}'  # whole files: 4-5 characters could be structure
    assert redact_secrets(record) == record


ESCAPED_KEY = 'gw/q"te\\back<&>0123456789abcdef'  # '/', '"', '\\', '<', '&', '>' change escaped


def _escaped_forms(key: str) -> dict[str, str]:
    text = json.dumps(key)[1:-1]
    return {"json": text, "json-slash": text.replace("/", "\\/"), "html": html.escape(key)}


class EchoEscapedKeyServer(FaultServer):
    """Answers 401 with a text body that echoes the key it received JSON-escaped, with `\\/`,
    HTML-escaped, and last as sent, straddling the 200th character where the body is cut."""

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        key = request.headers.get("Authorization", "")[len("Bearer ") :]
        text = " ".join(f"{name}: {form}" for name, form in _escaped_forms(key).items()) + " "
        text = text.ljust(195, ".") + f"{key} was rejected"
        return web.Response(status=401, text=text)


def test_a_key_echoed_escaped_or_cut_is_never_stored_or_printed(tmp_path: Path) -> None:
    needles = [ESCAPED_KEY, *_escaped_forms(ESCAPED_KEY).values(), ESCAPED_KEY[:5]]
    _assert_echoed_key_nowhere(tmp_path, EchoEscapedKeyServer, ESCAPED_KEY, needles)


def test_json_and_html_escaped_forms_of_a_key_are_masked() -> None:
    from evalkit.store.redact import MASK, redact, redact_secrets, register_secret

    key = 'cl\u00e9-"q\\b/<&>-9a'  # non-ASCII, a quote, a backslash, a slash, HTML specials
    register_secret(key)
    text = json.dumps(key)[1:-1]
    forms = [
        text,  # ASCII JSON: \u00e9
        text.replace("\\u00e9", "\\u00E9"),
        text.replace("/", "\\/"),
        json.dumps(key, ensure_ascii=False)[1:-1],
        html.escape(key),
        html.escape(key, quote=False),
    ]
    for form in forms:
        assert (
            redact(f"bad key {form}!") == redact_secrets(f"bad key {form}!") == f"bad key {MASK}!"
        )


def test_a_key_with_non_ascii_characters_is_refused_in_one_line(tmp_path: Path) -> None:
    """A header carries ASCII: a non-ASCII key went out as UTF-8, a server decoding it as
    Latin-1 echoed a form no redaction knew ('â\x82¬' for '€'), so it is refused, unprinted."""
    task = make_task(tmp_path / "task", 2)
    key = "Zq7Wx-ab€éfGh-0123456789"
    code, out, err = evalkit(
        tmp_path,
        *openai_args(task, "http://127.0.0.1:9/v1", tmp_path / "run"),
        env={"EVALKIT_TEST_KEY": key},
    )
    assert code == 2, err
    assert "holds non-ASCII characters" in err and len(err.strip().splitlines()) == 1
    assert "0123456789" not in out + err


def test_numeric_character_references_of_a_key_are_masked_in_any_mix() -> None:
    """An HTML page may write any character of a key as a decimal or hex reference, each its own
    way (Go's html/template: `&#34;`; others `&#x2F;`); text that only looks similar stays."""
    from evalkit.store.redact import MASK, redact, redact_secrets, register_secret

    key = 'Zq7Wx/ab"Cd€éfGh/ijKLmnop'
    register_secret(key)
    echoed = [
        "Zq7Wx&#x2F;ab&#34;Cd€éfGh&#x2f;ijKLmnop",
        "Zq7Wx&#47;ab&#X22;Cd&#8364;&#233;fGh/ijKLmnop",
        'Zq7Wx&#0047;ab"Cd&#x20AC;éfGh&#x2F;ijKLmnop',
    ]
    for form in echoed:
        text = f"<p>{form}</p> &#34;quoted&#34;"
        assert redact(text) == redact_secrets(text) == f"<p>{MASK}</p> &#34;quoted&#34;"
    other = "Zq7Wx&#47;ab&#34;Cd€éfGh&#47;ijKLmnoq"  # one letter differs: not the key
    assert redact_secrets(other) == other
