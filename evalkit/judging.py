"""`evalkit judge RUN_DIR`: judge an existing run's outputs without generating anything again.

Pointwise rubrics add their scores to the run's records (appended per batch, so an interrupted
judging keeps every finished batch, and a rerun answers the rest from the judge cache), then the
run's aggregates, judge-reliability panel and report are rebuilt. Pairwise rubrics compare models
on the samples they share, each pair in both orders (or as a named peer protocol judges them:
`evalkit.judge_protocols`), and write `pairwise.jsonl` plus win rates with standard errors and
bootstrap CIs, Bradley-Terry ratings and evalkit's simple length-controlled win rate into run.json.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.aggregate import aggregate_records
from evalkit.agreement import cohen_kappa
from evalkit.atomicio import atomic_write_text
from evalkit.config import CacheConfig, RunConfig
from evalkit.errors import UserError
from evalkit.judge_protocols import (
    ProtocolSpec,
    battles,
    first_shown_as_a,
    protocol_rubric,
    protocol_spec,
    read_verdict,
    winner_shown,
)
from evalkit.judge_reliability import _rounded, pointwise_report, self_preference, usage_figures
from evalkit.judges.parse import Verdict
from evalkit.judges.preference import logprob_preference
from evalkit.judges.rubric import Rubric, load_rubric
from evalkit.metricspec import specs_of_scorers
from evalkit.pairwise_stats import (
    Comparison,
    bradley_terry,
    length_controlled_win_rate,
    standard_error,
    win_rate,
)
from evalkit.progress import ProgressReporter
from evalkit.protocols import Scorer
from evalkit.scorers.judge import Judge, JudgeScorer, build_judge_backend, usage_details
from evalkit.scoring import ScorerSpec, ScoringItem, build_scorers, sample_source, score_items
from evalkit.store import RunStore
from evalkit.tasks import load_tasks
from evalkit.types import ComponentInfo, Generation, JSONValue, RunRecord, Sample, SampleRecord
from evalkit.validation import first_error

logger = logging.getLogger(__name__)

NO_JUDGE = (
    "no judge model configured: name one, e.g. judge_model=openai judge_model.model=gpt-4o-mini "
    "(OPENAI_API_KEY in the environment), or judge_model=openai "
    "judge_model.base_url=http://127.0.0.1:8000/v1 judge_model.api_key_env=null for a model "
    "served with `evalkit serve`"
)


class PairwiseOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: str | None = None  # default: the run's first model
    pairs: Literal["baseline", "all"] = "baseline"
    inconsistent: Literal["tie", "drop"] = "tie"


class JudgeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    judge: str = "overall_quality"
    protocol: Literal["alpaca_eval", "arena_hard", "mt_bench_single", "mt_bench_pair"] | None = None
    judge_model: dict[str, Any] | None = None
    panel: list[dict[str, Any]] = Field(default_factory=list)
    combine: Literal["mean", "majority"] = "mean"
    metric: str | None = None
    tasks: list[str] | None = None
    models: list[str] | None = None
    reask: int = Field(1, ge=0)
    logprobs: bool = False
    max_new_tokens: int = Field(512, ge=1)
    batch_size: int = Field(64, ge=1)
    pairwise: PairwiseOptions = Field(default_factory=PairwiseOptions)
    seed: int = 1234
    progress: bool = True
    ratings: str | None = None  # people's ratings (evalkit studio) for judge-vs-human agreement
    recorded: str | list[str] | None = None  # verdict files instead of a judge model
    recorded_format: Literal["alpaca_eval", "mt_bench", "arena_hard", "evalkit"] = "evalkit"
    cache: CacheConfig = Field(default_factory=CacheConfig)

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


def run_samples(record: RunRecord) -> dict[str, dict[str, Sample]]:
    """task -> sample id -> Sample, for a finished run's tasks, as long as their data is unchanged
    (a scorer of the run's outputs must see the inputs the outputs were made from)."""
    samples: dict[str, dict[str, Sample]] = {}
    for task in [
        t for ref in RunConfig.from_dict(record.config).task_refs for t in load_tasks(ref)
    ]:
        expected = record.task_data_hashes.get(task.name)
        if expected and task.data_hash() != expected:
            raise UserError(f"task '{task.name}': its data changed since the run; judge a new run")
        samples[task.name] = {s.id: s for s in task.samples()}
    return samples


def load_run_data(run_dir: Path, cfg: JudgeConfig) -> RunData:
    store = RunStore(run_dir)
    if not store.exists():
        raise UserError(f"{run_dir}: not a run directory (no run.json)")
    record = store.read_run()
    config = RunConfig.from_dict(record.config)
    samples = run_samples(record)
    records = [
        r
        for r in store.latest_records()
        if (cfg.tasks is None or r.task in cfg.tasks)
        and (cfg.models is None or r.model in cfg.models)
    ]
    if not records:
        raise UserError(f"{run_dir}: no records match tasks={cfg.tasks} models={cfg.models}")
    return RunData(store, record, config, records, samples)


def judge_run(run_dir: Path, cfg: JudgeConfig) -> RunRecord:
    spec = ProtocolSpec("", "pairwise")  # evalkit's own: both orders, A / B / tie
    if cfg.protocol is not None:
        spec = protocol_spec(cfg.protocol)
        cfg = cfg.model_copy(update={"judge": protocol_rubric(cfg.protocol, cfg.judge)})
    rubric = load_rubric(cfg.judge)
    if cfg.protocol is not None and rubric.mode != spec.mode:
        raise UserError(f"protocol {cfg.protocol} judges {spec.mode}: rubric '{cfg.judge}' is not")
    data = load_run_data(run_dir, cfg)
    if cfg.recorded is not None:
        from evalkit.judging_recorded import judge_recorded

        return judge_recorded(data, rubric, cfg)
    if rubric.mode == "pairwise":
        return _pairwise(data, rubric, cfg, spec)
    return _pointwise(data, rubric, cfg)


# ---- pointwise -----------------------------------------------------------------------------


def _scorer_options(rubric: Rubric, cfg: JudgeConfig) -> dict[str, Any]:
    specs = cfg.judge_specs()
    options: dict[str, Any] = {
        "rubric": cfg.judge,
        "metric": cfg.metric or rubric.name,
        "reask": cfg.reask,
        "logprobs": cfg.logprobs,
        "max_new_tokens": cfg.max_new_tokens,
        "cache": cfg.cache.enabled,
        "cache_path": cfg.cache.path,
    }
    if len(specs) == 1:
        options["model"] = specs[0]
    else:
        options["models"] = specs
        options["combine"] = cfg.combine
    return options


def _pointwise(data: RunData, rubric: Rubric, cfg: JudgeConfig) -> RunRecord:
    options = _scorer_options(rubric, cfg)
    scorer = JudgeScorer(**options)
    data.store.open_log()
    try:
        with ProgressReporter(len(data.records), enabled=cfg.progress, label="judging") as bar:
            for start in range(0, len(data.records), cfg.batch_size):
                batch = data.records[start : start + cfg.batch_size]
                items = [_item(r, data.samples) for r in batch]
                scores = score_items([cast(Scorer, scorer)], items)
                data.store.append(
                    r.model_copy(
                        update={
                            "scores": [s for s in r.scores if s.name not in scorer.metrics] + new
                        }
                    )
                    for r, new in zip(batch, scores, strict=True)
                )
                bar.advance(len(batch))
    finally:
        data.store.close()
        scorer.close()
    judged_tasks = sorted({r.task for r in data.records})
    task_scorers = dict(data.record.task_scorers)
    for task in judged_tasks:
        kept = [
            (name, opts)
            for name, opts in task_scorers.get(task, [])
            if not (name == "judge" and opts.get("metric") == options["metric"])
        ]
        task_scorers[task] = [*kept, ("judge", options)]
    latest = data.store.latest_records()
    reports = _pointwise_reports(rubric, scorer, latest, judged_tasks, cfg.ratings)
    return _rewrite_run(data, latest, task_scorers, scorer, reports)


def _item(record: SampleRecord, samples: dict[str, dict[str, Sample]]) -> ScoringItem:
    sample = samples[record.task].get(record.sample_id)
    if sample is None:
        raise UserError(f"task '{record.task}' has no sample '{record.sample_id}' any more")
    return ScoringItem(
        record.generation.text,
        tuple(sample.references),
        record.generation.error,
        sample_source(sample),
    )


def _pointwise_reports(
    rubric: Rubric,
    scorer: JudgeScorer,
    latest: Sequence[SampleRecord],
    tasks: Sequence[str],
    ratings: str | None = None,
) -> list[dict[str, JSONValue]]:
    human: dict[str, Any] = {}
    if ratings is not None:
        from evalkit.studio.human_labels import studio_human

        human = studio_human(Path(ratings), rubric.name)
    reports = []
    judge_names = [str(s.get("name")) for s in scorer.specs]
    metrics = [scorer.metric] if len(judge_names) == 1 else list(scorer.metrics[1:])
    for task in tasks:
        for judge, metric in zip(judge_names, metrics, strict=True):
            pairs = [
                (r, s)
                for r in latest
                if r.task == task
                for s in r.scores
                if s.name == metric and s.status != "unscorable"
            ]
            if pairs:
                report = pointwise_report(
                    rubric.signature,
                    human.get("dimension", rubric.human),
                    judge,
                    metric,
                    pairs,
                    **{k: v for k, v in human.items() if k != "dimension"},
                )
                reports.append({"task": task, **report})
    if len(judge_names) > 1:
        reports += _panel_agreement(latest, tasks, metrics)
    return reports


def _panel_agreement(
    latest: Sequence[SampleRecord], tasks: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, JSONValue]]:
    from evalkit.agreement import krippendorff_alpha

    out: list[dict[str, JSONValue]] = []
    for task in tasks:
        table: list[list[float | None]] = [[] for _ in metrics]
        for r in latest:
            if r.task != task:
                continue
            by_name = {s.name: s for s in r.scores}
            for row, metric in zip(table, metrics, strict=True):
                s = by_name.get(metric)
                row.append(s.value if s is not None and s.status == "ok" else None)
        kappas: dict[str, JSONValue] = {}
        for (i, a), (j, b) in itertools.combinations(enumerate(metrics), 2):
            both = [
                (x, y)
                for x, y in zip(table[i], table[j], strict=True)
                if x is not None and y is not None
            ]
            if both:
                kappas[f"{a} vs {b}"] = _rounded(
                    cohen_kappa([x for x, _ in both], [y for _, y in both])
                )
        out.append(
            {
                "task": task,
                "kind": "panel",
                "judges": list(metrics),
                "krippendorff_alpha_interval": _rounded(krippendorff_alpha(table)),
                "cohen_kappa": kappas,
            }
        )
    return out


