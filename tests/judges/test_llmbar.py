"""LLMBar (princeton-nlp/LLMBar, MIT) as a judge-evaluation task and as recorded judgments:
`evalkit task llmbar` writes a replay task from a checkout, `--format llmbar` reads its
evaluators' result.json, and the figures are LLMBar's own statistics.json.

The checkout is not part of this repository: the reproduction test reads it from
$EVALKIT_LLMBAR_DATA (a clone of the repository) and is skipped without it. The other tests
build small files in LLMBar's layout.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from evalkit.analysis.recorded_stats import summarize_recorded
from evalkit.judges.pairs import PairJudgment
from evalkit.judges.recorded_judgments import read_recorded
from evalkit.judging.reports import _human_accuracy_per_order
from evalkit.tasks.llmbar import SUBSETS
from tests.conftest import SHARED_DATA

LLMBAR = Path(os.environ.get("EVALKIT_LLMBAR_DATA", SHARED_DATA / "llmbar"))


def _pair(k: int, label: int, instruction: str | None = None) -> dict:
    return {
        "input": instruction or f"Write the number {k} in words.",
        "output_1": f"{k} in words, right" if label == 1 else f"{k}",
        "output_2": f"{k} in words, right" if label == 2 else f"{k}!",
        "label": label,
    }


def _checkout(root: Path, sets: dict[str, list[dict]], results: dict[str, list]) -> Path:
    """An LLMBar checkout: Dataset/LLMBar/<set>/dataset.json and, per set, one evaluator's
    result.json whose rounds give each order's winner."""
    for name, pairs in sets.items():
        folder = root / "Dataset" / "LLMBar" / name
        folder.mkdir(parents=True)
        (folder / "dataset.json").write_text(json.dumps(pairs))
        result = [
            {**pair, "results": [{"swap = False": {"winner": w0}, "swap = True": {"winner": w1}}]}
            for pair, (w0, w1) in zip(pairs, results[name], strict=True)
        ]
        judge = folder / "evaluators" / "Judge" / "Vanilla"
        judge.mkdir(parents=True)
        (judge / "result.json").write_text(json.dumps(result))
    return root


def _replayed_task(run_cli, root: Path, tmp_path: Path, *sets: str) -> Path:
    """`evalkit task llmbar` of `sets` into tmp_path/task, replayed into tmp_path/run."""
    chosen = [arg for name in sets for arg in ("--set", name)]
    out = run_cli("task", "llmbar", str(root), str(tmp_path / "task"), *chosen)
    assert out.returncode == 0, out.stderr
    run_dir = tmp_path / "run"
    out = run_cli("run", f"tasks=[{tmp_path / 'task'}]", "model=replay", f"run_dir={run_dir}",
                  "progress=false", "report.enabled=false")  # fmt: skip
    assert out.returncode == 0, out.stderr
    return run_dir


def test_an_llmbar_result_file_gives_its_accuracies_by_definition(tmp_path):
    """Four pairs: right in both orders; wrong in both; right only as listed; unparsed as
    listed and right swapped. LLMBar counts: correct_False 2/4, correct_True 2/4, average 0.5,
    correct_both 1/4, equal (same winner in both orders) 2/4."""
    pairs = [_pair(0, 1), _pair(1, 2), _pair(2, 1), _pair(3, 2)]
    winners = [("1", "1"), ("1", "1"), ("1", "2"), (None, "2")]
    root = _checkout(tmp_path, {"Natural": pairs}, {"Natural": winners})
    path = root / "Dataset/LLMBar/Natural/evaluators/Judge/Vanilla/result.json"
    recorded = read_recorded([path], "llmbar")
    assert recorded.judges == ["Judge/Vanilla"]
    assert [p.item for p in recorded.pairs[:2]] == ["natural-0", "natural-0"]
    report = summarize_recorded(recorded, lc="none")["judge_report"]
    assert report["human_agreement_as_listed"] == 0.5
    assert report["human_agreement_swapped"] == 0.5
    assert report["human_agreement"] == 0.5
    assert report["human_agreement_both_orders"] == 0.25
    assert report["swap_consistency"] == 0.5
    assert report["no_verdict_rate"] == 1 / 8 and report["human_n"] == 8


