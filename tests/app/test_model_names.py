"""Models are named by what they are (the model id or the path's last part), not by the backend
(`hf`, `openai`); an explicit model.name wins."""

from __future__ import annotations

import json

import pytest

from evalkit.config import ModelConfig, display_name


@pytest.mark.parametrize(
    ("backend", "options", "expected"),
    [
        ("openai", {"model": "gpt-4o-mini"}, "gpt-4o-mini"),
        ("openai", {"model": "accounts/fireworks/models/llama-v3p1-8b"}, "llama-v3p1-8b"),
        ("openai", {"model": "llama3:8b"}, "llama3-8b"),
        ("hf", {"path": "/x/tiny-llama"}, "tiny-llama"),
        ("hf", {"path": "/x/tiny-llama/"}, "tiny-llama"),
        ("hf", {"path": "meta-llama/Llama-3.1-8B-Instruct"}, "Llama-3.1-8B-Instruct"),
        ("hf", {"path": None}, "hf"),
        ("replay", {"path": "outputs.jsonl"}, "replay"),
    ],
)
def test_display_name(backend, options, expected):
    assert display_name(backend, options) == expected


def test_an_explicit_name_wins():
    model = ModelConfig.model_validate({"backend": "hf", "path": "/x/tiny-llama", "name": "mine"})
    assert model.name == "mine"
    assert ModelConfig.model_validate({"backend": "hf", "path": "/x/a", "name": None}).name == "a"


@pytest.mark.parametrize(
    ("extra", "expected"), [([], "gpt-4o-mini"), (["model.name=mine"], "mine")]
)
def test_the_cli_names_the_run_and_its_tables(run_cli, qa_task, tmp_path, extra, expected):
    done = run_cli(
        "run", f"tasks=[{qa_task}]", "model=openai", "model.model=gpt-4o-mini", "dry_run=true",
        "limit=2", "progress=false", *extra, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f" {expected} " in done.stdout and " openai " not in done.stdout
    [run_dir] = (tmp_path / "reports").glob("*/*")
    assert run_dir.name.endswith(f"_{expected}"), run_dir


def test_a_local_model_is_named_by_its_directory(run_cli, qa_task, tmp_path):
    pytest.importorskip("transformers")
    from evalkit.testing.tiny_models import build_causal

    path = build_causal(tmp_path / "tiny-llama", sizes={"initializer_range": 0.5})
    spec = qa_task / "task.yaml"
    spec.write_text(spec.read_text() + "generation: {max_new_tokens: 4}\n")
    run_dir = tmp_path / "run"
    done = run_cli(
        "run", f"tasks=[{qa_task}]", "model=hf", f"model.path={path}/", "limit=2",
        f"run_dir={run_dir}", "progress=false",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert " tiny-llama " in done.stdout
    run = json.loads((run_dir / "run.json").read_text())
    assert run["config"]["model"]["name"] == "tiny-llama"
    assert {a["model"] for a in run["aggregates"]} == {"tiny-llama"}
    assert [b["name"] for b in run["backends"]] == ["tiny-llama"]
    assert "tiny-llama" in (run_dir / "report.html").read_text()
