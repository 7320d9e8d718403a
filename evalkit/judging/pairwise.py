"""Pairwise judging of a finished run: models compared on the samples they share.

Each pair is judged in both orders (first shown as A, then as B), or in one order drawn by a named
protocol's seeded coin (`evalkit.judges.judge_protocols`); the judge model is asked through the
pipeline's cache-through generation (`evalkit.store.cache.generate_cached`). Each batch's judgments
are
appended to `pairwise.jsonl` as typed records (`evalkit.judges.pairs.PairwiseRecord`) and flushed,
so a killed `evalkit judge` resumes: a pair whose line holds the same judging (rubric, judge
model, protocol, asking options) of the same two outputs is not asked again. When every pair is
judged the file is rewritten whole, in job order, and the win rates, Bradley-Terry ratings and the
reliability panel go into run.json (`evalkit.judging.reports`).
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from evalkit.console.progress import ProgressReporter
from evalkit.errors import UserError
from evalkit.judges.judge_protocols import ProtocolSpec, first_shown_as_a, read_verdict
from evalkit.judges.pairs import (
    PairJudgment,
    PairwiseRecord,
    digest,
    pair_judgment,
    pair_record,
    read_pairs,
    weighted,
)
from evalkit.judges.parse import Verdict
from evalkit.judges.preference import logprob_preference
from evalkit.judges.rubric import Rubric
from evalkit.judging.command import JudgeConfig, RunData, check_judgments, rewrite_run
from evalkit.judging.reports import pairwise_report, pairwise_summary
from evalkit.scorers.judge import Judge, build_judge_backend
from evalkit.stages.scoring import sample_source
from evalkit.store.atomicio import atomic_write_text
from evalkit.store.cache import ResponseCache
from evalkit.store.run_store import truncate_partial_tail
from evalkit.types import Generation, JSONValue, RunRecord, Sample, SampleRecord

logger = logging.getLogger(__name__)

PAIRWISE_FILE = "pairwise.jsonl"
PairJob = tuple[str, str, str]  # sample id, first model, second model
TaskJobs = tuple[str, dict[str, dict[str, SampleRecord]], list[str], str, list[PairJob]]


def pairwise_jobs(data: RunData, cfg: JudgeConfig) -> list[TaskJobs]:
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


def judge_pairwise(
    data: RunData, rubric: Rubric, cfg: JudgeConfig, spec: ProtocolSpec
) -> RunRecord:
    """Judge every pair with the configured judge model, resuming from `pairwise.jsonl`.
    Raises UserError for a panel, or logprobs with a five-point protocol; RunAborted (exit 3)
    when no pair's verdicts could be read, after storing them."""
    specs = cfg.judge_specs()
    if len(specs) > 1:
        raise UserError("pairwise judging takes one judge model (no panel)")
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
    judging = judging_digest(judge, cfg, spec)
    path = data.store.run_dir / PAIRWISE_FILE
    done = {(p.task, p.sample_id, p.first, p.second, p.outputs): p for p in read_pairs(path)
            if p.judging == judging}  # fmt: skip
    results: dict[str, list[PairJudgment]] = {}
    truncate_partial_tail(path)
    try:
        with path.open("a", encoding="utf-8") as log:
            for task, per_sample, _, _, jobs in pairwise_jobs(data, cfg):
                asking = Asking(judge, rubric, cfg, (task, spec), (judging, log))
                results[task] = asking.judge_pairs(jobs, per_sample, data.samples[task], done)
    finally:
        judge.backend.close()
        if cache is not None:
            cache.close()
    judged = [j for task_judged in results.values() for j in task_judged]
    if cfg.logprobs:
        _note_unweighted(judged)
    record = finish_pairwise(data, rubric, cfg, judge.name, results, judging)
    failed = [next(r for r in j.reasons if r is not None) for j in judged if any(j.reasons)]
    check_judgments(failed, len(judged))  # after storing: nothing judged is lost
    return record


def judging_digest(judge: Judge, cfg: JudgeConfig, spec: ProtocolSpec) -> str:
    """What decides the judge's replies and the outcomes read from them."""
    return digest(
        {
            "rubric": judge.rubric.signature,
            "judge": judge.backend.signature(),
            "protocol": [spec.rubric, spec.mode, spec.orders, spec.scale],
            "reask": cfg.reask,
            "max_new_tokens": cfg.max_new_tokens,
            "logprobs": cfg.logprobs,
            "seed": cfg.seed,
            "inconsistent": cfg.pairwise.inconsistent,
        }
    )


def _outputs_digest(outputs: dict[str, SampleRecord], first: str, second: str) -> str:
    return digest([outputs[first].generation.text, outputs[second].generation.text])


