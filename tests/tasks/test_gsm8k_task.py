"""The bundled gsm8k task: it validates, is listed, renders Wei et al.'s 8-shot chain-of-thought
context, and scores extracted answers (strict and flexible) with numeric_match."""

from __future__ import annotations

import json
import re

from evalkit.resources import builtin_dir
from evalkit.tasks.task import load_task

FIRST_SHOT = (
    "Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After"
    " they are done, there will be 21 trees. How many trees did the grove workers plant today?\n"
    "A: There are 15 trees originally. Then there were 21 trees after some more were planted. So"
    " there must have been 21 - 15 = 6. The answer is 6.\n\n"
)


def test_validates_and_is_listed(run_cli):
    out = run_cli("validate", str(builtin_dir("tasks") / "gsm8k"))
    assert out.returncode == 0, out.stderr
    assert "(task 'gsm8k', 1319 samples)" in out.stdout
    listed = run_cli("list", "tasks")
    assert any(line.split("\t")[0] == "gsm8k" for line in listed.stdout.splitlines())


def test_references_are_the_worked_solutions_final_numbers():
    task = load_task("gsm8k")
    samples = task.samples()
    assert len(samples) == 1319
    for sample in samples:
        worked = sample.metadata["answer"]
        assert sample.references == [worked.split("####")[-1].strip()]


def test_prompt_is_eight_shot_chain_of_thought():
    task = load_task("gsm8k")
    sample = task.samples()[0]
    prompt = task.request(sample).messages[-1].content
    assert prompt.startswith(FIRST_SHOT)
    assert prompt.endswith(f"\n\nQ: {sample.input}\nA:")
    assert prompt.count("The answer is") == 8 and prompt.count("\nA:") == 9
    assert task.fewshot_ids(sample) == [f"wei2022-cot-{i}" for i in range(1, 9)]


def test_strict_and_flexible_scores_through_the_cli(run_cli, tmp_path):
    task = load_task("gsm8k")
    first = task.samples()[:4]
    answers = [s.references[0] for s in first]
    outputs = {  # what each output should score: (strict, flexible)
        "The answer is {a}.": (1.0, 1.0),
        "So she makes {a} dollars.": (0.0, 1.0),  # no marker: strict finds nothing
        "Working... #### {a}": (1.0, 1.0),
        "The answer is {a}. Then 7 more.": (1.0, 0.0),  # the last number is not the answer
    }
    lines = [
        {"id": s.id, "system": f"s{k}", "output": template.format(a=a)}
        for k, template in enumerate(outputs)
        for s, a in zip(first, answers, strict=True)
    ]
    (tmp_path / "outs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = run_cli(
        "run", "tasks=[gsm8k]", "limit=4", "model.path=outs.jsonl", "run_dir=run", "progress=false"
    )
    assert out.returncode == 0, out.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    values = {(a["model"], a["metric"]): a["value"] for a in run["aggregates"]}
    for k, (strict, flexible) in enumerate(outputs.values()):
        assert values[(f"s{k}", "numeric_match_strict")] == strict
        assert values[(f"s{k}", "numeric_match_flexible")] == flexible
    misses = {(c["model"], c["pipeline"]): c["n_no_answer"] for c in run["extraction"]}
    assert misses[("s1", "strict")] == 4 and misses[("s0", "strict")] == 0
    assert re.search(r"numeric_match_strict", (tmp_path / "run" / "report.html").read_text())
