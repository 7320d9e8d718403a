"""Tasks as data: schema validation, field mapping, formats, and strict prompt rendering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import UserError
from evalkit.tasks.task import load_task, load_task_file
from tests.conftest import write_jsonl


def make_task(root: Path, yaml_text: str, rows: list[dict[str, object]] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if rows is not None:
        write_jsonl(root / "data.jsonl", rows)
    (root / "task.yaml").write_text(yaml_text, encoding="utf-8")
    return root / "task.yaml"


BASE = "name: t\nversion: 2\ndata: data.jsonl\nfields: {id: k, input: q, references: a}\n"


def test_field_mapping_and_metadata(tmp_path):
    path = make_task(
        tmp_path,
        BASE + "prompt: 'Q: {{ input }} ({{ metadata.topic }})'\n",
        [{"k": 7, "q": "why?", "a": "because", "topic": "life"}],
    )
    task = load_task_file(path)
    [sample] = task.samples()
    assert (sample.id, sample.input, sample.references) == ("7", "why?", ["because"])
    assert sample.metadata == {"topic": "life"}
    assert task.spec.version == "2"
    assert task.request(sample).messages[0].content == "Q: why? (life)"


def test_strict_undefined_names_the_variable(tmp_path):
    path = make_task(
        tmp_path, BASE + "prompt: '{{ input }} {{ missing_var }}'\n", [{"k": 1, "q": "x", "a": "y"}]
    )
    task = load_task_file(path)
    with pytest.raises(UserError, match="missing_var"):
        task.request(task.samples()[0])


def test_missing_field_names_file_line_and_field(tmp_path):
    path = make_task(tmp_path, BASE, [{"k": 1, "q": "x", "a": "y"}, {"k": 2, "a": "y"}])
    with pytest.raises(UserError, match=r"data.jsonl:2: field 'q' missing"):
        load_task_file(path).samples()


def test_malformed_jsonl_line(tmp_path):
    path = make_task(tmp_path, BASE)
    (tmp_path / "data.jsonl").write_text(
        '{"k": 1, "q": "x", "a": "y"}\n{"k": 2, "q": \n', encoding="utf-8"
    )
    with pytest.raises(UserError, match=r"data.jsonl:2: invalid JSON"):
        load_task_file(path).samples()


def test_duplicate_ids_rejected(tmp_path):
    path = make_task(tmp_path, BASE, [{"k": 1, "q": "x", "a": "y"}, {"k": 1, "q": "z", "a": "y"}])
    with pytest.raises(UserError, match="duplicate id '1'"):
        load_task_file(path).samples()


def test_schema_errors_name_the_field(tmp_path):
    path = make_task(tmp_path, "name: t\nversion: 1\ndata: d.jsonl\nscorer: {bleu: {}}\n")
    with pytest.raises(UserError, match="scorer: unknown field"):
        load_task_file(path)
    path = make_task(tmp_path, "name: t\nversion: 1\n")
    with pytest.raises(UserError, match="data: Field required"):
        load_task_file(path)


def test_csv_with_reference_separator(tmp_path):
    pd.DataFrame({"k": ["a", "b"], "q": ["one", "two"], "a": ["1|uno", "2"]}).to_csv(
        tmp_path / "data.csv", index=False
    )
    path = make_task(
        tmp_path, BASE.replace("data.jsonl", "data.csv") + "references_separator: '|'\n"
    )
    samples = load_task_file(path).samples()
    assert samples[0].references == ["1", "uno"] and samples[1].references == ["2"]


def test_parquet_with_list_references(tmp_path):
    pd.DataFrame({"k": ["a"], "q": ["one"], "a": [["1", "uno"]]}).to_parquet(tmp_path / "d.parquet")
    path = make_task(tmp_path, BASE.replace("data.jsonl", "d.parquet"))
    assert load_task_file(path).samples()[0].references == ["1", "uno"]


def test_chat_input_and_system_prompt(tmp_path):
    rows = [{"k": 1, "q": [{"role": "user", "content": "hi"}], "a": "hello"}]
    path = make_task(tmp_path, BASE + "system_prompt: 'Be brief.'\n", rows)
    task = load_task_file(path)
    messages = task.request(task.samples()[0]).messages
    assert [m.role for m in messages] == ["system", "user"] and messages[1].content == "hi"


def test_lookup_by_name_suggests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_task("summeval").name == "summeval"
    with pytest.raises(UserError, match="did you mean 'summeval'"):
        load_task("sumeval")


def test_builtin_tasks_validate():
    for name in ("summeval", "wmt17_en_de"):
        task = load_task(name)
        samples = task.samples()
        assert samples and all(s.references for s in samples)
        task.request(samples[0])
    assert len(load_task("summeval").samples()) == 100
    assert len(load_task("wmt17_en_de").samples()) == 3004
