"""Metric specifications stored in run.json: the corpus formulas and the aggregation from specs
equal each scorer's own, and compare / gate / report read the specs instead of building scorers
(so they run where torch cannot be imported)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from evalkit.analysis.bundle import bundle_runs, load_runs
from evalkit.analysis.compare import compare_runs
from evalkit.analysis.gate import GateConfig, run_gate, snapshot_of_run
from evalkit.analysis.report_comparisons import baseline_comparisons, summary_tables, task_baselines
from evalkit.scorers.corpus import BLEU, TER, ChrF
from evalkit.stages.metricspec import (
    MetricTable,
    aggregate_scores,
    formula_statistic,
    specs_of_scorers,
)
from evalkit.stages.scoring import ScoringItem, build_scorers
from evalkit.store.run_store import RunStore
from evalkit.types import CorpusFormula
from tests.conftest import cli_in_process

HYPS = ["the cat sat on the mat", "a dog", "", "hello there world", "Das ist gut.", "x y z w"]
REFS = [
    ["the cat is on the mat"],
    ["a dog ran in the park", "the dog"],
    ["nothing"],
    ["hello world"],
    ["Das ist sehr gut."],
    ["a b c d"],
]

CORPUS_SCORERS = [
    BLEU(),
    BLEU(smooth_method="floor", smooth_value=0.2, max_ngram_order=3),
    BLEU(smooth_method="add-k", effective_order=True),
    BLEU(smooth_method="none", lowercase=True),
    ChrF(),
    ChrF(word_order=2),
    ChrF(beta=1, eps_smoothing=True, char_order=4),
    TER(),
    TER(normalized=True, case_sensitive=True),
]


@pytest.mark.parametrize("scorer", CORPUS_SCORERS, ids=lambda s: s.signature())
def test_a_stored_formula_is_the_scorers_corpus_value(scorer):
    """Summed statistics of random resamples: the formula rebuilt from the stored spec gives the
    scorer's corpus_value bit for bit, and the aggregate from the spec equals its aggregate."""
    (spec,) = specs_of_scorers([(scorer.name, {})], [scorer])
    assert spec.aggregation == "corpus" and spec.formula is not None
    stored = CorpusFormula.model_validate_json(spec.formula.model_dump_json())
    formula = formula_statistic(stored)
    items = [ScoringItem(h, tuple(r), None) for h, r in zip(HYPS, REFS, strict=True)]
    scores = [s[0] for s in scorer.score(items)]
    rows = np.array([s.statistics for s in scores if s.status == "ok"], dtype=np.float64)
    rng = np.random.default_rng(0)
    for _ in range(50):
        summed = rows[rng.integers(0, len(rows), len(rows))].sum(axis=0)
        assert formula(summed) == scorer.corpus_value(summed)
    kwargs = {"task": "t", "model": "m", "seed": 7, "n_resamples": 200}
    metric = scorer.metrics[0]
    assert aggregate_scores(spec, scores, **kwargs) == scorer.aggregate(metric, scores, **kwargs)
    assert spec.higher_is_better is (scorer.name != "ter")


def test_mean_metrics_aggregate_as_their_scorers_with_failures_counted():
    scorers = build_scorers([("exact_match", {}), ("f1", {})])
    specs = specs_of_scorers([("exact_match", {}), ("f1", {})], scorers)
    assert [s.aggregation for s in specs] == ["mean", "mean"]
    items = [ScoringItem(h, tuple(r), None) for h, r in zip(HYPS, REFS, strict=True)]
    items.append(ScoringItem("no refs", (), None))  # unscorable: counted as failed
    kwargs = {"task": "t", "model": "m", "seed": 3, "n_resamples": 300}
    for scorer in scorers:
        by_metric = {m: [s for row in scorer.score(items) for s in row if s.name == m]
                     for m in scorer.metrics}  # fmt: skip
        for spec in (s for s in specs if s.metric in by_metric):
            mine = aggregate_scores(spec, by_metric[spec.metric], **kwargs)
            assert mine == scorer.aggregate(spec.metric, by_metric[spec.metric], **kwargs)
            assert mine.n_failed == 1


def test_an_unknown_formula_is_a_user_error():
    from evalkit.errors import UserError

    with pytest.raises(UserError, match=r"unknown corpus formula 'sacrebleu\.blue'"):
        formula_statistic(CorpusFormula(name="sacrebleu.blue"))


# ---- the demo suite, through specs and through rebuilt scorers -----------------------------


