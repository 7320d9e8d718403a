"""The report's payload through `build_payload`'s public output only (on a small replayed run of
three systems with recorded latency and cost): aggregates equal sacrebleu's corpus BLEU and the
exact-match rates, usage rows numpy's median latency and the cost per 1,000 outputs by hand, the
quality/cost frontier the hand-worked one, the metric heatmap scipy's Spearman correlations, and
the samples/outputs columns the run's outputs."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import sacrebleu
from scipy import stats

from evalkit.analysis.bundle import bundle_runs, load_runs
from evalkit.analysis.report_payload import build_payload
from evalkit.config import RunConfig
from evalkit.stages.pipeline import run_evaluation
from tests.conftest import write_jsonl

N = 30
WORDS = ["river", "stone", "cloud", "lamp", "green", "quiet", "north", "paper", "glass", "wind"]
RIGHT = {"base": 20, "good": 26, "bad": 10}  # samples i < RIGHT answered exactly
COST = {"base": 0.001, "good": 0.002, "bad": 0.003}  # USD per output


def _output(ref: str, i: int, right: int) -> str:
    return ref if i < right else " ".join([*ref.split()[:3], "other", "words", str(i)])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("payload")
    rng = random.Random(7)
    refs = [" ".join(rng.choice(WORDS) for _ in range(6)) for _ in range(N)]
    outputs = {s: [_output(r, i, k) for i, r in enumerate(refs)] for s, k in RIGHT.items()}
    latency = {s: [round(rng.uniform(0.1, 2.0), 3) for _ in range(N)] for s in RIGHT}
    task = root / "task"
    write_jsonl(
        task / "data.jsonl", [{"id": f"q{i}", "q": f"q{i}?", "a": r} for i, r in enumerate(refs)]
    )
    write_jsonl(
        task / "outputs.jsonl",
        [
            {
                "id": f"q{i}",
                "system": s,
                "output": outputs[s][i],
                "latency_s": latency[s][i],
                "cost_usd": COST[s],
            }
            for s in RIGHT
            for i in range(N)
        ],
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
    payload = build_payload(bundle_runs(load_runs([root / "run"])))
    return {"refs": refs, "outputs": outputs, "latency": latency, "payload": payload}


def test_aggregates_are_exact_match_rates_and_sacrebleus_bleu(made) -> None:
    payload, refs, outputs = made["payload"], made["refs"], made["outputs"]
    rows = {(a["model"], a["metric"]): a for a in payload["aggregates"]}
    for system, right in RIGHT.items():
        assert rows[(system, "exact_match")]["value"] == pytest.approx(right / N, rel=1e-5)
        bleu = sacrebleu.corpus_bleu(outputs[system], [refs]).score
        assert rows[(system, "bleu")]["value"] == pytest.approx(bleu, rel=1e-5)
        for metric in ("exact_match", "f1", "bleu"):
            row = rows[(system, metric)]
            assert (row["n"], row["nf"]) == (N, 0) and row["lo"] <= row["value"] <= row["hi"]
    assert payload["metrics"]["qa"] == [
        {"name": "exact_match", "higher": True},
        {"name": "f1", "higher": True},
        {"name": "bleu", "higher": True},
    ]


def test_usage_rows_are_median_latency_and_cost_per_thousand(made) -> None:
    usage = {u["model"]: u for u in made["payload"]["usage"]}
    for system in RIGHT:
        row = usage[system]
        assert row["n"] == N
        assert row["lat50"] == pytest.approx(float(np.median(made["latency"][system])), rel=1e-5)
        assert row["lat95"] == pytest.approx(
            float(np.percentile(made["latency"][system], 95)), rel=1e-5
        )
        assert row["cost1k"] == pytest.approx(1000 * COST[system], rel=1e-5)


def test_the_cost_frontier_is_the_hand_worked_one(made) -> None:
    """Exact match by cost per 1,000: base (1.0, 0.67), good (2.0, 0.87), bad (3.0, 0.33):
    bad costs most and scores least, so only base and good are on the frontier."""
    front = made["payload"]["frontiers"]["qa"]["exact_match"]["cost1k"]
    assert sorted(front) == ["base", "good"]


def test_the_heatmap_is_scipys_spearman_over_outputs(made) -> None:
    payload = made["payload"]
    heat = payload["heatmaps"]["qa"]
    assert heat["labels"] == ["bleu", "exact_match", "f1"] and heat["n"] == 3 * N
    outputs = payload["outputs"]
    position = {m["name"]: k for k, m in enumerate(payload["metrics"]["qa"])}
    columns = {name: [v[k] for v in outputs["v"]] for name, k in position.items()}
    for i, a in enumerate(heat["labels"]):
        for j, b in enumerate(heat["labels"]):
            rho = stats.spearmanr(columns[a], columns[b]).statistic
            assert heat["matrix"][i][j] == pytest.approx(rho, abs=1e-3)


def test_samples_are_stored_once_and_outputs_point_at_them(made) -> None:
    payload, outputs = made["payload"], made["outputs"]
    samples, rows = payload["samples"], payload["outputs"]
    assert samples["id"] == [f"q{i}" for i in range(N)]
    assert samples["refs"] == [[r] for r in made["refs"]]
    assert len(rows["t"]) == 3 * N
    for s, m, text in zip(rows["s"], rows["m"], rows["t"], strict=True):
        assert outputs[payload["models"][m]][s] == text
    assert rows["e"] == {} and rows["f"] == {}