def test_a_bad_llmbar_file_is_one_line(run_cli, tmp_path):
    bad = tmp_path / "result.json"
    bad.write_text(json.dumps([{**_pair(0, 3), "results": [{"swap = False": {"winner": "1"}}]}]))
    out = run_cli("judgments", "stats", str(bad), "--format", "llmbar")
    assert out.returncode == 2 and out.stderr.strip().endswith("pair 0: label 3 is not 1 or 2")
    out = run_cli("task", "llmbar", str(tmp_path), str(tmp_path / "task"))
    assert out.returncode == 2
    assert "not an LLMBar checkout (no Dataset/LLMBar/Natural/dataset.json)" in out.stderr
    (tmp_path / "Natural").mkdir()
    (tmp_path / "Natural" / "dataset.json").write_text("[1]")  # not a pair: one line, no traceback
    out = run_cli("task", "llmbar", str(tmp_path), str(tmp_path / "task"), "--set", "Natural")
    assert out.returncode == 2
    assert out.stderr.strip().endswith("Natural/dataset.json: pair 0: not an object")


def test_the_llmbar_task_judged_by_recorded_verdicts_scores_each_pair_once(run_cli, tmp_path):
    """`evalkit task llmbar` -> replay run -> `evalkit judge` with the recorded verdicts: the
    reliability panel's human agreement and swap consistency are LLMBar's correct_both and
    equal. One instruction is in two sets with different outputs, as in LLMBar (a FOSS poem in
    Neighbor and GPTInst): each sample gets its own set's verdicts, not both."""
    shared = "Write a poem about free software."
    sets = {
        "Natural": [_pair(0, 1), _pair(1, 2), _pair(2, 1)],
        "Adversarial/Neighbor": [_pair(3, 2, shared), _pair(4, 1)],
        "Adversarial/GPTInst": [_pair(5, 1, shared)],
    }
    winners = {
        "Natural": [("1", "1"), ("1", "2"), ("2", "2")],  # right, inconsistent, wrong
        "Adversarial/Neighbor": [("2", "2"), ("1", "1")],  # right, right
        "Adversarial/GPTInst": [("2", "2")],  # wrong: had it joined by text, the shared
    }  # instruction's sample would hold four verdicts, two of them another pair's
    root = _checkout(tmp_path / "LLMBar", sets, winners)
    run_dir = _replayed_task(
        run_cli, root, tmp_path, "Natural", "Adversarial/Neighbor", "Adversarial/GPTInst"
    )
    results = [
        str(p)
        for p in sorted(root.glob("Dataset/LLMBar/**/result.json"))  # every set's verdicts
    ]
    out = run_cli("judge", str(run_dir), "judge=pairwise_preference", "progress=false",
                  f"recorded=[{','.join(results)}]", "recorded_format=llmbar")  # fmt: skip
    assert out.returncode == 0, out.stderr
    [panel] = json.loads((run_dir / "run.json").read_text())["judge_reports"]
    assert panel["pairs"] == 6 and panel["human_n"] == 6
    assert panel["human_accuracy"] == pytest.approx(3 / 6, abs=1e-4)  # both orders right
    assert panel["swap_consistency"] == pytest.approx(5 / 6, abs=1e-4)  # rounded to 4 places
    assert panel["human_accuracy_per_order"] == pytest.approx(7 / 12, abs=1e-4)  # LLMBar's
    assert panel["judgments"] == 12 and panel["parse_failure_rate"] == 0
    lines = [json.loads(x) for x in (run_dir / "pairwise.jsonl").read_text().splitlines()]
    assert all(len(line["battles"]) == 2 for line in lines)
    # outside LLMBar's layout the items are the instructions: the shared one joins neither
    # sample, and the run says how many pairs were left out
    flat = tmp_path / "flat"
    for k, path in enumerate(results):
        (flat / str(k)).mkdir(parents=True)
        (flat / str(k) / "result.json").write_text(Path(path).read_text())
    out = run_cli("judge", str(run_dir), "judge=pairwise_preference", "progress=false",
                  f"recorded=[{','.join(str(flat / str(k) / 'result.json') for k in range(3))}]",
                  "recorded_format=llmbar")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "2 pairs of the run were not joined to recorded judgments" in out.stderr
    reports = json.loads((run_dir / "run.json").read_text())["judge_reports"]
    [panel] = [r for r in reports if r["judge"] == "recorded:llmbar"]  # no judge in the path
    assert panel["pairs"] == 4


