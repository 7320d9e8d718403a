"""Scorer options: an unknown one is a one-line user error (exit 2) for every scorer; the task's
declared language reaches the scorers that take one (issue 18, kinds 3 and 4)."""

from __future__ import annotations

import json
import tomllib

import pytest

from evalkit.errors import UserError
from evalkit.protocols import SCORER_GROUP
from evalkit.stages.scoring import build_scorer, task_scorer_specs
from evalkit.tasks.task import load_task_file
from tests.conftest import REPO, write_jsonl

# The scorers this checkout registers (the venv's installed metadata may be another checkout's).
SCORERS = sorted(
    tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"][
        SCORER_GROUP
    ]
)


@pytest.mark.parametrize("name", SCORERS)
def test_an_unknown_option_is_a_user_error_for_every_scorer(name):
    with pytest.raises(UserError, match="unknown option 'no_such_option'"):
        build_scorer(name, {"no_such_option": 1})


@pytest.mark.parametrize(
    ("name", "typo", "meant"),
    [("rouge", "use_stemer", "use_stemmer"), ("bleu", "tokenise", "tokenize"),
     ("chrf", "word_ordr", "word_order"), ("ter", "normalised", "normalized"),
     ("rouge", "multiref", "multi_ref")],
)  # fmt: skip
def test_a_typo_suggests_the_option(name, typo, meant):
    with pytest.raises(UserError, match=f"did you mean '{meant}'"):
        build_scorer(name, {typo: True})


def test_known_options_still_build():
    assert build_scorer("rouge", {"use_stemmer": False, "multi_ref": "mean"}).multi_ref == "mean"
    assert "tok:intl" in build_scorer("bleu", {"tokenize": "intl"}).signature()


def test_cli_unknown_scorer_option_is_one_line_and_exit_2(run_cli, qa_task, tmp_path):
    for override in ("+scorers.rouge={foo: 1}", "+scorers.rouge={use_stemer: true}"):
        out = run_cli("run", f"tasks=[{qa_task}]", f"run_dir={tmp_path / 'r'}", override)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("evalkit: error: scorer 'rouge'")
        assert "Traceback" not in out.stderr


def test_the_task_language_reaches_scorers_that_take_one():
    specs = dict(task_scorer_specs({"bleu": {}, "rouge": {}, "exact_match": {}}, "zh"))
    assert specs == {"bleu": {"language": "zh"}, "rouge": {"language": "zh"}, "exact_match": {}}
    explicit = dict(task_scorer_specs({"bleu": {"language": "ja"}}, "zh"))
    assert explicit["bleu"] == {"language": "ja"}
    assert dict(task_scorer_specs({"bleu": {}}, None)) == {"bleu": {}}


def test_task_yaml_language_is_validated(tmp_path):
    write_jsonl(tmp_path / "d.jsonl", [{"input": "a", "reference": "b"}])
    base = "name: t\nversion: 1\ndata: d.jsonl\n"
    (tmp_path / "task.yaml").write_text(base + "language: zh-Hant\n", encoding="utf-8")
    assert load_task_file(tmp_path / "task.yaml").spec.language == "zh-Hant"
    (tmp_path / "task.yaml").write_text(base + "language: chinese simplified\n", encoding="utf-8")
    with pytest.raises(UserError, match="language"):
        load_task_file(tmp_path / "task.yaml")


NONLATIN = [
    ("hi", "पूर्व प्रधानमंत्री की हत्या से देश स्तब्ध है।", "मुझे चाय पसंद है।"),
    ("zh", "今天天气很好，我们去公园散步。", "我喜欢喝茶。"),
    ("th", "สวัสดีครับ วันนี้อากาศดีมาก", "ฉันชอบดื่มชา"),
    ("ru", "Бывший премьер-министр убит, страна в шоке.", "Я люблю пить чай."),
    ("en", "The former prime minister was killed and the country is shocked.", "I like tea."),
]


def _nonlatin_task(root, scorers: str, language: str = ""):
    write_jsonl(
        root / "data.jsonl", [{"id": i, "input": r, "reference": r} for i, r, _ in NONLATIN]
    )
    write_jsonl(
        root / "outputs.jsonl",
        [{"id": i, "outputs": {"copy": r, "wrong": w}} for i, r, w in NONLATIN],
    )
    (root / "task.yaml").write_text(
        "name: nonlatin\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: input, references: reference}\n"
        f"{language}scorers: {scorers}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


def _aggregates(run_dir):
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    return {(a["model"], a["metric"]): a for a in run["aggregates"]}, run


@pytest.mark.slow
def test_cli_rouge_on_five_scripts_copy_is_one(run_cli, tmp_path):
    """The rouge-nonlatin case: a copy of the reference scores 1 in Hindi, Chinese, Thai,
    Russian and English (ROUGE of a text against itself), an unrelated sentence far less."""
    task = _nonlatin_task(tmp_path / "task", "{rouge: {}, chrf: {}}")
    out = run_cli("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}")
    assert out.returncode == 0, out.stderr
    aggregates, _ = _aggregates(tmp_path / "run")
    for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert aggregates[("copy", metric)]["value"] == pytest.approx(1.0)
        assert aggregates[("copy", metric)]["n"] == 5
        assert aggregates[("wrong", metric)]["value"] < 0.3


@pytest.mark.slow
def test_cli_zero_token_samples_are_counted_in_run_json(run_cli, tmp_path):
    task = _nonlatin_task(tmp_path / "task", "{rouge: {tokenizer: default}}")
    out = run_cli("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}")
    assert out.returncode != 2, out.stderr  # (a run with failed samples may exit non-zero)
    aggregates, run = _aggregates(tmp_path / "run")
    copy = aggregates[("copy", "rouge1")]
    assert copy["n"] == 1 and copy["n_failed"] == 4 and copy["value"] == pytest.approx(1.0)
    assert "tok:default" in next(s["signature"] for s in run["scorers"] if s["name"] == "rouge")


@pytest.mark.slow
def test_cli_declared_language_sets_the_bleu_tokenizer(run_cli, tmp_path):
    rows = [r for r in NONLATIN if r[0] == "zh"]
    root = tmp_path / "task"
    write_jsonl(root / "data.jsonl", [{"id": i, "input": r, "reference": r} for i, r, _ in rows])
    write_jsonl(root / "outputs.jsonl", [{"id": i, "outputs": {"copy": r}} for i, r, _ in rows])
    (root / "task.yaml").write_text(
        "name: zh\nversion: 1\ndata: data.jsonl\nlanguage: zh\n"
        "fields: {id: id, input: input, references: reference}\n"
        "scorers: {bleu: {}, ter: {}}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    out = run_cli("run", f"tasks=[{root}]", f"run_dir={tmp_path / 'run'}")
    assert out.returncode == 0, out.stderr
    aggregates, run = _aggregates(tmp_path / "run")
    assert aggregates[("copy", "bleu")]["value"] == pytest.approx(100.0)
    assert aggregates[("copy", "ter")]["value"] == pytest.approx(0.0)
    signatures = {s["name"]: s["signature"] for s in run["scorers"]}
    assert "tok:zh" in signatures["bleu"] and "asian:yes" in signatures["ter"]
    assert run["task_scorers"]["zh"] == [["bleu", {"language": "zh"}], ["ter", {"language": "zh"}]]
