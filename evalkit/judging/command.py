"""`evalkit judge RUN_DIR`: judge an existing run's outputs without generating anything again.

Pointwise rubrics re-score the run's records with the `judge` scorer (`evalkit.judging.pointwise`:
appended per batch, so an interrupted judging keeps every finished batch, and a rerun answers the
rest from the judge cache), then the run's aggregates, judge-reliability panel and report are
rebuilt. Pairwise rubrics compare models on the samples they share, each pair in both orders (or as
a named peer protocol judges them: `evalkit.judges.judge_protocols`), appending typed judgments to
`pairwise.jsonl` per batch so a killed judging resumes (`evalkit.judging.pairwise`), and write win
rates with standard errors and bootstrap CIs, Bradley-Terry ratings and evalkit's simple
length-controlled win rate into run.json (`evalkit.judging.reports`). Verdicts recorded in files
instead of a judge model: `evalkit.judging.recorded`.

This module holds what they share: the configuration, the run read for judging, and rewriting the
judged run (`rewrite_run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.abort import RunAborted
from evalkit.analysis.rundir import open_run
from evalkit.config import CacheConfig, RunConfig
from evalkit.errors import UserError
from evalkit.judges.judge_protocols import ProtocolSpec, protocol_rubric, protocol_spec
from evalkit.judges.pairs import PairJudgment, weighted
from evalkit.judges.rubric import Rubric, load_rubric
from evalkit.stages.aggregate import aggregate_records
from evalkit.stages.metricspec import specs_of_scorers
from evalkit.stages.scoring import ScorerSpec, build_scorers
from evalkit.store.redact import redact
from evalkit.store.run_store import RunStore
from evalkit.types import ComponentInfo, JSONValue, RunRecord, Sample, SampleRecord
from evalkit.validation import first_error

__all__ = [
    "JudgeConfig", "PairJudgment", "RunData", "check_judgments", "judge_run", "load_run_data",
    "resolve_judging", "weighted",
]  # fmt: skip

NO_JUDGE = (
    "no judge model configured: name one, e.g. judge_model=openai judge_model.model=gpt-4o-mini "
    "(OPENAI_API_KEY in the environment), or judge_model=openai "
    "judge_model.base_url=http://127.0.0.1:8000/v1 judge_model.api_key_env=null for a model "
    "served with `evalkit serve`"
)


class PairwiseOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: str | None = Field(
        None, description="The model all others meet; None: the run's first."
    )
    pairs: Literal["baseline", "all"] = Field(
        "baseline", description="baseline: every model vs the baseline; all: every pair."
    )
    inconsistent: Literal["tie", "drop"] = Field(
        "tie", description="A verdict that flips when the order is swapped: a tie, or dropped."
    )


class JudgeConfig(BaseModel):
    """The settings of `evalkit judge` and their defaults (the one place they are given:
    conf/judge.yaml holds only its defaults list, the judge model being a config group)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    judge: str = Field(
        "overall_quality",
        description="A rubric: a name from ./judges or evalkit's judges/ (evalkit list judges), or "
        "a YAML path.",
    )
    protocol: Literal["alpaca_eval", "arena_hard", "mt_bench_single", "mt_bench_pair"] | None = (
        Field(
            None,
            description="A peer's protocol by name (rubric, orders, scale as the peer judges): "
            "alpaca_eval (one order, drawn per pair), arena_hard (both orders, 5-point, >> counts "
            "3), mt_bench_pair, mt_bench_single.",
        )
    )
    judge_model: dict[str, Any] | None = Field(
        None, description="The judge model's spec (backend and its options; conf/judge_model/)."
    )
    panel: list[dict[str, Any]] = Field(
        default_factory=list,
        description="More judge models for a panel (pointwise): model specs like judge_model's.",
    )
    combine: Literal["mean", "majority"] = Field(
        "mean", description="How a panel's scores combine."
    )
    metric: str | None = Field(None, description="The metric's name; None: the rubric's name.")
    tasks: list[str] | None = Field(None, description="Judge only these tasks; None: every task.")
    models: list[str] | None = Field(None, description="Judge only these models' outputs.")
    reask: int = Field(1, ge=0, description="Ask again this often when a verdict cannot be read.")
    logprobs: bool = Field(
        False,
        description="G-Eval probability-weighted scores (set judge_model.logprobs too).",
    )
    max_new_tokens: int = Field(512, ge=1, description="The most tokens a verdict may take.")
    batch_size: int = Field(
        64, ge=1, description="Records (pairwise: pairs) judged and appended per batch."
    )
    pairwise: PairwiseOptions = Field(default_factory=PairwiseOptions)
    seed: int = Field(1234, ge=0, description="Seeds the bootstraps and shown orders.")
    progress: bool = True
    ratings: str | None = Field(
        None,
        description="People's ratings from `evalkit studio` (its .sqlite or the run dir): "
        "judge-vs-human agreement.",
    )
    recorded: str | list[str] | None = Field(
        None,
        description="Recorded verdicts instead of a judge model (pairwise rubrics): a file or a "
        "list of files.",
    )
    recorded_format: Literal["alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit"] = Field(
        "evalkit", description="The recorded verdicts' format (see `evalkit judgments stats`)."
    )
    cache: CacheConfig = Field(
        default_factory=CacheConfig, description="The response cache the judge's answers go to."
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgeConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"judge config: {first_error(exc)}") from None

    def judge_specs(self) -> list[dict[str, Any]]:
        model = self.judge_model
        if not model or model.get("backend") in (None, "none"):
            if not self.panel:
                raise UserError(NO_JUDGE)
            return list(self.panel)
        return [model, *self.panel]