def test_judgments_of_two_judges_or_one_file_twice_are_refused(run_cli, tmp_path):
    root = tmp_path / "LLMBar"
    _checkout(root, {"Natural": [_pair(0, 1)]}, {"Natural": [("1", "1")]})
    first = root / "Dataset/LLMBar/Natural/evaluators/Judge/Vanilla/result.json"
    other = first.parents[2] / "Other" / "Vanilla" / "result.json"
    other.parent.mkdir(parents=True)
    other.write_text(first.read_text())
    out = run_cli("judgments", "stats", str(first), str(other), "--format", "llmbar")
    assert out.returncode == 2
    assert "LLMBar result files of 2 judges (Judge/Vanilla, Other/Vanilla)" in out.stderr
    out = run_cli("judgments", "stats", str(first), str(first), "--format", "llmbar")
    assert out.returncode == 2 and "given twice" in out.stderr
    # outside LLMBar's layout no judge is named: a second judgment of one pair in one order
    flat = [tmp_path / "a.json", tmp_path / "b.json"]
    for copy in flat:
        copy.write_text(first.read_text())
    out = run_cli("judgments", "stats", *map(str, flat), "--format", "llmbar")
    assert out.returncode == 2, out.stderr
    assert "b.json: judges a pair (row 0) in an order another file already judged" in out.stderr


def test_the_task_writer_reads_a_set_once_and_refuses_a_file_as_its_folder(run_cli, tmp_path):
    root = _checkout(tmp_path / "LLMBar", {"Natural": [_pair(0, 1)]}, {"Natural": [("1", "1")]})
    out = run_cli("task", "llmbar", str(root), str(tmp_path / "task"),
                  "--set", "Natural/", "--set", "Natural")  # fmt: skip
    assert out.returncode == 0, out.stderr
    ids = [json.loads(x)["id"] for x in (tmp_path / "task" / "data.jsonl").read_text().splitlines()]
    assert ids == ["natural-0"]
    (tmp_path / "file").write_text("")
    out = run_cli("task", "llmbar", str(root), str(tmp_path / "file"), "--set", "Natural")
    assert out.returncode == 2 and "exists and is not a folder" in out.stderr


def test_the_per_order_accuracy_counts_each_order_shown():
    """LLMBar's accuracy: each order's verdict against the gold choice, a failed parse a miss."""

    def judged(verdicts, human):
        return PairJudgment("s", "x", "y", verdicts, (None, None), None, None, (1, 1), [], human)

    # people chose the first: right as A ("A"), then shown as B the judge said A: wrong
    assert _human_accuracy_per_order([judged(("A", "A"), 1.0)]) == 0.5
    assert _human_accuracy_per_order([judged(("B", "A"), 0.0)]) == 1.0
    assert _human_accuracy_per_order([judged(("B", None), 0.0)]) == 1.0  # one order asked
    assert _human_accuracy_per_order([judged(("A", "B"), None)]) is None  # no human choice


def _fraction(text: str) -> float:
    found = re.match(r"(\d+) / (\d+)", text)
    assert found is not None, text
    return int(found[1]) / int(found[2])


@pytest.mark.skipif(
    not (LLMBAR / "Dataset" / "LLMBar").is_dir(),
    reason="no LLMBar checkout ($EVALKIT_LLMBAR_DATA: a clone of princeton-nlp/LLMBar)",
)
def test_every_llmbar_evaluator_s_published_accuracies_are_reproduced():
    """Each result.json of the checkout (five sets x judges x strategies) against the
    statistics.json beside it: correct_False / True / average / both and equal, exactly. (Its
    kappa fields map a verdict of 2 to 0 against a gold label of 2, so they are not compared.)"""
    files = sorted((LLMBAR / "Dataset" / "LLMBar").glob("*/**/evaluators/*/*/result.json"))
    assert len({f.parents[3] for f in files}) == len(SUBSETS) and len(files) > 100
    for path in files:
        published = json.loads((path.parent / "statistics.json").read_text())
        report = summarize_recorded(read_recorded([path], "llmbar"), lc="none")["judge_report"]
        got = (
            report["human_agreement_as_listed"], report["human_agreement_swapped"],
            report["human_agreement_both_orders"], report["swap_consistency"],
        )  # fmt: skip
        keys = ("correct_False", "correct_True", "correct_both", "equal")
        assert got == pytest.approx([_fraction(published[k]) for k in keys], abs=1e-12), path
        average = float(published["correct_average"].rstrip("%")) / 100
        assert report["human_agreement"] == pytest.approx(average, abs=1e-12), path


