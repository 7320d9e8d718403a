"""evalkit.analysis.compare.compare_runs on a small replayed run (three systems, in process): the
values are
sacrebleu's corpus BLEU and the exact-match rates of the outputs, the p-values scipy's McNemar
(exact binomial) and paired t-tests of the stored per-sample scores, Holm-adjusted within each
task x metric."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from scipy import stats

from evalkit.analysis.compare import compare_runs
from evalkit.config import RunConfig
from evalkit.errors import UserError
from evalkit.stages.pipeline import run_evaluation
from evalkit.store.run_store import RunStore
from tests.conftest import write_jsonl

N = 30
WORDS = ["river", "stone", "cloud", "lamp", "green", "quiet", "north", "paper", "glass", "wind"]
# sample i is answered exactly by: base when i < 20, good when i < 26, bad when i < 10
RIGHT = {"base": 20, "good": 26, "bad": 10}


def _half(ref: str, i: int) -> str:
    """A wrong answer: the reference's first three words and three others (token F1 0.5)."""
    return " ".join([*ref.split()[:3], "unrelated", "answer", str(i)])


def _run(root: Path) -> tuple[Path, list[str], dict[str, list[str]]]:
    rng = random.Random(0)
    refs = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(N)]
    outputs = {
        system: [ref if i < right else _half(ref, i) for i, ref in enumerate(refs)]
        for system, right in RIGHT.items()
    }
    task = root / "task"
    data = [{"id": f"q{i}", "q": f"q {i}?", "a": r} for i, r in enumerate(refs)]
    write_jsonl(task / "data.jsonl", data)
    write_jsonl(
        task / "outputs.jsonl",
        [{"id": f"q{i}", "outputs": {s: o[i] for s, o in outputs.items()}} for i in range(N)],
    )
    (task / "task.yaml").write_text(
        "name: qa\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: q, references: a}\n"
        "scorers: {exact_match: {}, f1: {}, bleu: {}}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    config = RunConfig.from_dict(
        {
            "suite": {"name": "s", "tasks": [str(task)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "report": {"enabled": False},
            "scoring": {"workers": 0},
            "cache": {"path": str(root / "cache.sqlite")},
        }
    )
    run_evaluation(config, root / "run")
    return root / "run", refs, outputs


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], dict[str, list[str]]]:
    return _run(tmp_path_factory.mktemp("compare"))


def _holm(p: list[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values, by hand."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_exact_match_rows_are_mcnemar_on_the_outputs(run) -> None:
    run_dir, _, _ = run
    rows = [c for c in compare_runs([run_dir], baseline="base") if c.metric == "exact_match"]
    assert sorted((c.baseline, c.model) for c in rows) == [("base", "bad"), ("base", "good")]
    expected_p = []
    for c in rows:
        right = RIGHT[c.model]
        assert (c.n, c.baseline_value, c.value) == (N, 20 / N, pytest.approx(right / N))
        assert c.delta == pytest.approx((right - 20) / N)
        only_model, only_base = max(0, right - 20), max(0, 20 - right)
        p = stats.binomtest(only_model, only_model + only_base, 0.5).pvalue
        assert c.test == "mcnemar" and c.p_value == pytest.approx(p, rel=1e-12)
        expected_p.append(p)
    assert [c.p_holm for c in rows] == pytest.approx(_holm(expected_p))
    assert [c.significant for c in rows] == [h < 0.05 for h in _holm(expected_p)]
    assert all(c.family_size == 2 for c in rows)


def test_mean_metric_rows_are_paired_t_tests_of_the_stored_scores(run) -> None:
    run_dir, _, _ = run
    f1 = {}
    for record in RunStore(run_dir).latest_records():
        score = next(s for s in record.scores if s.name == "f1")
        f1.setdefault(record.model, {})[record.sample_id] = score.value
    ids = sorted(f1["base"])
    rows = [c for c in compare_runs([run_dir], baseline="base") if c.metric == "f1"]
    assert len(rows) == 2
    for c in rows:
        a = np.array([f1["base"][i] for i in ids])
        b = np.array([f1[c.model][i] for i in ids])
        assert c.test == "paired_t"
        assert c.p_value == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
        assert c.delta == pytest.approx(float(b.mean() - a.mean()))
        assert c.ci[0] <= c.value <= c.ci[1]


def test_corpus_metric_values_are_sacrebleus_corpus_bleu(run) -> None:
    run_dir, refs, outputs = run
    rows = [c for c in compare_runs([run_dir], baseline="good") if c.metric == "bleu"]
    assert sorted(c.model for c in rows) == ["bad", "base"]
    good = sacrebleu.corpus_bleu(outputs["good"], [refs]).score
    for c in rows:
        value = sacrebleu.corpus_bleu(outputs[c.model], [refs]).score
        assert c.baseline_value == pytest.approx(good, abs=1e-9)
        assert c.value == pytest.approx(value, abs=1e-9)
        assert c.delta == pytest.approx(value - good, abs=1e-9)
        assert c.delta_ci[0] <= c.delta <= c.delta_ci[1]
        assert c.test == "bootstrap" and c.resamples is not None and c.resamples >= 2000


def test_an_unknown_baseline_is_a_user_error_with_a_suggestion(run) -> None:
    run_dir, _, _ = run
    with pytest.raises(UserError, match=r"unknown baseline model 'goood'.*good"):
        compare_runs([run_dir], baseline="goood")


def test_each_task_is_compared_with_its_own_first_model(tmp_path, caplog) -> None:
    """Two tasks whose systems differ (as the demo's summeval and wmt17 systems do): by default
    every task gets rows against its own first model; a named baseline that a task lacks skips
    that task with a warning instead of silently."""
    import json as _json

    from evalkit.app.api import evaluate
    from tests.conftest import write_qa_task

    first = write_qa_task(tmp_path / "tasks" / "toy_qa")
    second = tmp_path / "tasks" / "toy_qa2"
    second.mkdir()
    for name in ("data.jsonl",):
        (second / name).write_text((first / name).read_text())
    outputs = [_json.loads(line) for line in (first / "outputs.jsonl").read_text().splitlines()]
    renamed = [{**o, "system": {"good": "alpha", "bad": "beta"}[o["system"]]} for o in outputs]
    (second / "outputs.jsonl").write_text("".join(_json.dumps(o) + "\n" for o in renamed))
    (second / "task.yaml").write_text(
        (first / "task.yaml").read_text().replace("name: toy_qa\n", "name: toy_qa2\n")
    )
    run_dir = tmp_path / "run"
    evaluate([str(first / "task.yaml"), str(second / "task.yaml")], run_dir=run_dir,
             progress=False, report={"enabled": False})  # fmt: skip
    rows = compare_runs([run_dir], n_resamples=200)
    assert {(r.task, frozenset((r.baseline, r.model))) for r in rows} == {
        ("toy_qa", frozenset(("good", "bad"))),
        ("toy_qa2", frozenset(("alpha", "beta"))),
    }
    with caplog.at_level("WARNING", logger="evalkit.analysis.compare"):
        named = compare_runs([run_dir], baseline="alpha", n_resamples=200)
    assert {r.task for r in named} == {"toy_qa2"}
    assert "task toy_qa has no model 'alpha'" in caplog.text
