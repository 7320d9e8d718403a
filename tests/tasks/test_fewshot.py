"""Few-shot (`fewshot:` in task.yaml): the rendered context, seeded choice that never includes the
sample itself, recorded ids, the data hash, and errors. The expected prompts follow
lm-evaluation-harness's layout: description + (example text + target_delimiter + target +
fewshot_delimiter) per example + the sample's text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.tasks.task import load_task_file

DATA = [
    {"id": f"d{i}", "q": f"question {i}", "a": f"{i}", "worked": f"work {i} #### {i}"}
    for i in range(6)
]
TRAIN = [
    {"id": f"t{i}", "q": f"train q {i}", "a": f"{10 + i}", "worked": f"w{i}"} for i in range(20)
]


def _task(tmp_path: Path, fewshot: str, data=DATA, train=TRAIN) -> Path:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    (tmp_path / "task.yaml").write_text(
        "name: fs\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: q, references: a}\n"
        'prompt: "Q: {{ input }}\\nA:"\nscorers: {exact_match: {}}\n'
        f"fewshot: {fewshot}\n"
    )
    return tmp_path / "task.yaml"


def _prompt(task, sample) -> str:
    return task.request(sample).messages[-1].content


def test_first_n_renders_the_lm_eval_layout(tmp_path):
    spec = (
        '{data: train.jsonl, n: 2, sampler: first_n, description: "Solve.\\n\\n", target: worked}'
    )
    task = load_task_file(_task(tmp_path, spec))
    sample = task.samples()[0]
    expected = "Solve.\n\nQ: train q 0\nA: w0\n\nQ: train q 1\nA: w1\n\nQ: question 0\nA:"
    assert _prompt(task, sample) == expected
    assert task.fewshot_ids(sample) == ["t0", "t1"]


def test_delimiters_and_default_target_is_the_references_column(tmp_path):
    spec = (
        '{data: train.jsonl, n: 1, sampler: first_n, delimiter: "\\n###\\n",'
        " target_delimiter: ' => '}"
    )
    task = load_task_file(_task(tmp_path, spec))
    assert _prompt(task, task.samples()[1]) == "Q: train q 0\nA: => 10\n###\nQ: question 1\nA:"


def test_random_sampler_is_seeded_per_sample(tmp_path):
    task = load_task_file(_task(tmp_path, "{data: train.jsonl, n: 3, seed: 7}"))
    samples = task.samples()
    pool = [f"t{i}" for i in range(20)]
    for sample in samples:  # the documented draw: random.Random(f"{seed}:{id}").sample(pool, n)
        assert task.fewshot_ids(sample) == random.Random(f"7:{sample.id}").sample(pool, 3)
    again = load_task_file(tmp_path / "task.yaml")
    assert [again.fewshot_ids(s) for s in samples] == [task.fewshot_ids(s) for s in samples]
    other = load_task_file(_task(tmp_path, "{data: train.jsonl, n: 3, seed: 8}"))
    assert [other.fewshot_ids(s) for s in samples] != [task.fewshot_ids(s) for s in samples]


@pytest.mark.parametrize("sampler", ["random", "first_n"])
def test_examples_from_the_tasks_own_data_are_never_the_sample(tmp_path, sampler):
    task = load_task_file(_task(tmp_path, f"{{n: 5, sampler: {sampler}, target: worked}}"))
    for sample in task.samples():
        ids = task.fewshot_ids(sample)
        assert len(ids) == 5 and sample.id not in ids and len(set(ids)) == 5
        assert f"Q: {sample.input}\nA: " not in _prompt(task, sample)


def test_n_zero_adds_only_the_description(tmp_path):
    task = load_task_file(_task(tmp_path, "{n: 0, description: 'Be brief. '}"))
    assert _prompt(task, task.samples()[0]) == "Be brief. Q: question 0\nA:"


def test_fewshot_settings_change_the_data_hash(tmp_path):
    hashes = set()
    for spec in (
        "{data: train.jsonl, n: 2}",
        "{data: train.jsonl, n: 3}",
        "{data: train.jsonl, n: 2, seed: 1}",
        "{data: train.jsonl, n: 2, sampler: first_n}",
        '{data: train.jsonl, n: 2, delimiter: "\\n"}',
    ):
        hashes.add(load_task_file(_task(tmp_path, spec)).data_hash())
    changed_train = [*TRAIN[:-1], {**TRAIN[-1], "worked": "changed"}]
    hashes.add(
        load_task_file(
            _task(tmp_path, "{data: train.jsonl, n: 2}", train=changed_train)
        ).data_hash()
    )
    assert len(hashes) == 6


@pytest.mark.parametrize(
    "spec,message",
    [
        ("{n: 6}", "fewshot.n: 6 examples asked for, data.jsonl has 6 rows"),
        ("{data: train.jsonl, n: 21}", "fewshot.n: 21 examples asked for, train.jsonl has 20"),
        ("{data: missing.jsonl, n: 1}", "fewshot.data:"),
        ("{data: train.jsonl, n: 1, target: nope}", "field 'nope' missing"),
        ("{data: train.jsonl, n: -1}", "fewshot.n: Input should be greater than or equal to 0"),
        ("{data: train.jsonl, n: 1, sampler: best}", "fewshot.sampler:"),
        ("{data: train.jsonl, n: 1, shots: 2}", "fewshot.shots: unknown field"),
    ],
)
def test_bad_fewshot_is_a_user_error(tmp_path, spec, message):
    with pytest.raises(UserError) as caught:
        task = load_task_file(_task(tmp_path, spec))
        task.request(task.samples()[0])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_run_records_fewshot_ids_and_a_changed_fewshot_is_another_run(run_cli, tmp_path):
    task_yaml = _task(tmp_path, "{data: train.jsonl, n: 2, seed: 3}")
    outputs = [{"id": r["id"], "outputs": {"sys": r["a"]}} for r in DATA]
    (tmp_path / "outputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in outputs))
    with task_yaml.open("a") as handle:
        handle.write("outputs: outputs.jsonl\n")
    run = ["run", f"tasks=[{task_yaml}]", f"run_dir={tmp_path / 'run'}", "progress=false"]
    out = run_cli(*run)
    assert out.returncode == 0, out.stderr
    task = load_task_file(task_yaml)
    records = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").open()]
    by_id = {s.id: s for s in task.samples()}
    for record in records:
        assert record["fewshot_ids"] == task.fewshot_ids(by_id[record["sample_id"]])
        assert record["request"]["messages"][-1]["content"].startswith("Q: train q ")
    task_yaml.write_text(task_yaml.read_text().replace("seed: 3", "seed: 4"))
    again = run_cli(*run)
    assert again.returncode == 2 and "holds a different run" in again.stderr


def test_a_fewshot_file_needs_only_the_input_and_target_columns(tmp_path):
    train = [{"q": f"bare q {i}", "worked": f"w{i}"} for i in range(3)]  # no id, no references
    task = load_task_file(_task(tmp_path, "{data: train.jsonl, n: 1, target: worked}", train=train))
    sample = task.samples()[0]
    assert task.fewshot_ids(sample)[0] in {"1", "2", "3"}  # the row (line) number
    assert _prompt(task, sample).endswith("\n\nQ: question 0\nA:")
    broken = [{"question": "wrong column", "worked": "w"}]
    task = load_task_file(
        _task(tmp_path, "{data: train.jsonl, n: 1, target: worked}", train=broken)
    )
    with pytest.raises(UserError, match="few-shot example '1': field 'q' missing"):
        task.request(task.samples()[0])