@pytest.mark.parametrize(
    ("policy", "per_order", "both", "consistency"),
    [
        ("first_shown", 0.5, 0.0, 0.0),  # position bias: right in exactly one order of each
        ("follows", 1.0, 1.0, 1.0),  # picks the output that follows the instruction
    ],
)
def test_a_live_judge_on_the_llmbar_task_gets_llmbar_s_accuracy(
    run_cli, tmp_path, policy, per_order, both, consistency
):
    """A scripted judge on the written task, asked both orders: the panel's accuracy per order
    (LLMBar's), both orders right, and swap consistency follow from its policy."""
    from tests.backends.judge_server import JudgeServer
    from tests.judging.test_judging import judge_args

    pairs = [_pair(k, 1 + k % 2) for k in range(6)]
    root = _checkout(tmp_path / "LLMBar", {"Natural": pairs}, {"Natural": [("1", "1")] * 6})
    run_dir = _replayed_task(run_cli, root, tmp_path, "Natural")

    def reply(messages):
        a = messages[-1]["content"].split("[Answer A]", 1)[1].split("[Answer B]", 1)[0]
        if policy == "first_shown":
            return '{"verdict": "A"}'
        return '{"verdict": "%s"}' % ("A" if "right" in a else "B")

    with JudgeServer(reply) as server:
        out = run_cli("judge", str(run_dir), *judge_args(server, "judge=pairwise_preference"))
    assert out.returncode == 0, out.stderr
    [panel] = json.loads((run_dir / "run.json").read_text())["judge_reports"]
    assert (panel["pairs"], panel["human_n"]) == (6, 6)
    assert panel["human_accuracy_per_order"] == per_order
    assert panel["human_accuracy"] == both and panel["swap_consistency"] == consistency


def test_an_unread_recorded_verdict_is_a_parse_failure_and_leaves_its_pair_without_outcome(
    run_cli, tmp_path
):
    """As for a judge model whose reply in one order cannot be read: the pair has no outcome
    (out of human_accuracy's n), the verdict counts as a parse failure and as a miss per order."""
    pairs = [_pair(0, 1), _pair(1, 2), _pair(2, 1)]
    winners = [("1", "1"), (None, "2"), ("1", "1")]  # pair 1: right as swapped, unread as listed
    root = _checkout(tmp_path / "LLMBar", {"Natural": pairs}, {"Natural": winners})
    run_dir = _replayed_task(run_cli, root, tmp_path, "Natural")
    result = root / "Dataset/LLMBar/Natural/evaluators/Judge/Vanilla/result.json"
    out = run_cli("judge", str(run_dir), "judge=pairwise_preference", "progress=false",
                  f"recorded={result}", "recorded_format=llmbar")  # fmt: skip
    assert out.returncode == 0, out.stderr
    [panel] = json.loads((run_dir / "run.json").read_text())["judge_reports"]
    assert (panel["pairs"], panel["judgments"], panel["human_n"]) == (3, 6, 2)
    assert panel["parse_failure_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert panel["human_accuracy"] == 1.0  # both read pairs right in both orders
    assert panel["human_accuracy_per_order"] == pytest.approx(5 / 6, abs=1e-4)


def test_a_second_pairwise_judging_replaces_the_first_one_s_panel(run_cli, tmp_path):
    """pairwise.jsonl holds one pairwise judging per task: judged again by another judge, the
    run keeps only the new panel (the old one's judgments are no longer in the run)."""
    root = tmp_path / "LLMBar"
    _checkout(root, {"Natural": [_pair(0, 1), _pair(1, 2)]}, {"Natural": [("1", "1")] * 2})
    first = root / "Dataset/LLMBar/Natural/evaluators/Judge/Vanilla/result.json"
    other = first.parents[2] / "Other" / "Vanilla" / "result.json"
    other.parent.mkdir(parents=True)
    rows = json.loads(first.read_text())
    for row in rows:
        row["results"] = [{"swap = False": {"winner": "2"}, "swap = True": {"winner": "2"}}]
    other.write_text(json.dumps(rows))
    run_dir = _replayed_task(run_cli, root, tmp_path, "Natural")
    for result in (first, other):
        out = run_cli("judge", str(run_dir), "judge=pairwise_preference", "progress=false",
                      f"recorded={result}", "recorded_format=llmbar")  # fmt: skip
        assert out.returncode == 0, out.stderr
    [panel] = json.loads((run_dir / "run.json").read_text())["judge_reports"]
    assert panel["judge"] == "recorded:Other/Vanilla" and panel["human_accuracy"] == 0.5