class Asking:
    """One task's pairs put to the judge, batch by batch, each batch appended to the log."""

    def __init__(
        self,
        judge: Judge,
        rubric: Rubric,
        cfg: JudgeConfig,
        protocol: tuple[str, ProtocolSpec],
        log: tuple[str, IO[str]],
    ) -> None:
        self.judge, self.rubric, self.cfg = judge, rubric, cfg
        self.task, self.spec = protocol
        self.judging, self.log = log

    def judge_pairs(
        self,
        jobs: Sequence[PairJob],
        per_sample: dict[str, dict[str, SampleRecord]],
        samples: dict[str, Sample],
        done: dict[tuple[str, str, str, str, str | None], PairwiseRecord],
    ) -> list[PairJudgment]:
        """Each job's judgment, in job order: read back from `done` where this judging judged
        these outputs already, else asked."""
        found: dict[int, PairJudgment] = {}
        for k, (sample_id, first, second) in enumerate(jobs):
            outputs = _outputs_digest(per_sample[sample_id], first, second)
            stored = done.get((self.task, sample_id, first, second, outputs))
            if stored is not None:
                found[k] = stored.judgment()
        if found:
            logger.info("task %s: %d of %d pairs judged before", self.task, len(found), len(jobs))
        pending = [k for k in range(len(jobs)) if k not in found]
        per_job = 2 if self.spec.orders == "both" else 1
        total = per_job * len(jobs)
        with ProgressReporter(total, enabled=self.cfg.progress, label="judging pairs") as bar:
            bar.advance(per_job * len(found))
            for start in range(0, len(pending), self.cfg.batch_size):
                chunk = pending[start : start + self.cfg.batch_size]
                judged = self._batch([jobs[k] for k in chunk], per_sample, samples)
                self.log.write("".join(self._line(j, per_sample) for j in judged))
                self.log.flush()
                found.update(zip(chunk, judged, strict=True))
                bar.advance(per_job * len(chunk))
        return [found[k] for k in range(len(jobs))]

    def _line(self, j: PairJudgment, per_sample: dict[str, dict[str, SampleRecord]]) -> str:
        outputs = _outputs_digest(per_sample[j.sample], j.first, j.second)
        return pair_record(self.task, j, self.judging, outputs).line()

    def _batch(
        self,
        chunk: Sequence[PairJob],
        per_sample: dict[str, dict[str, SampleRecord]],
        samples: dict[str, Sample],
    ) -> list[PairJudgment]:
        """Each job in both orders (first shown as A, then as B), or in the one order the
        protocol's seeded coin draws; a slot not asked stays None."""
        prompts, slots = [], []
        for sample_id, first, second in chunk:
            source = sample_source(samples[sample_id])
            a = per_sample[sample_id][first].generation.text
            b = per_sample[sample_id][second].generation.text
            reference = (samples[sample_id].references or [""])[0]
            orders = [True, False]
            if self.spec.orders != "both":
                orders = [first_shown_as_a(self.cfg.seed, self.task, sample_id, first, second)]
            for first_is_a in orders:
                x, y = (a, b) if first_is_a else (b, a)
                prompts.append(
                    self.rubric.render(source=source, output_a=x, output_b=y, reference=reference)
                )
            slots.append(orders)
        results = iter(_ask_preferences(self.judge, prompts))
        out = []
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
            judged = pair_judgment(
                sample_id, first, second, (verdicts[0], verdicts[1]), (reasons[0], reasons[1]),
                replies, per_sample[sample_id], self.cfg.pairwise.inconsistent, self.spec.scale,
            )  # fmt: skip
            out.append(weighted(judged, (preferences[0], preferences[1])))
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
    judging: str | None = None,
) -> RunRecord:
    """Write `pairwise.jsonl` (whole, in job order), the win-rate tables and the reliability
    panels into the run; `judging` marks the lines a rerun of the same judging may reuse."""
    lines: list[str] = []
    summary: dict[str, JSONValue] = {}
    reports: list[dict[str, JSONValue]] = []
    options = (cfg.pairwise.pairs, cfg.pairwise.inconsistent, cfg.seed)
    for task, per_sample, models, baseline, _ in pairwise_jobs(data, cfg):
        judged = results.get(task, [])
        for j in judged:
            outputs = _outputs_digest(per_sample[j.sample], j.first, j.second) if judging else None
            lines.append(pair_record(task, j, judging, outputs).line())
        summary[task] = pairwise_summary(judged, models, baseline, options)
        reports.append({"task": task, **pairwise_report(rubric, judge, judged, models)})
    atomic_write_text(data.store.run_dir / PAIRWISE_FILE, "".join(lines))
    latest = data.store.latest_records()
    return rewrite_run(
        data, latest, dict(data.record.task_scorers), None, reports,
        {"rubric": rubric.signature, "judge": judge, "protocol": cfg.protocol, "tasks": summary},
    )  # fmt: skip
