"""The studio in a real browser (Debian Chromium through Playwright) against a real server
process: two annotators rate at the same time, the server is killed with SIGKILL halfway and
restarted, and no rating is lost or duplicated; nothing planted in outputs, prompts or model
names runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report.conftest import keep_artifact


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, run_dir: Path, port: int, extra: list[str] | None = None) -> None:
        self.run_dir, self.port, self.extra = run_dir, port, extra or []
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evalkit", "studio", str(self.run_dir),
             "--port", str(self.port), "--rubric", "summ_coherence", *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "EVALKIT_STUDIO_TOKEN": ""},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.stdout.read()  # type: ignore[union-attr]
                time.sleep(0.1)
        raise AssertionError("the studio did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def server(studio_run: Path, tmp_path: Path) -> Iterator[Server]:
    run_dir = tmp_path / "run"
    shutil.copytree(studio_run, run_dir)
    srv = Server(run_dir, _free_port())
    srv.start()
    yield srv
    srv.stop()


class Annotator:
    """One browser context (its own cookies) with every dialog and page error recorded."""

    def __init__(self, instance: Any, server: Server, name: str) -> None:
        self.context = instance.new_context(viewport={"width": 1300, "height": 900})
        self.page = self.context.new_page()
        self.name, self.server, self.problems = name, server, []
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on(
            "dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss())
        )
        self.given: dict[str, str] = {}  # item id -> key pressed

    def start(self) -> None:
        self.page.goto(f"http://127.0.0.1:{self.server.port}/")
        self.page.fill("#annotator", self.name)
        with self.page.expect_navigation():
            self.page.click("#start button[type=submit]")

    def resume(self) -> None:
        self.page.goto(
            f"http://127.0.0.1:{self.server.port}/review?annotator={self.name}&kind=point"
        )

    def item(self) -> str:
        return str(self.page.get_attribute("body", "data-item-id"))

    def rate(self, key: str) -> None:
        item = self.item()
        assert item, "no item shown"
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.given[item] = key
        assert self.item() != item

    def pwned(self) -> Any:
        return self.page.evaluate("document.body.dataset.pwned")


def _ratings(run_dir: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(run_dir / "studio.sqlite") as conn:
        return conn.execute("SELECT annotator, item_id, score FROM ratings").fetchall()


def test_two_annotators_and_a_sigkill_lose_and_duplicate_nothing(
    browser: Any,
    server,
    tmp_path: Path,
) -> None:
    shots = tmp_path
    ann, bob = Annotator(browser, server, "ann"), Annotator(browser, server, "bob")
    ann.start()
    bob.start()
    for step in range(20):
        if step == 10:
            # SIGKILL right after bob's key press (his rating may be in flight), then a restart
            pending = bob.item()
            bob.page.keyboard.press("2")
            server.kill()
            server.start()
            ann.resume()
            bob.resume()
            assert "10 of 20 rated" in ann.page.inner_text("#progress")
            kept = {i: s for a, i, s in _ratings(server.run_dir) if a == "bob"}
            if pending in kept:  # committed before the kill: kept, and not served again
                assert kept[pending] == 2 and bob.item() != pending
                bob.given[pending] = "2"
            else:  # not committed: served again
                assert bob.item() == pending
        ann.rate(str(1 + step % 5))
        if len(bob.given) < 20:
            bob.rate(str(5 - step % 5))
        if step == 3:
            ann.page.screenshot(path=str(shots / "studio-review.png"))
            keep_artifact(shots / "studio-review.png")
    while len(bob.given) < 20:  # the in-flight rating was lost with the process: done again
        bob.rate("3")
    assert ann.page.locator("#done").count() == 1 and bob.page.locator("#done").count() == 1
    stored = _ratings(server.run_dir)
    assert len(stored) == 40 and len({(a, i) for a, i, _ in stored}) == 40
    for who in (ann, bob):
        mine = {i: s for a, i, s in stored if a == who.name}
        assert mine == {i: int(k) for i, k in who.given.items()}
        assert who.problems == [] and who.pwned() is None


def test_planted_payloads_never_run_on_any_page(
    browser: Any,
    server,
    tmp_path: Path,
) -> None:
    ann = Annotator(browser, server, "<img src=x onerror=\"document.body.dataset.pwned='n'\">")
    ann.start()
    base = f"http://127.0.0.1:{server.port}"
    for _ in range(3):
        ann.rate("3")
    for path in ("/", "/items?kind=point", "/items?kind=pair", "/agreement"):
        ann.page.goto(base + path)
        assert ann.pwned() is None
    ann.page.goto(
        base
        + "/review?annotator="
        + "%3Cimg%20src%3Dx%20onerror%3D%22document.body.dataset.pwned%3D'n'%22%3E&kind=pair"
    )
    assert ann.page.locator(".output-text").count() == 2
    text = ann.page.inner_text("main")
    assert "<script>" in text or "onerror" in text  # shown as text, not run
    with ann.page.expect_navigation():
        ann.page.keyboard.press("a")
    assert ann.pwned() is None and ann.problems == []
    ann.page.goto(
        base
        + "/review?annotator="
        + "%3Cimg%20src%3Dx%20onerror%3D%22document.body.dataset.pwned%3D'n'%22%3E&kind=pair"
    )
    ann.page.screenshot(path=str(tmp_path / "studio-pairwise.png"))
    keep_artifact(tmp_path / "studio-pairwise.png")


def test_playground_streams_side_by_side_and_runs_nothing(
    browser: Any, studio_run: Path, tmp_path: Path
) -> None:
    from tests.studio.stub_openai import ANSWERS, stub_server

    with stub_server() as base_url:
        models = tmp_path / "models.yaml"
        models.write_text(
            "models:\n"
            + "".join(
                f"  - {{name: {m}, base_url: '{base_url}', model: {m}, api_key_env: null}}\n"
                for m in ANSWERS
            ),
            encoding="utf-8",
        )
        run_dir = tmp_path / "run"
        shutil.copytree(studio_run, run_dir)
        srv = Server(run_dir, _free_port(), ["--playground", str(models)])
        srv.start()
        try:
            user = Annotator(browser, srv, "demo")
            user.page.goto(f"http://127.0.0.1:{srv.port}/playground")
            user.page.fill("#prompt", "What is the capital of France? <script>alert(1)</script>")
            user.page.click("#run")
            user.page.locator(".answer[data-state=done]").nth(1).wait_for()
            assert user.page.locator(".answer").count() == 2
            texts = user.page.locator(".answer-text").all_inner_texts()
            assert sorted(texts) == sorted(ANSWERS.values())
            for stats in user.page.locator(".stats").all_inner_texts():
                assert "first token" in stats and "tokens/s" in stats
            assert user.pwned() is None and user.problems == []
            user.page.screenshot(path=str(tmp_path / "studio-playground-stream.png"))
            keep_artifact(tmp_path / "studio-playground-stream.png")
        finally:
            srv.stop()
