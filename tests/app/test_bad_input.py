"""Table-driven malformed inputs: each ends with exit 2 and ONE stderr line, no traceback.

The expected message fragments come from the project README ("Errors": file, line and field are
named). The CLI's `main` runs in-process (fast); only the missing-dependency case needs a fresh
interpreter, where an import can be made to fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from evalkit.app.cli import main
from tests.conftest import REPO, write_jsonl

GOOD_ROWS: list[dict[str, object]] = [
    {"id": "a", "input": "q1", "ref": "x"},
    {"id": "b", "input": "q2", "ref": "y"},
]
GOOD_YAML = (
    "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: input, references: ref}\n"
    "prompt: '{{ input }}'\ngeneration: {max_new_tokens: 8, temperature: 0.0}\n"
    "scorers: {exact_match: {}}\n"
)
REPLAY_ROWS: list[dict[str, object]] = [
    {"id": "a", "system": "s", "output": "x"},
    {"id": "b", "system": "s", "output": "y"},
]


def good_task(
    root: Path, rows: list[dict[str, object]] | None = None, yaml: str = GOOD_YAML
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "data.jsonl", GOOD_ROWS if rows is None else rows)
    (root / "task.yaml").write_text(yaml, encoding="utf-8")
    return root


def with_row(**changes: object) -> Callable[[Path], list[str]]:
    """validate a task whose second row has `changes` (a value of ... deletes the field)."""

    def build(tmp: Path) -> list[str]:
        second = {k: v for k, v in {**GOOD_ROWS[1], **changes}.items() if v is not ...}
        return ["validate", str(good_task(tmp / "task", [GOOD_ROWS[0], second]))]

    return build


def data_text(text: str, name: str = "data.jsonl") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        root = good_task(tmp / "task", yaml=GOOD_YAML.replace("data.jsonl", name))
        (root / name).write_text(text, encoding="utf-8")
        return ["validate", str(root)]

    return build


def task_yaml(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return ["validate", str(good_task(tmp / "task", yaml=text))]

    return build


def run_args(
    *overrides: str, replay: list[dict[str, object]] | None = None
) -> Callable[[Path], list[str]]:
    """`evalkit run` of the good task, replayed, with `overrides` (RUN_DIR and TASK filled in)."""

    def build(tmp: Path) -> list[str]:
        root = good_task(tmp / "task")
        replay_path = write_jsonl(tmp / "replay.jsonl", REPLAY_ROWS if replay is None else replay)
        base = {
            "tasks": f"tasks=[{root}]",
            "model": "model=replay",
            "model.path": f"model.path={replay_path}",
            "run_dir": f"run_dir={tmp / 'run'}",
        }
        for override in overrides:
            if override.startswith("~"):  # drop a default override
                base.pop(override[1:])
                continue
            base[override.split("=")[0]] = override.replace("TMP", str(tmp))
        return ["run", *base.values(), "progress=false", "report.enabled=false"]

    return build


def run_task_yaml(text: str) -> Callable[[Path], list[str]]:
    """`evalkit run` of a task with this task.yaml: a run stops at the first problem (one line);
    `evalkit validate` lists every sample a template fails on (tests/app/test_console.py)."""

    def build(tmp: Path) -> list[str]:
        args = run_args()(tmp)
        good_task(tmp / "task", yaml=text)
        return args

    return build


def resume_with(line: str) -> Callable[[Path], list[str]]:
    """A complete run whose samples.jsonl gets `line` in place of its first record, resumed."""

    def build(tmp: Path) -> list[str]:
        args = run_args()(tmp)
        assert call(args)[0] == 0
        samples = tmp / "run" / "samples.jsonl"
        lines = samples.read_text(encoding="utf-8").splitlines(keepends=True)
        samples.write_text(line + "\n" + "".join(lines[1:]), encoding="utf-8")
        return args

    return build


def other(*args: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return [a.replace("TMP", str(tmp)) for a in args]

    return build


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], list[str]]
    message: str  # a fragment of the one error line


def _existing_file(tmp: Path) -> list[str]:
    (tmp / "a_file").write_text("not a directory", encoding="utf-8")
    return run_args("run_dir=TMP/a_file")(tmp)


def _under_a_file(tmp: Path) -> list[str]:
    (tmp / "a_file").write_text("not a directory", encoding="utf-8")
    return run_args("run_dir=TMP/a_file/sub/run")(tmp)


def _samples_a_directory(tmp: Path) -> list[str]:
    """A complete run whose samples.jsonl was replaced by a directory, resumed."""
    args = run_args()(tmp)
    assert call(args)[0] == 0
    (tmp / "run" / "samples.jsonl").unlink()
    (tmp / "run" / "samples.jsonl").mkdir()
    return args


LMEVAL_YAML = REPO / "tests" / "data" / "lmeval" / "arith.yaml"
TWO_TURNS_YAML = (
    "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, turns: turns}\n"
    "prompt: '{{ input }}'\nscorers: {exact_match: {}}\n"
)
TWO_TURNS = [{"id": "3", "turns": ["What is 2+2?", "Twice that?"]}]


def replayed_turns(output: object, *, multi_turn: bool = True) -> Callable[[Path], list[str]]:
    """`evalkit run` replaying `output` for sample '3' (two turns, or one when not multi_turn)."""

    def build(tmp: Path) -> list[str]:
        args = run_args(replay=[{"id": "3", "system": "s", "output": output}])(tmp)
        if multi_turn:
            good_task(tmp / "task", TWO_TURNS, TWO_TURNS_YAML)
        else:
            good_task(tmp / "task", [{"id": "3", "input": "q", "ref": "x"}])
        return args

    return build


def into_a_file(*args: str) -> Callable[[Path], list[str]]:
    """`evalkit ARGS` where TMP/a_file is an existing file (an output named under it)."""

    def build(tmp: Path) -> list[str]:
        (tmp / "a_file").write_text("not a directory", encoding="utf-8")
        return other(*args)(tmp)

    return build


def _ratings_export_under_a_file(tmp: Path) -> list[str]:
    from evalkit.store.ratings_db import RatingsDB

    RatingsDB(tmp / "s.sqlite").close()
    return into_a_file("ratings", "export", "TMP/s.sqlite", "-o", "TMP/a_file/x.jsonl")(tmp)


def after_a_run(*args: str) -> Callable[[Path], list[str]]:
    """`evalkit ARGS` once TMP/run holds a finished run, TMP/a_file an existing file."""

    def build(tmp: Path) -> list[str]:
        assert call(run_args()(tmp))[0] == 0
        return into_a_file(*args)(tmp)

    return build


def with_file(name: str, text: str, *args: str) -> Callable[[Path], list[str]]:
    """`evalkit ARGS` with TMP/NAME holding `text` (a gate config, an lm-eval YAML, ...)."""

    def build(tmp: Path) -> list[str]:
        (tmp / name).write_text(text, encoding="utf-8")
        return other(*args)(tmp)

    return build


def _report_of_a_record_without_generation(tmp: Path) -> list[str]:
    assert call(run_args()(tmp))[0] == 0
    samples = tmp / "run" / "samples.jsonl"
    first, *rest = samples.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(first)
    del record["generation"]
    samples.write_text(json.dumps(record) + "\n" + "".join(rest), encoding="utf-8")
    return ["report", str(tmp / "run")]


def _gate_config(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        args = after_a_run("gate", "TMP/run", "--baseline", "TMP/run", "--config", "TMP/g.yaml")
        (tmp / "g.yaml").write_text(text, encoding="utf-8")
        return args(tmp)

    return build


def gen_yaml(setting: str) -> str:
    """GOOD_YAML with one generation setting changed (on line 6)."""
    return GOOD_YAML.replace("generation: {max_new_tokens: 8, temperature: 0.0}", setting)


LMEVAL_DUP = (
    "task: dup\ndataset_path: json\noutput_type: generate_until\ndoc_to_text: q\n"
    "doc_to_target: a\noutput_type: generate_until\n"
)

CASES = [
    # references of the wrong type
    Case("ref_int", with_row(ref=5), "data.jsonl:2: field 'ref' (references) must be a string"),
    Case("ref_float", with_row(ref=2.5), "data.jsonl:2: field 'ref'"),
    Case("ref_bool", with_row(ref=True), "data.jsonl:2: field 'ref'"),
    Case("ref_dict", with_row(ref={"a": 1}), "data.jsonl:2: field 'ref'"),
    Case("ref_list_int", with_row(ref=["x", 3]), "data.jsonl:2: field 'ref'"),
    Case("ref_list_null", with_row(ref=["x", None]), "data.jsonl:2: field 'ref'"),
    Case("ref_nested_list", with_row(ref=[["x"]]), "data.jsonl:2: field 'ref'"),
    Case("ref_missing", with_row(ref=...), "data.jsonl:2: field 'ref' missing"),
    # input of the wrong type
    Case("input_dict", with_row(input={"x": 1}), "data.jsonl:2: field 'input' (input) must be"),
    Case("input_null", with_row(input=None), "data.jsonl:2: field 'input'"),
    Case("input_bool", with_row(input=False), "data.jsonl:2: field 'input'"),
    Case("input_missing", with_row(input=...), "data.jsonl:2: field 'input' missing"),
    Case(
        "chat_str_item", with_row(input=["hi", 3]), "data.jsonl:2: field 'input' (input) message 1"
    ),
    Case("chat_int_item", with_row(input=[{"role": "user", "content": "hi"}, 3]), "message 2"),
    Case("chat_no_content", with_row(input=[{"role": "user"}]), "message 1: content"),
    Case("chat_bad_role", with_row(input=[{"role": "robot", "content": "x"}]), "message 1: role"),
    Case("chat_extra_key", with_row(input=[{"role": "user", "content": "x", "y": 1}]), "message 1"),
    Case("chat_empty", with_row(input=[]), "empty list of messages"),
    # ids
    Case("id_null", with_row(id=None), "data.jsonl:2: field 'id' (id)"),
    Case("id_dict", with_row(id={"a": 1}), "data.jsonl:2: field 'id' (id)"),
    Case("id_list", with_row(id=["a"]), "data.jsonl:2: field 'id' (id)"),
    Case("id_bool", with_row(id=True), "data.jsonl:2: field 'id' (id)"),
    Case("id_empty", with_row(id=""), "data.jsonl:2: field 'id' (id)"),
    Case("id_duplicate", with_row(id="a"), "data.jsonl:2: duplicate id 'a'"),
    Case("id_missing", with_row(id=...), "data.jsonl:2: field 'id' missing"),
    # data files
    Case("empty_jsonl", data_text(""), "data.jsonl: no samples"),
    Case("blank_jsonl", data_text("\n  \n"), "data.jsonl: no samples"),
    Case("invalid_json", data_text('{"id": "a", "input": \n'), "data.jsonl:1: invalid JSON"),
    Case("json_array_line", data_text("[1, 2]\n"), "data.jsonl:1: expected a JSON object"),
    Case(
        "csv_extra_column",
        data_text("id,input,ref\na,q1,x\nb,q2,y,EXTRA\n", "d.csv"),
        "d.csv:3: 1 more field",
    ),
    Case(
        "csv_two_extra", data_text("id,input,ref\na,q1,x,1,2\n", "d.csv"), "d.csv:2: 2 more field"
    ),
    Case("csv_short_row", data_text("id,input,ref\na,q1\n", "d.csv"), "d.csv:2: fewer fields"),
    Case("csv_header_only", data_text("id,input,ref\n", "d.csv"), "d.csv: no samples"),
    Case(
        "csv_duplicate_column",
        data_text("id,input,ref,ref\na,q1,x,y\n", "d.csv"),
        "d.csv:1: the header names the column 'ref' twice",
    ),
    Case(
        "csv_unclosed_quote",
        data_text('id,input,ref\na,"q1,x\nb,q2,y\nc,q3,z\n', "d.csv"),
        "d.csv:2: a quoted field opens on this line and is never closed",
    ),
    Case(
        "csv_unclosed_quote_after_a_multiline_field",
        data_text('id,input,ref\na,"q1\nmore",x\nb,q2,"y\nc,q3,z\n', "d.csv"),
        "d.csv:4: a quoted field opens on this line and is never closed",
    ),
    Case(
        "csv_field_over_the_limit",
        data_text("id,input,ref\na,q1,x\nb," + "q" * 200_000 + ",y\n", "d.csv"),
        "d.csv:3: not a readable CSV row (field larger than field limit (131072))",
    ),
    Case(
        "csv_text_after_a_closing_quote",
        data_text('id,input,ref\na,"q1,x\nb,"q2",y\n', "d.csv"),
        "d.csv:2: a quoted field opens on this line and has text after its closing quote on line 3",
    ),
    Case(
        "data_missing",
        task_yaml(GOOD_YAML.replace("data.jsonl", "nope.jsonl")),
        "nope.jsonl: file not found",
    ),
    Case("data_unknown_ext", data_text("x\n", "d.xlsx"), "cannot tell the data format"),
    # task.yaml
    Case(
        "yaml_unclosed",
        task_yaml("name: t\nversion: 1\ndata: [data.jsonl\n"),
        "task.yaml:4:1: invalid YAML",
    ),
    Case("yaml_bad_indent", task_yaml("name: t\n  version: 1\n"), "task.yaml:2:10: invalid YAML"),
    Case("yaml_tab", task_yaml("name: t\n\tversion: 1\n"), "task.yaml:2:1: invalid YAML"),
    Case("yaml_list_top", task_yaml("- a\n- b\n"), "expected a mapping at the top level"),
    Case("yaml_unknown_field", task_yaml(GOOD_YAML + "scorer: {}\n"), "scorer: unknown field"),
    Case("yaml_no_data", task_yaml("name: t\nversion: 1\n"), "data: Field required"),
    Case("yaml_bad_name", task_yaml(GOOD_YAML.replace("name: t", "name: 'a b'")), "name:"),
    Case("yaml_bad_format", task_yaml(GOOD_YAML + "format: xml\n"), "format:"),
    Case(
        "yaml_bad_temperature",
        task_yaml(GOOD_YAML.replace("temperature: 0.0", "temperature: hot")),
        "generation.temperature",
    ),
    Case(
        "template_syntax",
        task_yaml(GOOD_YAML.replace("'{{ input }}'", "'{{ input '")),
        "prompt template line 1",
    ),
    Case(
        "template_undefined",
        run_task_yaml(GOOD_YAML.replace("'{{ input }}'", "'{{ nope }}'")),
        "'nope' is undefined",
    ),
    Case("task_file_missing", other("validate", "TMP/none"), "task file not found"),
    # a key given twice (PyYAML would keep the last one silently), in every YAML evalkit reads
    Case(
        "yaml_duplicate_key",
        task_yaml(GOOD_YAML + "name: u\n"),
        "task.yaml:8: duplicate key 'name' (also on line 1",
    ),
    Case(
        "yaml_duplicate_nested_key",
        task_yaml(gen_yaml("generation:\n  max_new_tokens: 8\n  max_new_tokens: 16")),
        "task.yaml:8: duplicate key 'max_new_tokens' (also on line 7",
    ),
    Case(
        "yaml_duplicate_in_flow_mapping",
        run_task_yaml(gen_yaml("generation: {temperature: 0.0, temperature: 1.0}")),
        "task.yaml:6: duplicate key 'temperature'",
    ),
    Case(
        "gate_config_duplicate_key",
        _gate_config("max_drop: 0.1\nmax_drop: 0.5\n"),
        "g.yaml:2: duplicate key 'max_drop'",
    ),
    Case(
        "lmeval_duplicate_key",
        with_file("lm.yaml", LMEVAL_DUP, "task", "import", "TMP/lm.yaml", "TMP/out"),
        "lm.yaml:6: duplicate key 'output_type' (also on line 3",
    ),
    # generation settings out of range
    Case(
        "max_new_tokens_zero",
        task_yaml(gen_yaml("generation: {max_new_tokens: 0}")),
        "task.yaml:6: generation.max_new_tokens: Input should be greater than or equal to 1",
    ),
    Case(
        "temperature_negative",
        run_task_yaml(gen_yaml("generation:\n  temperature: -0.5")),
        "task.yaml:7: generation.temperature: Input should be greater than or equal to 0",
    ),
    Case(
        "top_p_zero",
        task_yaml(gen_yaml("generation: {top_p: 0}")),
        "generation.top_p: Input should be greater than 0",
    ),
    Case(
        "top_p_above_one",
        task_yaml(gen_yaml("generation: {top_p: 1.5}")),
        "generation.top_p: Input should be less than or equal to 1",
    ),
    Case("n_zero", task_yaml(gen_yaml("generation: {n: 0}")), "task.yaml:6: generation.n:"),
    # scorers and primary_metric, found by validate (not only when a run starts)
    Case(
        "validate_unknown_scorer",
        task_yaml(GOOD_YAML.replace("{exact_match: {}}", "{exact_match: {}, bleuu: {}}")),
        "task.yaml:7: scorers: unknown scorer 'bleuu' (did you mean 'bleu'?)",
    ),
    Case(
        "validate_unknown_scorer_option",
        task_yaml(GOOD_YAML.replace("{exact_match: {}}", "{bleu: {tokenise: 13a}}")),
        "scorers: scorer 'bleu': unknown option 'tokenise'",
    ),
    Case(
        "validate_primary_metric_unscored",
        task_yaml(GOOD_YAML + "primary_metric: bleu\n"),
        "task.yaml:8: primary_metric 'bleu' is not a metric of this task's scorers",
    ),
    Case(
        "validate_unknown_task_name",
        other("validate", "summevl"),
        "unknown task 'summevl' (did you mean 'summeval'?)",
    ),
    # messages that say what is wrong
    Case(
        "csv_no_header_row",
        data_text("a,q1,x\nb,q2,y\n", "d.csv"),
        "d.csv:2: field 'id' missing (task 't' maps it to id); the header row (line 1) names the "
        "columns 'a', 'q1', 'x'",
    ),
    Case(
        "data_is_a_directory",
        task_yaml(GOOD_YAML.replace("data.jsonl", ".")),
        "task: is a directory, not a data file",
    ),
    Case(
        "replay_file_is_a_directory",
        run_args("model.path=TMP"),
        ": is a directory, not a replay file",
    ),
    Case(
        "report_record_without_generation",
        _report_of_a_record_without_generation,
        "samples.jsonl:1: not a valid sample record (generation: Field required)",
    ),
    # run configuration
    Case("tasks_empty", run_args("tasks=[]"), "no tasks given"),
    Case("workers_negative", run_args("scoring.workers=-3"), "scoring.workers: -3 workers"),
    Case("workers_word", run_args("scoring.workers=many"), "scoring.workers"),
    Case("batch_size_zero", run_args("batch_size=0"), "batch_size"),
    Case("limit_zero", run_args("limit=0"), "limit"),
    Case("max_failures_zero", run_args("max_consecutive_failures=0"), "max_consecutive_failures"),
    Case("unknown_key", run_args("bogus=1"), "invalid override"),
    Case("unknown_model", run_args("model=gpt"), "no option 'gpt' in config group 'model'"),
    Case("unknown_task", run_args("tasks=[no_such_task_xyz]"), "unknown task 'no_such_task_xyz'"),
    Case(
        "unknown_scorer", run_args("scorers=lexical", "+scorers.bleuu={}"), "unknown scorer 'bleuu'"
    ),
    Case(
        "base_url_typo",
        run_args("model=openai", "~model.path", "model.model=m", "model.base_url=htp:/nowhere"),
        "base_url 'htp:/nowhere' is not an absolute",
    ),
    Case(
        "base_url_no_scheme",
        run_args(
            "model=openai", "~model.path", "model.model=m", "model.base_url=localhost:8000/v1"
        ),
        "base_url",
    ),
    Case(
        "base_url_ftp",
        run_args("model=openai", "~model.path", "model.model=m", "model.base_url=ftp://host/v1"),
        "base_url",
    ),
    Case("run_dir_is_a_file", _existing_file, "is an existing file, not a directory"),
    Case("run_dir_under_a_file", _under_a_file, "a_file' is an existing file, not a directory"),
    Case(
        "run_dir_cannot_be_made",
        run_args("run_dir=/proc/evalkit_no_such/run"),
        "/proc/evalkit_no_such/run: cannot create the run directory (No such file or directory)",
    ),
    Case("resume_samples_a_directory", _samples_a_directory, "samples.jsonl: is a directory"),
    # replay files
    Case(
        "replay_duplicate",
        run_args(replay=[*REPLAY_ROWS, {"id": "a", "system": "s", "output": "W"}]),
        "replay.jsonl:3: duplicate id 'a' for system 's'",
    ),
    Case(
        "replay_no_id",
        run_args(replay=[{"system": "s", "output": "x"}]),
        "replay.jsonl:1: field 'id' missing",
    ),
    Case(
        "replay_not_text",
        run_args(replay=[{"id": "a", "system": "s", "output": 3}]),
        "replay.jsonl:1: output of system 's' is not text",
    ),
    Case("replay_missing", run_args("model.path=TMP/none.jsonl"), "replay file not found"),
    Case(
        "replay_text_for_two_turns",
        replayed_turns("blue"),
        "replay.jsonl:1: sample '3' has 2 turns: system 's' needs a list of 2 outputs",
    ),
    Case(
        "replay_three_outputs_for_two_turns",
        replayed_turns(["4", "8", "16"]),
        "replay.jsonl:1: sample '3' has 2 turns but system 's' has 3 outputs",
    ),
    Case(
        "replay_list_for_one_turn",
        replayed_turns(["4", "8"], multi_turn=False),
        "replay.jsonl:1: sample '3' has one turn: system 's' needs one text",
    ),
    # damaged run directories, resumed
    Case(
        "resume_bad_json",
        resume_with('{"task": "t", "model": "s", "sample_id": "a", garbage}'),
        "samples.jsonl:1: not a valid sample record (invalid JSON",
    ),
    Case(
        "resume_no_generation",
        resume_with(json.dumps({"task": "t", "model": "s", "sample_id": "a"})),
        "samples.jsonl:1: field 'generation' missing",
    ),
    Case("resume_not_object", resume_with("[1, 2]"), "samples.jsonl:1: not a valid sample record"),
    Case(
        "resume_generation_str",
        resume_with(json.dumps({"task": "t", "model": "s", "sample_id": "a", "generation": "x"})),
        "field 'generation' is not an object",
    ),
    # other commands
    Case(
        "meta_eval_missing",
        other("meta-eval", "no/such/file.jsonl"),
        "no/such/file.jsonl: file does not exist",
    ),
    Case("report_not_a_run", other("report", "TMP"), "not a run directory"),
    Case("studio_port_too_big", other("studio", "TMP", "--port", "99999"), "--port 99999"),
    Case("studio_port_zero", other("studio", "TMP", "--port", "0"), "from 1 to 65535"),
    Case(
        "task_import_into_a_file",
        into_a_file("task", "import", str(LMEVAL_YAML), "TMP/a_file"),
        "a_file: is an existing file, not a directory",
    ),
    Case(
        "ratings_export_under_a_file",
        _ratings_export_under_a_file,
        "a_file: is an existing file, not a directory",
    ),
    Case(
        "report_under_a_file",
        after_a_run("report", "TMP/run", "-o", "TMP/a_file/r.html"),
        "a_file: is an existing file",
    ),
    Case(
        "leaderboard_into_a_file",
        after_a_run("leaderboard", "TMP/run", "-o", "TMP/a_file"),
        "a_file: is an existing file",
    ),
    Case(
        "baseline_under_a_file",
        after_a_run("baseline", "save", "TMP/run", "-o", "TMP/a_file/b.json"),
        "a_file: is an existing file",
    ),
    Case(
        "gate_markdown_under_a_file",
        after_a_run("gate", "TMP/run", "--baseline", "TMP/run", "--markdown", "TMP/a_file/g.md"),
        "a_file: is an existing file",
    ),
]


def call(args: list[str]) -> tuple[int, str]:
    """Run `evalkit ARGS` in this process: (exit status, stderr)."""
    import contextlib
    import io

    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue()


def test_at_least_fifty_cases() -> None:
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_one_line_exit_2(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    code, err = call(case.build(tmp_path))
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("evalkit: error: ") and "Traceback" not in err
    assert case.message in lines[0]


def test_resume_after_a_damaged_line_keeps_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal changes nothing: samples.jsonl and run.json (a complete run's: not marked
    aborted by a refusal before the resume began) are byte-for-byte what they were."""
    monkeypatch.chdir(tmp_path)
    args = resume_with('{"task": "t", garbage}')(tmp_path)
    before = (tmp_path / "run" / "samples.jsonl").read_bytes()
    run_json = (tmp_path / "run" / "run.json").read_bytes()
    assert json.loads(run_json)["status"] == "complete"
    assert call(args)[0] == 2
    assert (tmp_path / "run" / "samples.jsonl").read_bytes() == before
    assert (tmp_path / "run" / "run.json").read_bytes() == run_json