@dataclass(frozen=True)
class DemoRuns:
    run: Path  # written by this evalkit: run.json has metric_specs
    legacy: Path  # the same run without metric_specs, as written before they were stored
    baseline: Path  # the same records with the systems' names rotated: real differences


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRuns:
    root = tmp_path_factory.mktemp("demo")
    out = cli_in_process(
        "run", "limit=2", f"run_dir={root / 'run'}", "progress=false", "scoring.workers=0",
        "report.enabled=false", cwd=root, env={"EVALKIT_CACHE_DIR": str(root / "cache")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    legacy = root / "legacy" / "run"  # the same name: the report labels a run by it
    shutil.copytree(root / "run", legacy)
    record = json.loads((legacy / "run.json").read_text())
    del record["metric_specs"]
    (legacy / "run.json").write_text(json.dumps(record))
    baseline = root / "baseline"
    shutil.copytree(root / "run", baseline)
    rows = [json.loads(line) for line in (baseline / "samples.jsonl").read_text().splitlines()]
    for task in {r["task"] for r in rows}:
        models = sorted({r["model"] for r in rows if r["task"] == task})
        rotate = dict(zip(models, models[1:] + models[:1], strict=True))
        for r in rows:
            if r["task"] == task:
                r["model"] = rotate[r["model"]]
    (baseline / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return DemoRuns(root / "run", legacy, baseline)


def test_run_json_stores_a_spec_for_every_aggregated_metric(demo):
    run = RunStore(demo.run).read_run()
    assert set(run.metric_specs) == {"summeval", "wmt17_en_de"}
    table = MetricTable.of_runs([run])
    assert not table.live  # read from run.json: no scorer was built
    specs = {(t, m): table.spec(t, m) for t in table.specs for m in table.metrics(t)}
    assert {(a.task, a.metric) for a in run.aggregates} == set(specs)
    wmt = run.metric_specs["wmt17_en_de"]
    assert [(s.metric, s.formula and s.formula.name) for s in wmt] == [
        ("bleu", "sacrebleu.bleu"), ("chrf", "sacrebleu.chrf"), ("ter", "sacrebleu.ter"),
    ]  # fmt: skip
    assert wmt[0].formula.options == {
        "max_ngram_order": 4, "smooth_method": "exp", "smooth_value": None,
        "effective_order": False,
    }  # fmt: skip
    assert [s.higher_is_better for s in wmt] == [True, True, False]
    summeval = {s.metric: s for s in run.metric_specs["summeval"]}
    assert summeval["embedding_sim"].counts_truncated and summeval["dj_coherence"].scorer == (
        "distilled_judge"
    )


def test_aggregates_from_specs_are_the_scorers_aggregates(demo):
    """Every aggregate in run.json (made by the scorers' own `aggregate`) again from the stored
    records and specs alone: the same value, CI, counts and n_truncated."""
    store = RunStore(demo.run)
    run = store.read_run()
    table = MetricTable.of_runs([run])
    records = sorted(store.latest_records(), key=lambda r: r.index)
    seed, b = run.seed, run.config["scoring"]["bootstrap_resamples"]
    for a in run.aggregates:
        scores = [
            s for r in records if (r.task, r.model) == (a.task, a.model)
            for s in r.scores if s.name == a.metric
        ]  # fmt: skip
        assert table.aggregate(a.task, a.model, a.metric, scores, seed=seed, n_resamples=b) == a


def test_compare_gate_and_report_through_specs_equal_the_scorer_path(demo, monkeypatch):
    """The legacy copy has no specs: its readers rebuild the scorers (embedding, the distilled
    judge, sacrebleu) and use their corpus_value, as every reader did before specs were stored."""
    import evalkit.stages.scoring

    built: dict[str, list] = {}  # each task's scorers loaded once for the legacy readers below

    def build_once(specs):
        key = json.dumps(specs, sort_keys=True)
        return built.setdefault(key, build_scorers(specs))

    monkeypatch.setattr(evalkit.stages.scoring, "build_scorers", build_once)
    assert MetricTable.of_runs([RunStore(demo.legacy).read_run()]).live  # the old path
    records = RunStore(demo.run).latest_records()
    firsts = list(dict.fromkeys(next(r.model for r in records if r.task == t)
                                for t in ("summeval", "wmt17_en_de")))  # fmt: skip
    compared = set()
    for test, baseline in [("bootstrap", firsts[0]), ("bootstrap", firsts[1]), ("ar", firsts[1])]:
        mine = compare_runs([demo.run], baseline=baseline, test=test, n_resamples=300)
        old = compare_runs([demo.legacy], baseline=baseline, test=test, n_resamples=300)
        assert [r.to_dict() for r in mine] == [r.to_dict() for r in old]
        compared |= {r.metric for r in mine}
    assert compared >= {"bleu", "ter", "chrf", "embedding_sim", "dj_relevance", "rouge1"}
    config = GateConfig(n_resamples=300)
    base = snapshot_of_run(demo.baseline)
    checks = run_gate(base, snapshot_of_run(demo.run), config)
    assert checks == run_gate(base, snapshot_of_run(demo.legacy), config)
    assert {c.metric for c in checks} >= {"bleu", "ter", "embedding_sim", "dj_relevance"}
    assert {c.test for c in checks if c.metric == "bleu"} <= {"bootstrap", "exact_ar"}
    # the report's paired statistics: the summary's ties with the best, and the Compare tab
    # against each task's first model (every other baseline is the same code on other pairs)
    views = []
    for run in (demo.run, demo.legacy):
        bundle = bundle_runs(load_runs([run]))
        baselines = task_baselines(bundle, bundle.models[0])
        views.append(
            (summary_tables(bundle, n_resamples=200),
             baseline_comparisons(bundle, baselines, n_resamples=200))
        )  # fmt: skip
    assert views[0] == views[1]
    assert {r["metric"] for r in views[0][1]} >= {"bleu", "embedding_sim", "dj_relevance"}


# ---- a process where torch cannot be imported ----------------------------------------------

NO_TORCH = """
import importlib.abc, sys
BLOCKED = {"torch", "sentence_transformers", "transformers"}
class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked)", name=name)
        return None
sys.meta_path.insert(0, _NoTorch())
"""


def no_torch_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a process where torch, sentence-transformers and transformers cannot
    be imported (a sitecustomize under `tmp_path`/shim installs NO_TORCH's finder)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_TORCH)
    path = os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}


def test_report_compare_gate_and_leaderboard_need_no_torch(demo, tmp_path):
    env = no_torch_env(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              timeout=300, env=env, cwd=tmp_path)  # fmt: skip

    blocked = run("-c", "import torch")
    assert blocked.returncode == 1 and "blocked" in blocked.stderr  # the shim is in effect
    compared = run("-m", "evalkit", "compare", str(demo.run), "--json", "--resamples", "300")
    assert compared.returncode == 0, compared.stderr
    expected = [r.to_dict() for r in compare_runs([demo.run], n_resamples=300)]
    assert json.loads(compared.stdout) == json.loads(json.dumps(expected))
    gated = run("-m", "evalkit", "gate", str(demo.run), "--baseline", str(demo.run),
                "--junit", str(tmp_path / "gate.xml"))  # fmt: skip
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "## evalkit gate: passed" in gated.stdout and "| ok | wmt17_en_de |" in gated.stdout
    page = tmp_path / "report.html"
    reported = run("-m", "evalkit", "report", str(demo.run), "-o", str(page))
    assert reported.returncode == 0, reported.stderr
    assert "embedding_sim" in page.read_text() and "dj_relevance" in page.read_text()
    board = run("-m", "evalkit", "leaderboard", str(demo.run), "-o", str(tmp_path / "lb"))
    assert board.returncode == 0, board.stderr
    assert (tmp_path / "lb" / "leaderboard.json").is_file()
    saved = run("-m", "evalkit", "baseline", "save", str(demo.baseline), "-o",
                str(tmp_path / "base.json.gz"))  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    saved_file = str(tmp_path / "base.json.gz")
    gated = run("-m", "evalkit", "gate", str(demo.run), "--baseline", saved_file)
    assert gated.returncode in (0, 1), gated.stderr  # a decision, not an error
    assert "Traceback" not in gated.stderr


def test_a_resumed_run_keeps_or_gains_its_specs(tmp_path):
    """Resuming a run (same run_dir, same config) keeps its specs; one begun before specs were
    stored gets them from its scorers, and its aggregates do not change."""
    import contextlib
    import io

    from evalkit.app.cli import main
    from tests.conftest import write_jsonl

    root = tmp_path / "task"
    write_jsonl(root / "data.jsonl", [{"id": f"s{i}", "input": f"q{i}", "ref": f"r {i}"}
                                      for i in range(5)])  # fmt: skip
    (root / "task.yaml").write_text(
        "name: t\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: input, references: ref}\n"
        "scorers: {exact_match: {}, bleu: {smooth_method: floor}}\n",
        encoding="utf-8",
    )
    outputs = [{"id": f"s{i}", "system": "m", "output": f"r {i % 3}"} for i in range(5)]
    replay = write_jsonl(tmp_path / "replay.jsonl", outputs)
    args = ["run", f"tasks=[{root}]", "model=replay", f"model.path={replay}",
            f"run_dir={tmp_path / 'run'}", "progress=false", "report.enabled=false"]  # fmt: skip
    store = RunStore(tmp_path / "run")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(args)
        first = store.read_run()
        assert [s.metric for s in first.metric_specs["t"]] == ["exact_match", "bleu"]
        assert first.metric_specs["t"][1].formula.options["smooth_method"] == "floor"
        store.write_run(first.model_copy(update={"metric_specs": {}, "status": "running"}))
        main(args)
    again = store.read_run()
    assert again.metric_specs == first.metric_specs and again.aggregates == first.aggregates
