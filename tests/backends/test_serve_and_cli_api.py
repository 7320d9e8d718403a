"""`evalkit serve` over a tiny local model, driven by the `openai` backend; secrets; dry runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from evalkit.testing.tiny_models import build_causal
from tests.backends.fault_server import FaultServer
from tests.backends.test_openai import make_task

CANARY = "sk-canary-7f3d9a0e1b2c4d5e"


def openai_run(
    task: Path, *overrides: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`evalkit run` of `task` with the openai backend, as a user runs it."""
    command = [
        sys.executable,
        "-m",
        "evalkit",
        "run",
        f"tasks=[{task}]",
        "model=openai",
        *overrides,
    ]
    return subprocess.run(
        command,
        env=env or {**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_canary_absent(paths: list[Path], out: subprocess.CompletedProcess[str]) -> None:
    for path in paths:
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in out.stdout + out.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> Path:
    return build_causal(tmp_path_factory.mktemp("models") / "llama")


@pytest.fixture(scope="module")
def served(tiny_llama):
    """One `evalkit serve` of the tiny model for the module's tests (it keeps no state between
    requests); stopped however the module ends."""
    port = free_port()
    env = {**os.environ, "SERVE_KEY": CANARY}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalkit",
            "serve",
            "model=hf",
            f"model.path={tiny_llama}",
            f"port={port}",
            "api_key_env=SERVE_KEY",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:  # the server stops however the fixture or the test ends
        deadline = time.monotonic() + 120
        while True:
            try:
                request = urllib.request.Request(
                    f"{url}/models", headers={"Authorization": f"Bearer {CANARY}"}
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    # the served id is the display name: the model path's last part
                    assert json.load(response)["data"][0]["id"] == "llama"
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def post(url: str, body: dict, key: str | None = CANARY) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_serve_requires_the_bearer_key(served):
    status, body = post(
        f"{served}/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, key="wrong"
    )
    assert status == 401 and b"bearer" in body


def test_serve_streams_and_completes(served):
    body = {"messages": [{"role": "user", "content": "the cat"}], "max_tokens": 5}
    status, plain = post(f"{served}/chat/completions", body)
    assert status == 200
    answer = json.loads(plain)
    text = answer["choices"][0]["message"]["content"]
    assert answer["usage"]["completion_tokens"] >= 1
    status, streamed = post(f"{served}/chat/completions", {**body, "stream": True})
    events = [line[6:] for line in streamed.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [
        json.loads(e)["choices"][0]["delta"].get("content", "")
        for e in events[:-1]
        if json.loads(e)["choices"]
    ]
    assert "".join(pieces) == text
    status, completion = post(f"{served}/completions", {"prompt": "the cat", "max_tokens": 5})
    assert status == 200 and "text" in json.loads(completion)["choices"][0]


def test_evalkit_run_against_served_model_matches_direct_hf(served, tiny_llama, tmp_path):
    task = make_task(tmp_path / "task", 12)
    common = [sys.executable, "-m", "evalkit", "run", f"tasks=[{task}]", "progress=false"]
    via_api = subprocess.run(
        [
            *common,
            "model=openai",
            f"model.base_url={served}",
            "model.model=llama",
            "model.api_key_env=SERVE_KEY",
            f"run_dir={tmp_path / 'api'}",
        ],
        env={**os.environ, "SERVE_KEY": CANARY},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert via_api.returncode == 0, via_api.stderr
    direct = subprocess.run(
        [*common, "model=hf", f"model.path={tiny_llama}", f"run_dir={tmp_path / 'direct'}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert direct.returncode == 0, direct.stderr

    def outputs(run: str) -> dict[str, str]:
        lines = (tmp_path / run / "samples.jsonl").read_text().splitlines()
        return {json.loads(x)["sample_id"]: json.loads(x)["generation"]["text"] for x in lines}

    assert outputs("api") == outputs("direct") and len(outputs("api")) == 12
    # the key was used, and appears in no file the run wrote, nor in its output
    cache_files = list(Path(os.environ["EVALKIT_CACHE_DIR"]).rglob("*"))
    assert_canary_absent([*(tmp_path / "api").rglob("*"), *cache_files], via_api)


def test_canary_key_reaches_the_server_only(tmp_path):
    task = make_task(tmp_path / "task", 5)
    with FaultServer() as server:
        out = openai_run(
            task,
            f"model.base_url={server.base_url}",
            "model.model=gpt-4o-mini",
            "model.api_key_env=CANARY_KEY",
            f"run_dir={tmp_path / 'run'}",
            env={**os.environ, "CANARY_KEY": CANARY},
        )
        assert out.returncode == 0, out.stderr
        assert server.auth_headers == {f"Bearer {CANARY}"}
    written = [*(tmp_path / "run").rglob("*"), *Path(os.environ["EVALKIT_CACHE_DIR"]).rglob("*")]
    assert any(p.name == "run.json" for p in written)
    assert_canary_absent(written, out)


def test_missing_key_variable_is_a_user_error(tmp_path):
    task = make_task(tmp_path / "task", 2)
    env = {k: v for k, v in os.environ.items() if k != "SURELY_NOT_SET_KEY"}
    out = openai_run(
        task, "model.api_key_env=SURELY_NOT_SET_KEY", f"run_dir={tmp_path / 'run'}", env=env
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "evalkit: error: model 'gpt-4o-mini': environment variable SURELY_NOT_SET_KEY is not set"
    )


def test_dry_run_estimates_without_calling(tmp_path):
    task = make_task(tmp_path / "task", 30)
    with FaultServer() as server:
        out = openai_run(
            task,
            f"model.base_url={server.base_url}",
            "model.model=gpt-4o",
            "model.api_key_env=null",
            "dry_run=true",
            f"run_dir={tmp_path / 'run'}",
        )
        assert out.returncode == 0, out.stderr
        assert server.total_attempts == 0
    assert "dry run" in out.stdout and "api_task" in out.stdout
    row = next(line for line in out.stdout.splitlines() if "api_task" in line)
    assert "30" in row and "7,680" in row  # 30 requests x 256 max new tokens (the default)
    assert not (tmp_path / "run" / "samples.jsonl").exists()


def test_a_served_tiny_model_as_judge_exercises_the_whole_path(served, qa_task, tmp_path):
    """`evalkit serve` -> openai backend -> judge scorer -> run records and reliability panel.
    A random-weight model writes no readable verdict: every judgment must end as a counted
    parse_error with its raw reply kept, after one re-ask, and `evalkit judge` exits 3 (every
    judgment failed) after storing them."""
    run_dir = tmp_path / "run"
    cli = [sys.executable, "-m", "evalkit"]
    env = {**os.environ, "SERVE_KEY": CANARY}
    out = subprocess.run(
        [*cli, "run", f"tasks=[{qa_task}]", f"run_dir={run_dir}", "limit=4", "progress=false"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    judge = [
        "judge", str(run_dir), "judge_model=openai", f"judge_model.base_url={served}",
        "judge_model.api_key_env=SERVE_KEY", "judge_model.model=llama", "max_new_tokens=8",
        "progress=false",
    ]  # fmt: skip
    out = subprocess.run([*cli, *judge], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 3, out.stderr
    assert "every judgment failed (8 of 8; first error: " in out.stderr
    run = json.loads((run_dir / "run.json").read_text())
    [report] = [r for r in run["judge_reports"] if r["kind"] == "pointwise"]
    assert report["judgments"] == 8 and report["parse_failure_rate"] == 1.0
    scores = [
        s
        for line in (run_dir / "samples.jsonl").read_text().splitlines()[-8:]
        for s in json.loads(line)["scores"]
        if s["name"] == "overall_quality"
    ]
    assert len(scores) == 8 and all(s["status"] == "parse_error" for s in scores)
    assert all(len(s["details"]["raw"]) == 2 for s in scores)  # asked, then re-asked once
    assert_canary_absent([run_dir / "run.json", run_dir / "samples.jsonl"], out)
