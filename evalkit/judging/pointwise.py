"""Pointwise judging of a finished run: re-scoring its outputs with the `judge` scorer.

The scorer is built from the same `("judge", options)` specification the pipeline builds its
scorers from (`evalkit.stages.scoring.build_scorers`), and that specification is what run.json
records
for the task afterwards, so a judged run reads as if it had been scored with the judge. The judge
model is asked through the pipeline's cache-through generation
(`evalkit.store.cache.generate_cached`);
each batch's re-scored records are appended to samples.jsonl (a record supersedes the sample's
earlier one), so an interrupted judging keeps every finished batch and a rerun answers those
from the response cache without asking the judge again.
"""

from __future__ import annotations

from typing import Any

from evalkit.console.progress import ProgressReporter
from evalkit.errors import UserError
from evalkit.judges.rubric import Rubric
from evalkit.judging.command import JudgeConfig, RunData, check_judgments, rewrite_run
from evalkit.judging.reports import pointwise_reports
from evalkit.scorers.judge import JudgeScorer
from evalkit.stages.scoring import ScoringItem, build_scorers, score_items, scoring_item
from evalkit.types import RunRecord, Sample, SampleRecord, Score


def scorer_options(rubric: Rubric, cfg: JudgeConfig) -> dict[str, Any]:
    """The `judge` scorer's options for this judging (one judge model, or a panel)."""
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


def judge_pointwise(data: RunData, rubric: Rubric, cfg: JudgeConfig) -> RunRecord:
    """Re-score the selected records with the judge, then rebuild the run's aggregates,
    reliability panels and report. Raises UserError for a sample the task no longer has, and
    RunAborted (exit 3) when no judgment could be read, after storing the run."""
    options = scorer_options(rubric, cfg)
    [scorer] = build_scorers([("judge", options)])
    if not isinstance(scorer, JudgeScorer):
        raise UserError(f"scorer 'judge' is {type(scorer).__name__}, not evalkit's judge scorer")
    judged: list[Score] = []
    data.store.open_log()
    try:
        with ProgressReporter(len(data.records), enabled=cfg.progress, label="judging") as bar:
            for start in range(0, len(data.records), cfg.batch_size):
                batch = data.records[start : start + cfg.batch_size]
                items = [_item(r, data.samples) for r in batch]
                scores = score_items([scorer], items)
                judged += [x for new in scores for x in new if x.name == options["metric"]]
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
    reports = pointwise_reports(rubric, scorer, latest, judged_tasks, cfg.ratings)
    record = rewrite_run(data, latest, task_scorers, scorer, reports)
    asked = [x for x in judged if x.status != "unscorable"]  # unscorable: never put to a judge
    failed = [x.explanation or x.status for x in asked if x.status in ("error", "parse_error")]
    check_judgments(failed, len(asked))
    return record


def _item(record: SampleRecord, samples: dict[str, dict[str, Sample]]) -> ScoringItem:
    """What the scorer sees of a stored output: the pipeline's `scoring_item` of its sample."""
    sample = samples[record.task].get(record.sample_id)
    if sample is None:
        raise UserError(f"task '{record.task}' has no sample '{record.sample_id}' any more")
    return scoring_item(sample, record.generation)