def test_resume_into_a_samples_directory_leaves_run_json_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _samples_a_directory(tmp_path)
    run_json = (tmp_path / "run" / "run.json").read_bytes()
    assert call(args)[0] == 2
    assert (tmp_path / "run" / "run.json").read_bytes() == run_json


@pytest.mark.parametrize("run_dir", ["run_dir=", "run_dir='  '"])
def test_an_empty_run_dir_is_the_default_never_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_dir: str
) -> None:
    """`run_dir=` (empty) wrote run.json, samples.jsonl, .hydra and .lock into the current
    directory, and a blank one into a folder named by its spaces; both are taken as not given:
    reports/<date>/<time>_<suite>_<model>."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, err = call(run_args(run_dir)(tmp_path))
    assert code == 0, err
    assert sorted(p.name for p in work.iterdir()) == ["reports"]
    [run_json] = (work / "reports").glob("*/*/run.json")
    assert json.loads(run_json.read_text(encoding="utf-8"))["status"] == "complete"


def test_a_new_run_refused_before_its_work_is_marked_aborted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run_dir with a damaged samples.jsonl and no run.json: the run.json this run wrote
    says why it stopped, not "running"."""
    monkeypatch.chdir(tmp_path)
    args = resume_with('{"task": "t", garbage}')(tmp_path)
    (tmp_path / "run" / "run.json").unlink()
    code, err = call(args)
    assert code == 2 and "samples.jsonl:1: not a valid sample record" in err
    stored = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert stored["status"] == "aborted" and "not a valid sample record" in stored["stop_reason"]