@dataclass
class RunData:
    store: RunStore
    record: RunRecord
    config: RunConfig
    records: list[SampleRecord]
    samples: dict[str, dict[str, Sample]] = field(default_factory=dict)


def load_run_data(run_dir: Path, cfg: JudgeConfig) -> RunData:
    stored = open_run(run_dir)
    record = stored.record
    config = RunConfig.from_dict(record.config)
    samples = stored.task_samples()
    records = [
        r
        for r in stored.stored_records
        if (cfg.tasks is None or r.task in cfg.tasks)
        and (cfg.models is None or r.model in cfg.models)
    ]
    if not records:
        raise UserError(f"{run_dir}: no records match tasks={cfg.tasks} models={cfg.models}")
    return RunData(stored.store, record, config, records, samples)


def resolve_judging(cfg: JudgeConfig) -> tuple[JudgeConfig, ProtocolSpec, Rubric]:
    """The config with the rubric a protocol judges with, the protocol's spec (without one:
    evalkit's own, both orders, on the rubric's verdict scale) and the rubric. Raises UserError
    for a rubric that does not fit the protocol (its mode or its verdict scale)."""
    spec = ProtocolSpec("", "pairwise")  # evalkit's own: both orders, A / B / tie
    if cfg.protocol is not None:
        spec = protocol_spec(cfg.protocol)
        cfg = cfg.model_copy(update={"judge": protocol_rubric(cfg.protocol, cfg.judge)})
    rubric = load_rubric(cfg.judge)
    if cfg.protocol is not None and rubric.mode != spec.mode:
        raise UserError(f"protocol {cfg.protocol} judges {spec.mode}: rubric '{cfg.judge}' is not")
    if rubric.mode == "pairwise" and cfg.protocol is None:
        spec = ProtocolSpec("", "pairwise", scale=rubric.verdicts)  # the rubric's scale reads it
    elif rubric.mode == "pairwise" and rubric.verdicts != spec.scale:
        raise UserError(
            f"protocol {cfg.protocol} reads {spec.scale}-way verdicts: rubric '{cfg.judge}' asks "
            f"for {rubric.verdicts} (verdicts: {rubric.verdicts})"
        )
    return cfg, spec, rubric


def judge_run(run_dir: Path, cfg: JudgeConfig) -> RunRecord:
    """Judge a run and store the judged run. Raises UserError (see `resolve_judging`), and
    RunAborted (exit 3) when every judgment failed, after storing them."""
    cfg, spec, rubric = resolve_judging(cfg)
    data = load_run_data(run_dir, cfg)
    if cfg.recorded is not None:
        from evalkit.judging.recorded import judge_recorded

        return judge_recorded(data, rubric, cfg)
    if rubric.mode == "pairwise":
        from evalkit.judging.pairwise import judge_pairwise

        return judge_pairwise(data, rubric, cfg, spec)
    from evalkit.judging.pointwise import judge_pointwise

    return judge_pointwise(data, rubric, cfg)


def check_judgments(failures: list[str], total: int) -> None:
    """Raise RunAborted (exit 3) when all `total` judgments failed; `failures` holds the reason
    of each failed one (the first is quoted, credentials redacted)."""
    if total and len(failures) == total:
        first = redact(failures[0])
        raise RunAborted(f"every judgment failed ({total} of {total}; first error: {first})")


def rewrite_run(
    data: RunData,
    latest: list[SampleRecord],
    task_scorers: dict[str, list[ScorerSpec]],
    scorer: Any,
    reports: list[dict[str, JSONValue]],
    pairwise: dict[str, JSONValue] | None = None,
) -> RunRecord:
    """Store the judged run: aggregates from the latest records, the scorers each task was
    scored with, the judge reports (replacing same task/kind/rubric/judge ones, and for a
    pairwise judging every earlier pairwise report of its tasks) and the pairwise tables; then
    its report."""
    from evalkit.report.page import render_report

    scorers_by_task = {task: build_scorers(specs) for task, specs in task_scorers.items()}
    aggregates = aggregate_records(latest, scorers_by_task, data.config)
    components = {(c.name, c.signature): c for c in data.record.scorers}
    if scorer is not None:
        components[(scorer.name, scorer.signature())] = ComponentInfo(
            name=scorer.name, signature=scorer.signature()
        )
    replaced = {(n.get("task"), n.get("kind"), n.get("rubric"), n.get("judge")) for n in reports}
    # pairwise.jsonl holds one pairwise judging per task: an older one's panel would describe
    # judgments no longer in the run
    rejudged = {n.get("task") for n in reports if n.get("kind") == "pairwise"}
    keep = [
        r
        for r in data.record.judge_reports
        if (r.get("task"), r.get("kind"), r.get("rubric"), r.get("judge")) not in replaced
        and not (r.get("kind") == "pairwise" and r.get("task") in rejudged)
    ]
    record = data.record.model_copy(
        update={
            "aggregates": aggregates,
            "task_scorers": task_scorers,
            "metric_specs": {
                task: specs_of_scorers(task_scorers[task], scorers)
                for task, scorers in scorers_by_task.items()
            },
            "scorers": list(components.values()),
            "judge_reports": keep + reports,
            "pairwise": {**data.record.pairwise, **(pairwise or {})},
        }
    )
    data.store.write_run(record)
    data.store.write_report(
        render_report(record, latest, label=data.store.run_dir.name, run_dir=data.store.run_dir)
    )
    return record
