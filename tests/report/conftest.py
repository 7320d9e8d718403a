"""Report fixtures: real runs made by `evalkit run`; a headless Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalkit.testing.browser import CHROMIUM, LAUNCH_ARGS
from evalkit.testing.synthetic_runs import write_task
from tests.conftest import REPO, cli_in_process

ARTIFACTS = Path(os.environ.get("EVALKIT_TEST_ARTIFACTS", REPO / "reports" / "test-artifacts"))


def evalkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = cli_in_process(*args, cwd=cwd, env={"COLUMNS": "200"})
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def report_data(html: str) -> Any:
    """The JSON block the page's script reads, parsed back."""
    match = re.search(
        r'<script type="application/json" id="evalkit-data">(.*?)</script>', html, re.S
    )
    assert match, "no data block"
    return json.loads(match.group(1))


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 samples x 4 variants (base, base-int8, base-spec, small) with latency and cost; 'small'
    has no output for 4 of them (samples 0, 15, 30, 45)."""
    root = tmp_path_factory.mktemp("synthetic")
    task = write_task(root / "tasks" / "synth", 60, seed=7, unanswered=("small", 15))
    run_dir = root / "run"
    evalkit("run", f"tasks=[{task}]", f"run_dir={run_dir}", cwd=root)
    return run_dir


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright; CI sets EVALKIT_REQUIRE_BROWSER=1 so that a missing
    browser fails there instead of skipping. Module scope: Playwright's sync API keeps an event loop
    running in this thread while it is open, which would break later tests' `asyncio.run`."""
    required = os.environ.get("EVALKIT_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    if not CHROMIUM.is_file():
        if required:
            pytest.fail(f"{CHROMIUM} not found (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        instance.close()


class OpenedPage:
    """A report opened from disk, with every console message, page error and dialog recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def problems(self) -> list[str]:
        bad = [f"{kind}: {text}" for kind, text in self.console if kind in ("error", "warning")]
        return bad + [f"pageerror: {e}" for e in self.errors]

    def tab(self, name: str) -> None:
        self.page.click(f"#tabs button[data-tab={name}]")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    pages: list[OpenedPage] = []

    def opener(path: Path) -> OpenedPage:
        pages.append(OpenedPage(browser, path))
        return pages[-1]

    yield opener
    for p in pages:
        p.close()


def keep_artifact(path: Path) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / path.name
    shutil.copyfile(path, target)
    return target