def _rewrite_run(
    data: RunData,
    latest: list[SampleRecord],
    task_scorers: dict[str, list[ScorerSpec]],
    scorer: Any,
    reports: list[dict[str, JSONValue]],
    pairwise: dict[str, JSONValue] | None = None,
) -> RunRecord:
    from evalkit.report.page import render_report

    scorers_by_task = {task: build_scorers(specs) for task, specs in task_scorers.items()}
    aggregates = aggregate_records(latest, scorers_by_task, data.config)
    components = {(c.name, c.signature): c for c in data.record.scorers}
    if scorer is not None:
        components[(scorer.name, scorer.signature())] = ComponentInfo(
            name=scorer.name, signature=scorer.signature()
        )
    keep = [
        r
        for r in data.record.judge_reports
        if (r.get("task"), r.get("kind"), r.get("rubric"), r.get("judge"))
        not in {(n.get("task"), n.get("kind"), n.get("rubric"), n.get("judge")) for n in reports}
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
    data.store.write_report(render_report(record, latest, label=data.store.run_dir.name))
    return record


# ---- pairwise ------------------------------------------------------------------------------


def _outcome(verdict: str, first_is_a: bool) -> float:
    if verdict == "tie":
        return 0.5
    return 1.0 if (verdict == "A") == first_is_a else 0.0


PairJob = tuple[str, str, str]  # sample id, first model, second model


def _pairwise_jobs(
    data: RunData, cfg: JudgeConfig
) -> list[tuple[str, dict[str, dict[str, SampleRecord]], list[str], str, list[PairJob]]]:
    """Per task: its outputs by sample and model, its models, the baseline and the pairs to
    judge (outputs that failed to generate are not judged)."""
    by_task: dict[str, dict[str, dict[str, SampleRecord]]] = defaultdict(lambda: defaultdict(dict))
    for r in data.records:
        by_task[r.task][r.sample_id][r.model] = r
    out = []
    for task, per_sample in by_task.items():
        models = list(dict.fromkeys(m for ms in per_sample.values() for m in ms))
        baseline = cfg.pairwise.baseline or models[0]
        if baseline not in models:
            raise UserError(f"baseline '{baseline}' is not a model of task '{task}': {models}")
        pairs = (
            [(m, baseline) for m in models if m != baseline]
            if cfg.pairwise.pairs == "baseline"
            else list(itertools.combinations(models, 2))
        )
        jobs = [
            (sample_id, first, second)
            for sample_id, outputs in per_sample.items()
            for first, second in pairs
            if first in outputs
            and second in outputs
            and not outputs[first].generation.error
            and not outputs[second].generation.error
        ]
        out.append((task, per_sample, models, baseline, jobs))
    return out


def _pairwise(data: RunData, rubric: Rubric, cfg: JudgeConfig, spec: ProtocolSpec) -> RunRecord:
    specs = cfg.judge_specs()
    if len(specs) > 1:
        raise UserError("pairwise judging takes one judge model (no panel)")
    from evalkit.cache import ResponseCache

    if cfg.logprobs and spec.scale != "three":
        raise UserError(
            f"logprobs=true weighs three-way verdicts (A, B, tie); protocol={cfg.protocol} "
            "judges on a five-point scale"
        )
    cache = ResponseCache(Path(cfg.cache.path)) if cfg.cache.enabled else None
    judge = Judge(
        rubric, build_judge_backend(specs[0]), reask=cfg.reask,
        max_new_tokens=cfg.max_new_tokens, logprobs=cfg.logprobs, cache=cache,
        reader=lambda generation: read_verdict(spec.scale, generation.text),
    )  # fmt: skip
    results: dict[str, list[PairJudgment]] = {}
    try:
        for task, per_sample, _, _, jobs in _pairwise_jobs(data, cfg):
            results[task] = _judge_pairs(
                judge, rubric, jobs, per_sample, data.samples[task], cfg, (task, spec)
            )
    finally:
        close = getattr(judge.backend, "close", None)
        if callable(close):
            close()
        if cache is not None:
            cache.close()
    if cfg.logprobs:
        _note_unweighted([j for judged in results.values() for j in judged])
    return finish_pairwise(data, rubric, cfg, judge.name, results)


def _note_unweighted(judged: Sequence[PairJudgment]) -> None:
    read = [j for j in judged if j.outcome is not None]
    unweighted = [j for j in read if j.verdict_outcome is None]
    partly = sum(any(p is not None for p in j.preferences) for j in unweighted)
    if len(unweighted) > partly:
        logger.warning(
            "logprobs=true: %d of %d pairs had no verdict logprobs (set judge_model.logprobs=true "
            "and judge_model.top_logprobs=5 for an endpoint that returns them); they count by "
            "their labels",
            len(unweighted) - partly,
            len(read),
        )
    if partly:
        logger.warning(
            "logprobs=true: %d of %d pairs had verdict logprobs in only one of the orders asked; "
            "they count by their labels (pairwise.jsonl keeps the preference read)",
            partly,
            len(read),
        )


def finish_pairwise(
    data: RunData,
    rubric: Rubric,
    cfg: JudgeConfig,
    judge: str,
    results: dict[str, list[PairJudgment]],
) -> RunRecord:
    """Write `pairwise.jsonl`, the win-rate tables and the reliability panels into the run."""
    lines: list[str] = []
    summary: dict[str, JSONValue] = {}
    reports: list[dict[str, JSONValue]] = []
    for task, _, models, baseline, _ in _pairwise_jobs(data, cfg):
        judged = results.get(task, [])
        lines += [_json_line(task, j) for j in judged]
        summary[task] = _summarize(judged, models, baseline, cfg)
        reports.append({"task": task, **_pairwise_report(rubric, judge, judged, models)})
    atomic_write_text(data.store.run_dir / "pairwise.jsonl", "".join(lines))
    latest = data.store.latest_records()
    return _rewrite_run(
        data, latest, dict(data.record.task_scorers), None, reports,
        {"rubric": rubric.signature, "judge": judge, "protocol": cfg.protocol, "tasks": summary},
    )  # fmt: skip


@dataclass
class PairJudgment:
    sample: str
    first: str
    second: str
    verdicts: tuple[str | None, str | None]  # first shown as A, then first shown as B
    reasons: tuple[str | None, str | None]
    outcome: float | None  # None: a parse failure, or an inconsistency dropped
    consistent: bool | None
    lengths: tuple[int, int]
    replies: list[Generation]
    human: float | None  # the outcome people's ratings imply, when the outputs carry them
    battles: list[float] = field(default_factory=list)  # what the win rate averages
    # with logprobs=true: P(first wins) read from the verdict token's alternatives, per order
    preferences: tuple[float | None, float | None] = (None, None)
    verdict_outcome: float | None = None  # the labels' outcome when preferences replaced it

    @property
    def label_outcome(self) -> float | None:
        """The outcome the verdict labels give (the reliability panel's bias figures)."""
        return self.verdict_outcome if self.verdict_outcome is not None else self.outcome


def _judge_pairs(
    judge: Judge,
    rubric: Rubric,
    jobs: Sequence[tuple[str, str, str]],
    per_sample: dict[str, dict[str, SampleRecord]],
    samples: dict[str, Sample],
    cfg: JudgeConfig,
    protocol: tuple[str, ProtocolSpec],
) -> list[PairJudgment]:
    """Each job in both orders (first shown as A, then as B), or in one order drawn by the
    protocol's seeded coin; a slot not asked stays None."""
    task, spec = protocol
    out: list[PairJudgment] = []
    per_job = 2 if spec.orders == "both" else 1
    with ProgressReporter(per_job * len(jobs), enabled=cfg.progress, label="judging pairs") as bar:
        for start in range(0, len(jobs), cfg.batch_size):
            chunk = jobs[start : start + cfg.batch_size]
            prompts, slots = [], []
            for sample_id, first, second in chunk:
                source = sample_source(samples[sample_id])
                a = per_sample[sample_id][first].generation.text
                b = per_sample[sample_id][second].generation.text
                reference = (samples[sample_id].references or [""])[0]
                orders = [True, False]
                if per_job == 1:
                    orders = [first_shown_as_a(cfg.seed, task, sample_id, first, second)]
                for first_is_a in orders:
                    x, y = (a, b) if first_is_a else (b, a)
                    prompts.append(
                        rubric.render(source=source, output_a=x, output_b=y, reference=reference)
                    )
                slots.append(orders)
            results = iter(_ask_preferences(judge, prompts))
            for (sample_id, first, second), orders in zip(chunk, slots, strict=True):
                verdicts: list[str | None] = [None, None]
                reasons: list[str | None] = [None, None]
                preferences: list[float | None] = [None, None]
                replies: list[Generation] = []
                for first_is_a in orders:
                    verdict, reason, shown_a_wins, generations = next(results)
                    slot = 0 if first_is_a else 1
                    verdicts[slot], reasons[slot] = verdict, reason
                    if shown_a_wins is not None:
                        preferences[slot] = shown_a_wins if first_is_a else 1.0 - shown_a_wins
                    replies += generations
                judged = _pair(
                    sample_id, first, second, (verdicts[0], verdicts[1]),
                    (reasons[0], reasons[1]), replies, per_sample[sample_id], cfg, spec.scale,
                )  # fmt: skip
                out.append(weighted(judged, (preferences[0], preferences[1])))
            bar.advance(per_job * len(chunk))
    return out


def _ask_preferences(
    judge: Judge, prompts: Sequence[tuple[str, str]]
) -> list[tuple[str | None, str | None, float | None, list[Generation]]]:
    """Per prompt: the verdict label, or the reason it could not be read; with logprobs, the
    probability that the output shown as A wins; the replies."""
    results = judge.judge(prompts)
    out: list[tuple[str | None, str | None, float | None, list[Generation]]] = []
    for verdict, replies in results:
        if isinstance(verdict, Verdict):
            logprobs = replies[-1].metadata.get("logprobs") if judge.logprobs else None
            shown_a_wins = logprob_preference(logprobs, str(verdict.value), verdict.span)
            out.append((str(verdict.value), None, shown_a_wins, replies))
        else:
            out.append((None, verdict, None, replies))
    return out


def weighted(judged: PairJudgment, preferences: tuple[float | None, float | None]) -> PairJudgment:
    """With logprob preferences for every order asked, the outcome is their mean (each already
    turned to "the first model wins"), one battle per pair as with three-way labels; the labels
    still decide swap consistency and the bias figures. Otherwise the discrete outcome stands."""
    asked = [p for p, v in zip(preferences, judged.verdicts, strict=True) if v is not None]
    if not asked or any(p is None for p in asked) or judged.outcome is None:
        # the preferences read are kept in pairwise.jsonl; the labels decide the outcome
        return (
            replace(judged, preferences=preferences)
            if any(p is not None for p in asked)
            else judged
        )
    outcome = float(np.mean([float(p) for p in asked if p is not None]))
    return replace(
        judged,
        outcome=outcome,
        battles=[outcome],
        preferences=preferences,
        verdict_outcome=judged.outcome,
    )


def _pair(
    sample_id: str,
    first: str,
    second: str,
    verdicts: tuple[str | None, str | None],
    reasons: tuple[str | None, str | None],
    replies: list[Generation],
    outputs: dict[str, SampleRecord],
    cfg: JudgeConfig,
    scale: str = "three",
) -> PairJudgment:
    lengths = (
        len(outputs[first].generation.text.split()),
        len(outputs[second].generation.text.split()),
    )
    outcome: float | None = None
    consistent: bool | None = None
    fought: list[float] = []
    v_a, v_b = verdicts
    if v_a is not None and v_b is not None and scale == "five":
        fought = battles(v_a, True) + battles(v_b, False)
        outcome = float(np.mean(fought))
        consistent = winner_shown(v_a) == {"A": "B", "B": "A", "tie": "tie"}[winner_shown(v_b)]
    elif v_a is not None and v_b is not None:
        forward, backward = _outcome(v_a, True), _outcome(v_b, False)
        consistent = forward == backward
        if consistent:
            outcome = forward
        elif cfg.pairwise.inconsistent == "tie":
            outcome = 0.5
        fought = [outcome] if outcome is not None else []
    elif (v_a is None) != (v_b is None) and reasons == (None, None):  # one order was asked
        fought = battles(v_a, True) if v_a is not None else battles(str(v_b), False)
        outcome = float(np.mean(fought))
    return PairJudgment(
        sample_id, first, second, verdicts, reasons, outcome, consistent, lengths, replies,
        _human_outcome(outputs[first], outputs[second]), fought,
    )  # fmt: skip


def _human_outcome(a: SampleRecord, b: SampleRecord) -> float | None:
    ha, hb = a.generation.metadata.get("human"), b.generation.metadata.get("human")
    if not isinstance(ha, dict) or not isinstance(hb, dict) or not ha or ha.keys() != hb.keys():
        return None
    mean_a = float(np.mean([float(v) for v in ha.values() if isinstance(v, int | float)]))
    mean_b = float(np.mean([float(v) for v in hb.values() if isinstance(v, int | float)]))
    return 1.0 if mean_a > mean_b else 0.0 if mean_a < mean_b else 0.5


def _json_line(task: str, j: PairJudgment) -> str:
    import json

    row = {
        "task": task,
        "sample_id": j.sample,
        "first": j.first,
        "second": j.second,
        "verdict_first_as_a": j.verdicts[0],
        "verdict_first_as_b": j.verdicts[1],
        "battles": j.battles,
        "preferences": list(j.preferences),
        "parse_errors": [r for r in j.reasons if r],
        "consistent": j.consistent,
        "outcome": j.outcome,
        "lengths": list(j.lengths),
        "human_outcome": j.human,
        "raw": [g.text for g in j.replies],
        **usage_details(j.replies),
    }
    return json.dumps(row, ensure_ascii=False) + "\n"


def _summarize(
    judged: Sequence[PairJudgment], models: Sequence[str], baseline: str, cfg: JudgeConfig
) -> dict[str, JSONValue]:
    comparisons = [
        Comparison(j.sample, j.first, j.second, battle, j.lengths[0] - j.lengths[1])
        for j in judged
        if j.outcome is not None
        for battle in j.battles
    ]
    spread = float(np.std([c.length_difference for c in comparisons])) if comparisons else 1.0
    rows: list[JSONValue] = []
    for model in models:
        if model == baseline:
            continue
        mine = [c for c in comparisons if {c.first, c.second} == {model, baseline}]
        if not mine:
            continue
        outcomes = [c.outcome if c.first == model else 1 - c.outcome for c in mine]
        diffs = [c.length_difference if c.first == model else -c.length_difference for c in mine]
        value, low, high = win_rate(outcomes, cfg.seed)
        lc, slope = length_controlled_win_rate(outcomes, diffs, spread)
        rows.append(
            {
                "model": model,
                "n": len(mine),
                "win_rate": _rounded(value),
                "standard_error": _rounded(standard_error(outcomes)),
                "ci_low": _rounded(low),
                "ci_high": _rounded(high),
                "lc_win_rate": _rounded(lc),
                "length_coefficient": _rounded(slope),
                "wins": sum(o > 0.5 for o in outcomes),
                "ties": sum(o == 0.5 for o in outcomes),
                "losses": sum(o < 0.5 for o in outcomes),
            }
        )
    present = [m for m in models if any(m in (c.first, c.second) for c in comparisons)]
    ratings: list[JSONValue] = []
    if len(present) > 1:
        ratings = [
            r.as_json()
            for r in sorted(
                bradley_terry(comparisons, present, seed=cfg.seed), key=lambda r: -r.rating
            )
        ]  # fmt: skip
    table: dict[str, JSONValue] = {
        "baseline": baseline,
        "pairs": cfg.pairwise.pairs,
        "inconsistent_as": cfg.pairwise.inconsistent,
        "win_rates": rows,
        "bradley_terry": ratings,
    }
    return table


def _pairwise_report(
    rubric: Rubric, judge: str, judged: Sequence[PairJudgment], models: Sequence[str]
) -> dict[str, JSONValue]:
    n = len(judged)
    both_read = [j for j in judged if j.consistent is not None]
    # the position each verdict favours (A / B / tie), five-point labels included
    verdicts = [winner_shown(v) for j in judged for v in j.verdicts if v is not None]
    decisive = [v for v in verdicts if v != "tie"]
    slots = [(v, r) for j in judged for v, r in zip(j.verdicts, j.reasons, strict=True)]
    asked = sum(v is not None or r is not None for v, r in slots)
    longer_won = [
        (j.label_outcome == 1.0) == (j.lengths[0] > j.lengths[1])
        for j in judged
        if j.consistent is not False
        and j.label_outcome in (0.0, 1.0)
        and j.lengths[0] != j.lengths[1]
    ]
    report: dict[str, JSONValue] = {
        "kind": "pairwise",
        "rubric": rubric.signature,
        "judge": judge,
        "pairs": n,
        "judgments": asked,
        "parse_failure_rate": _rounded(sum(r is not None for _, r in slots) / asked)
        if asked
        else None,
        "swap_consistency": _rounded(sum(bool(j.consistent) for j in both_read) / len(both_read))
        if both_read
        else None,
        "tie_rate": _rounded(sum(v == "tie" for v in verdicts) / len(verdicts))
        if verdicts
        else None,
        "first_position_preference": _rounded(sum(v == "A" for v in decisive) / len(decisive))
        if decisive
        else None,
        "longer_answer_win_rate": _rounded(sum(longer_won) / len(longer_won))
        if longer_won
        else None,
        "self_preference": self_preference(judge, models),
        **usage_figures([usage_details(j.replies) for j in judged]),
    }

    def labels(outcome: float) -> str:
        return "first" if outcome > 0.5 else "second" if outcome < 0.5 else "tie"

    pairs = [
        (labels(j.outcome), labels(j.human))
        for j in judged
        if j.human is not None and j.outcome is not None
    ]
    if pairs:
        judge_labels = [judge for judge, _ in pairs]
        human_labels = [human for _, human in pairs]
        report["human_n"] = len(pairs)
        report["human_accuracy"] = _rounded(sum(a == b for a, b in pairs) / len(pairs))
        report["human_kappa"] = _rounded(cohen_kappa(judge_labels, human_labels))
    return report