def test_missing_optional_dependency_names_the_extra(tmp_path: Path) -> None:
    """A core install without safetensors: the distilled judge scorer says what to install
    (../shared/cases/failures: "ModuleNotFoundError: safetensors from distilled_judge")."""
    root = good_task(tmp_path / "task", yaml=GOOD_YAML.replace("exact_match", "distilled_judge"))
    write_jsonl(tmp_path / "replay.jsonl", REPLAY_ROWS)
    code = (
        "import sys; sys.modules['safetensors'] = None\n"
        "from evalkit.app.cli import main\n"
        f"main(['run', 'tasks=[{root}]', 'model=replay', 'model.path={tmp_path / 'replay.jsonl'}', "
        f"'run_dir={tmp_path / 'run'}', 'progress=false'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "scorer 'distilled_judge' needs safetensors" in lines[0]
    assert 'pip install "evalkit[local]"' in lines[0]


def test_studio_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    """Before: uvicorn's "ERROR: [Errno 98] ..." and exit 3. The studio binds the port itself."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, err = call(["studio", str(tmp_path), "--port", str(port)])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"evalkit: error: cannot listen on 127.0.0.1:{port}: ")
    assert not (tmp_path / "studio.sqlite").exists()  # refused before anything is written


def test_outputs_make_their_missing_folders(tmp_path: Path) -> None:
    """As `report -o`, `baseline save -o` and `leaderboard -o` do: parents are created."""
    from evalkit.store.ratings_db import RatingsDB

    RatingsDB(tmp_path / "s.sqlite").close()
    target = tmp_path / "new" / "deeper" / "x.jsonl"
    assert call(["ratings", "export", str(tmp_path / "s.sqlite"), "-o", str(target)])[0] == 0
    assert target.is_file()


def test_validate_takes_a_task_name_as_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = call(["validate", "summeval"])
    assert code == 0, err


def test_a_yaml_merge_key_may_still_be_overridden(tmp_path: Path) -> None:
    """`<<: *base` then the same key: YAML's merge, not a duplicate."""
    from evalkit.textfiles import load_yaml

    path = tmp_path / "m.yaml"
    path.write_text("base: &b {k: 1, j: 2}\nm:\n  <<: *b\n  k: 3\n", encoding="utf-8")
    assert load_yaml(path)["m"] == {"k": 3, "j": 2}
