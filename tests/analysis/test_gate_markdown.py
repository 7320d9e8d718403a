"""The gate's Markdown summary escapes names from runs: a model called `a|b <img ...>` neither
splits a table cell nor adds HTML. Rendered by markdown-it-py (CommonMark + GFM tables), the
reference a GitHub step summary is rendered like."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from markdown_it import MarkdownIt

from evalkit.app.cli import main
from tests.conftest import write_jsonl

EVIL = "a|b<img src=x onerror=alert(1)>*x*"


def test_model_names_are_escaped_in_the_gate_summary(tmp_path: Path) -> None:
    root = tmp_path / "task"
    rows = [{"id": f"s{i}", "input": f"q{i}", "ref": f"r{i}"} for i in range(6)]
    write_jsonl(root / "data.jsonl", rows)
    (root / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: input, references: ref}\n"
        "scorers: {exact_match: {}}\n",
        encoding="utf-8",
    )
    outputs = [{"id": f"s{i}", "system": EVIL, "output": f"r{i}"} for i in range(6)]
    replay = write_jsonl(tmp_path / "replay.jsonl", outputs)
    run_dir = tmp_path / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for args in (
            [
                "run",
                f"tasks=[{root}]",
                "model=replay",
                f"model.path={replay}",
                f"run_dir={run_dir}",
                "progress=false",
                "report.enabled=false",
            ],
            [
                "gate",
                str(run_dir),
                "--baseline",
                str(run_dir),
                "--markdown",
                str(tmp_path / "g.md"),
            ],
        ):
            try:
                main(args)
            except SystemExit as exc:
                assert exc.code in (0, None), args
    html = MarkdownIt("commonmark").enable("table").render((tmp_path / "g.md").read_text())
    assert "<img" not in html and "<em>" not in html
    header, *body = html.split("<tr>")[1:]
    assert body and all(row.count("<td") == header.count("<th") for row in body)
    assert "a|b&lt;img src=x onerror=alert(1)&gt;*x*" in html  # the name reads as it is
