"""The playground in a real browser (Debian Chromium through Playwright) against a real studio
process and a local OpenAI-compatible stub: pick a task sample, edit its template, stream two
models' answers, save two prompt versions as task samples, run the set as an evalkit run and read
its paired comparison; nothing planted in samples, answers or model names runs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tests.report.conftest import keep_artifact
from tests.studio.stub_openai import ANSWERS, stub_server
from tests.studio.test_studio_browser import Annotator, Server, _free_port

HOSTILE = "<img src=x onerror=\"document.body.dataset.pwned='name'\">"


def _ask(user: Annotator, sample: str, template: str, version: str) -> None:
    from playwright.sync_api import expect

    page = user.page
    page.select_option("#sample", sample)
    page.fill("#template", template)
    page.click("#render")
    expect(page.locator("#prompt")).to_have_value(re.compile("^" + re.escape(template[:6])))
    page.click("#run")
    page.locator(".answer[data-state=done]").nth(1).wait_for()
    expect(page.locator("#save-button")).to_be_enabled()
    page.fill("#version", version)
    page.locator("#save-state").evaluate("e => { e.textContent = ''; }")
    page.click("#save-button")
    expect(page.locator("#save-state")).to_contain_text("saved: ")


def test_pick_edit_stream_save_and_run_a_prompt_set(
    browser: Any, studio_run: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with stub_server() as base_url:
        models = tmp_path / "models.yaml"
        entries = [("alpha", "alpha"), (HOSTILE, "beta")]
        models.write_text(
            "models:\n" + "".join(
                f"  - {{name: {json.dumps(n)}, base_url: '{base_url}', model: {m}, "
                "api_key_env: null, price: {input: 1.0, output: 2.0}}\n" for n, m in entries
            ),
            encoding="utf-8",
        )  # fmt: skip
        run_dir = tmp_path / "run"
        shutil.copytree(studio_run, run_dir)
        sets = tmp_path / "sets"
        srv = Server(
            run_dir, _free_port(), ["--playground", str(models), "--prompt-sets", str(sets)]
        )
        srv.start()
        try:
            user = Annotator(browser, srv, "demo")
            page = user.page
            page.goto(f"http://127.0.0.1:{srv.port}/playground")
            page.select_option("#task", "synth")
            expect(page.locator("#prompt")).not_to_have_value("")
            for sample in ("s1", "s2", "s3"):
                _ask(user, sample, "Restate: {{ input }}", "v1")
                _ask(user, sample, "Say it back: {{ input }}", "v2")
            texts = page.locator(".answer-text").all_inner_texts()
            assert sorted(texts) == sorted(ANSWERS.values())
            for stats in page.locator(".stats").all_inner_texts():
                assert "first token" in stats and "tokens/s" in stats and "cost $" in stats
            page.screenshot(path=str(tmp_path / "studio-playground.png"), full_page=True)
            keep_artifact(tmp_path / "studio-playground.png")
            row = page.locator("#sets tr[data-set=my-prompts]")
            assert row.locator("td").nth(1).inner_text() == "3"
            row.locator("button.run-set").click()
            page.wait_for_selector("#run-state[data-state=done]", timeout=300_000)
            baselines = page.locator("#comparisons tbody td:nth-child(3)").all_inner_texts()
            systems = page.locator("#comparisons tbody td:nth-child(4)").all_inner_texts()
            assert set(baselines) == {f"{HOSTILE} [v1]"}  # the first system saved
            assert set(systems) == {"alpha [v1]", "alpha [v2]", f"{HOSTILE} [v2]"}
            page.screenshot(path=str(tmp_path / "studio-prompt-run.png"), full_page=True)
            keep_artifact(tmp_path / "studio-prompt-run.png")
            assert user.pwned() is None and user.problems == []
            page.click("#report-link")
            page.wait_for_load_state()
            assert "alpha [v2]" in page.content()
            assert user.pwned() is None and user.problems == []
            saved = (sets / "my-prompts" / "outputs.jsonl").read_text(encoding="utf-8")
            assert len(saved.splitlines()) == 12 and "Say it back: Restate item 3" in saved
        finally:
            srv.stop()
