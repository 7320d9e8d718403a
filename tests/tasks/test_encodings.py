"""Every reader of the user's files takes UTF-8 with a byte-order mark and CRLF line ends, and
names bytes that are not UTF-8 in one line (file, line, column, byte), for JSONL, CSV/TSV,
Parquet, task.yaml, rubric YAML and YAML configs, through the library and through the CLI.

The expected rows are the literal data written; the expected positions are where the test put
the bad byte (the Unicode standard: U+FEFF at the start is a signature, not text)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalkit.errors import UserError
from evalkit.judges.rubric import load_rubric
from evalkit.tasks.datafiles import read_rows, read_yaml_mapping
from evalkit.tasks.task import load_task_file

BOM = b"\xef\xbb\xbf"
ROWS = [
    {"id": "q1", "question": "Capital of Australia?", "answer": "Canberra"},
    {"id": "q2", "question": 'Légs, "quoted", of a spider?', "answer": "Eight"},
]
TASK_YAML = (
    "name: t\nversion: 1\ndata: {data}\nfields: {{id: id, input: question, references: answer}}\n"
    "prompt: '{{{{ input }}}}'\nscorers: {{exact_match: {{}}}}\n"
)


def _csv_text(delimiter: str) -> str:
    lines = [delimiter.join(ROWS[0])]
    for row in ROWS:
        cells = ['"' + v.replace('"', '""') + '"' for v in row.values()]
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n"


def _encoded(text: str, bom: bool, crlf: bool | str) -> bytes:
    """`text` with a UTF-8 BOM or not, and CRLF line ends (True), LF (False) or `crlf` itself."""
    end = "\r\n" if crlf is True else ("\n" if crlf is False else crlf)
    data = text.replace("\n", end)
    return (BOM if bom else b"") + data.encode("utf-8")


def _write(path: Path, fmt: str, bom: bool, crlf: bool | str) -> Path:
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)
    else:
        text = _csv_text("\t" if fmt == "tsv" else ",")
    path.write_bytes(_encoded(text, bom, crlf))
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
@pytest.mark.parametrize(
    ("bom", "crlf"), [(True, False), (False, True), (True, True), (True, "\r")]
)  # "\r": classic Mac line ends
def test_text_data_with_bom_or_crlf_reads_the_same_rows(tmp_path, fmt, bom, crlf):
    path = _write(tmp_path / f"data.{fmt}", fmt, bom, crlf)
    rows = [row for _, row in read_rows(path)]
    assert rows == ROWS
    assert [line for line, _ in read_rows(path)] == ([1, 2] if fmt == "jsonl" else [2, 3])


def test_a_bom_inside_a_concatenated_jsonl_file_is_read_away(tmp_path):
    one = json.dumps(ROWS[0]).encode() + b"\r\n"
    two = json.dumps(ROWS[1], ensure_ascii=False).encode() + b"\r\n"
    path = tmp_path / "data.jsonl"
    path.write_bytes(BOM + one + BOM + two)
    assert [row for _, row in read_rows(path)] == ROWS


def test_parquet_column_named_with_a_bom_is_read_without_it(tmp_path):
    # what pandas writes after read_csv(encoding="utf-8") of an Excel "CSV UTF-8" file
    frame = pd.DataFrame(ROWS).rename(columns={"id": "\ufeffid"})
    frame.to_parquet(tmp_path / "data.parquet")
    assert [row for _, row in read_rows(tmp_path / "data.parquet")] == ROWS


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_task_yaml_and_data_with_bom_and_crlf_load(tmp_path, fmt):
    _write(tmp_path / f"data.{fmt}", fmt, bom=True, crlf=True)
    (tmp_path / "task.yaml").write_bytes(_encoded(TASK_YAML.format(data=f"data.{fmt}"), True, True))
    task = load_task_file(tmp_path / "task.yaml")
    assert task.spec.name == "t"
    assert [(s.id, s.references) for s in task.samples()] == [
        ("q1", ["Canberra"]),
        ("q2", ["Eight"]),
    ]


def test_rubric_and_config_yaml_with_bom_and_crlf_load(tmp_path):
    rubric = (
        "name: mine\nversion: 1\ndescription: d\nmode: pointwise\ncriteria: c\nscale: [1, 5]\n"
        "system: s\nprompt: 'Rate {{ output }}'\n"
    )
    (tmp_path / "mine.yaml").write_bytes(_encoded(rubric, True, True))
    assert load_rubric(str(tmp_path / "mine.yaml")).scale == (1, 5)
    (tmp_path / "gate.yaml").write_bytes(_encoded("max_drop: 0.5\nmetric: bleu\n", True, True))
    assert read_yaml_mapping(tmp_path / "gate.yaml") == {"max_drop": 0.5, "metric": "bleu"}


# --- bytes that are not UTF-8: one line naming file, line, column and byte -------------------

LATIN1_LINE = '{"id": "q2", "question": "café", "answer": "x"}'  # é at column 30


@pytest.mark.parametrize("crlf", [False, True])
def test_invalid_utf8_in_jsonl_names_line_column_and_byte(tmp_path, crlf):
    end = b"\r\n" if crlf else b"\n"
    path = tmp_path / "data.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + end + LATIN1_LINE.encode("cp1252") + end)
    with pytest.raises(UserError) as caught:
        list(read_rows(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:2: not valid UTF-8 (byte 0xe9 at column 30)")
    assert "save the file as UTF-8" in message and "\n" not in message


def test_invalid_utf8_in_csv_and_tsv(tmp_path):
    for name, sep in (("data.csv", ","), ("data.tsv", "\t")):
        path = tmp_path / name
        path.write_bytes(
            BOM + f"id{sep}question\r\nq1{sep}ok\r\nq2{sep}na\xefve\r\n".encode("latin-1")
        )
        with pytest.raises(
            UserError, match=rf"{name}:3: not valid UTF-8 \(byte 0xef at column 6\)"
        ):
            list(read_rows(path))


def test_a_utf16_file_is_named_as_utf16(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("id,question\nq1,x\n", encoding="utf-16")  # writes the FF FE mark
    with pytest.raises(UserError, match=r"data.csv:1: the file is UTF-16 .*save the file as UTF-8"):
        list(read_rows(path))


def test_invalid_utf8_in_task_rubric_and_config_yaml(tmp_path):
    bad = "name: t\nversion: 1\ndescription: caf\xe9\n".encode("latin-1")
    for name, load in (
        ("task.yaml", lambda p: load_task_file(p)),
        ("rubric.yaml", lambda p: load_rubric(str(p))),
        ("gate.yaml", read_yaml_mapping),
    ):
        (tmp_path / name).write_bytes(bad)
        with pytest.raises(
            UserError, match=rf"{name}:3: not valid UTF-8 \(byte 0xe9 at column 17\)"
        ):
            load(tmp_path / name)


def test_invalid_utf8_string_in_parquet_names_row_and_column(tmp_path):
    raw = pa.array([b"fine", b"caf\xe9"], type=pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["q1", "q2"], "question": raw}), tmp_path / "data.parquet")
    with pytest.raises(UserError, match=r"row 2, column 'question': not valid UTF-8 \(byte 0xe9"):
        list(read_rows(tmp_path / "data.parquet"))


def test_yaml_syntax_error_is_one_line_with_its_position(tmp_path):
    (tmp_path / "task.yaml").write_text("name: t\nfields: {id: [\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_task_file(tmp_path / "task.yaml")
    assert "\n" not in str(caught.value) and f"{tmp_path / 'task.yaml'}:" in str(caught.value)


# --- through the CLI ------------------------------------------------------------------------


def test_cli_scores_bom_crlf_task_and_replay_files(run_cli, tmp_path):
    _write(tmp_path / "data.csv", "csv", bom=True, crlf=True)
    (tmp_path / "task.yaml").write_bytes(_encoded(TASK_YAML.format(data="data.csv"), True, True))
    outputs = "id,system,output\nq1,sys,Canberra\nq2,sys,Eight\n"
    (tmp_path / "outputs.csv").write_bytes(_encoded(outputs, bom=True, crlf=True))
    run_dir = tmp_path / "run"
    out = run_cli(
        "run", f"tasks=[{tmp_path / 'task.yaml'}]", f"model.path={tmp_path / 'outputs.csv'}",
        f"run_dir={run_dir}", "progress=false",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    [aggregate] = [a for a in run["aggregates"] if a["metric"] == "exact_match"]
    assert (aggregate["value"], aggregate["n"], aggregate["n_failed"]) == (1.0, 2, 0)


def test_cli_invalid_utf8_is_one_line_and_exit_2(run_cli, tmp_path):
    (tmp_path / "task.yaml").write_text(TASK_YAML.format(data="data.jsonl"), encoding="utf-8")
    (tmp_path / "data.jsonl").write_bytes(
        json.dumps(ROWS[0]).encode() + b"\n" + LATIN1_LINE.encode("cp1252") + b"\n"
    )
    out = run_cli("validate", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"evalkit: error: {tmp_path / 'data.jsonl'}:2: not valid UTF-8 (byte 0xe9 at column 30); "
        "save the file as UTF-8 (it may be in a legacy encoding such as Windows-1252)"
    )
