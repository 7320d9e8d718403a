"""LLM-as-judge scorer: a rubric from judges/ asked of any backend (or a panel of them).

Every judgment is a request to a backend like any generation, and cached the same way (keyed on
the judge backend's signature and the whole prompt). The reply is read as JSON first, then as a
tagged score; an unreadable or out-of-range verdict is status `parse_error` with the reason and
the raw reply in the score's details, counted as a failure in every aggregate, never coerced.
Optionally the judge is asked once more, with the reason, before giving up. With `logprobs`, the
score is G-Eval's probability-weighted score when the backend returns top logprobs.

A panel (`models: [...]`) records one metric per judge (`<metric>@<judge>`) and their combination
(`mean`, or `majority`: the most common score, the median on a tie) under the metric's name.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalkit import registry
from evalkit.config import ModelConfig, _default_cache_path
from evalkit.errors import UserError
from evalkit.judges.parse import ParseFailure, Verdict, logprob_weighted_score, parse_score
from evalkit.judges.rubric import Rubric, load_rubric
from evalkit.judges.usage import usage_details
from evalkit.protocols import BACKEND_GROUP, Backend, ScoredItem
from evalkit.scorers.base import NAN, ReferenceScorer
from evalkit.store.cache import ResponseCache, generate_cached
from evalkit.types import ChatMessage, Generation, GenerationParams, JSONValue, Request, Score
from evalkit.validation import first_error

REASK = (
    "Your reply could not be read ({reason}). Reply again with the JSON object only, exactly in "
    "the format asked for."
)


def build_judge_backend(spec: dict[str, Any]) -> Backend:
    try:
        model = ModelConfig.model_validate(spec)
    except ValidationError as exc:
        raise UserError(f"judge model: {first_error(exc)}") from None
    factory = registry.load(BACKEND_GROUP, model.backend)
    backends: list[Backend] = factory(model.name, model.options, None)
    if len(backends) != 1:
        raise UserError(f"judge model '{model.name}' must be one model, got {len(backends)}")
    return backends[0]


class Judge:
    """One judge model asking one rubric: requests, cache, re-ask, parsing."""

    def __init__(
        self,
        rubric: Rubric,
        backend: Backend,
        *,
        reask: int,
        max_new_tokens: int,
        logprobs: bool,
        cache: ResponseCache | None,
        reader: Callable[[Generation], Verdict] | None = None,
    ) -> None:
        self.rubric = rubric
        self.reader = reader  # how a reply is read; default: the rubric's pointwise score
        self.backend = backend
        self.reask = reask
        self.params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0, seed=0)
        self.logprobs = logprobs
        self.cache = cache

    @property
    def name(self) -> str:
        return self.backend.name

    def ask(self, conversations: Sequence[list[ChatMessage]]) -> list[Generation]:
        """One reply per conversation, from the cache where this exact prompt was judged."""
        requests = [
            Request(
                task=f"judge:{self.rubric.signature}",
                sample_id=hashlib.sha256(
                    "\x00".join(m.content for m in messages).encode()
                ).hexdigest()[:16],
                messages=messages,
                params=self.params,
            )
            for messages in conversations
        ]
        return generate_cached(self.backend, self.cache, requests)

    def judge(
        self, prompts: Sequence[tuple[str, str]]
    ) -> list[tuple[Verdict | str, list[Generation]]]:
        """For each (system, user) prompt: the verdict or the failure reason, and every reply."""
        conversations = [
            [ChatMessage(role="system", content=s), ChatMessage(role="user", content=u)]
            for s, u in prompts
        ]
        replies: list[list[Generation]] = [[] for _ in prompts]
        outcome: list[Verdict | str] = ["not judged"] * len(prompts)
        pending = list(range(len(prompts)))
        for attempt in range(self.reask + 1):
            generations = self.ask([conversations[i] for i in pending])
            retry = []
            for i, generation in zip(pending, generations, strict=True):
                replies[i].append(generation)
                if generation.error:
                    outcome[i] = f"judge call failed: {generation.error}"
                    continue
                try:
                    outcome[i] = self.read(generation)
                except ParseFailure as exc:
                    outcome[i] = str(exc)
                    if attempt < self.reask:
                        conversations[i] = [
                            *conversations[i],
                            ChatMessage(role="assistant", content=generation.text),
                            ChatMessage(role="user", content=REASK.format(reason=exc)),
                        ]
                        retry.append(i)
            pending = retry
            if not pending:
                break
        return list(zip(outcome, replies, strict=True))

    def read(self, generation: Generation) -> Verdict:
        if self.reader is not None:
            return self.reader(generation)
        low, high = self.rubric.scale or (0, 0)
        verdict = parse_score(generation.text, low, high)
        if self.logprobs and "logprobs" in generation.metadata:
            assert isinstance(verdict.value, float)
            weighted = logprob_weighted_score(
                generation.metadata["logprobs"], verdict.value, low, high, verdict.position
            )
            if weighted is not None:
                return Verdict(
                    weighted, verdict.rationale, verdict.form + "+logprobs", verdict.position
                )
        return verdict


class JudgeScorer(ReferenceScorer):
    """Pointwise judging with a rubric; see the module docstring."""

    name = "judge"
    cpu_heavy = False

    def __init__(
        self,
        rubric: str = "overall_quality",
        model: dict[str, Any] | None = None,
        models: list[dict[str, Any]] | None = None,
        metric: str | None = None,
        combine: str = "mean",
        reask: int = 1,
        max_new_tokens: int = 512,
        logprobs: bool = False,
        cache: bool = True,
        cache_path: str | None = None,
    ) -> None:
        self.rubric = load_rubric(rubric)
        if self.rubric.mode != "pointwise":
            raise UserError(
                f"rubric '{self.rubric.name}' is pairwise: use `evalkit judge RUN_DIR "
                f"judge={self.rubric.name}`, which compares models' outputs"
            )
        specs = models if models else ([model] if model else [])
        if not specs:
            raise UserError(
                "scorer 'judge' needs a judge model: model: {backend: openai, name: ..., ...}"
            )
        if combine not in ("mean", "majority"):
            raise UserError(f"scorer 'judge': combine must be mean or majority, got {combine!r}")
        self.combine = combine
        self.specs = specs
        self.metric = metric or self.rubric.name
        self.reask = reask
        self.max_new_tokens = max_new_tokens
        self.logprobs = logprobs
        self.cache_path = Path(cache_path or _default_cache_path()) if cache else None
        self._judges: list[Judge] | None = None
        names = [str(s.get("name", "?")) for s in specs]
        self.metrics = (
            (self.metric,)
            if len(specs) == 1
            else (self.metric, *(f"{self.metric}@{n}" for n in names))
        )

    def signature(self) -> str:
        judges = ",".join(
            f"{s.get('backend')}:{s.get('model') or s.get('path') or s.get('name')}"
            for s in self.specs
        )
        extra = f"|panel:{self.combine}" if len(self.specs) > 1 else ""
        return (
            f"judge|rubric:{self.rubric.signature}|judges:{judges}|reask:{self.reask}"
            f"|logprobs:{self.logprobs}{extra}"
        )

    @property
    def judges(self) -> list[Judge]:
        if self._judges is None:
            cache = ResponseCache(self.cache_path) if self.cache_path else None
            self._judges = [
                Judge(
                    self.rubric,
                    build_judge_backend(spec),
                    reask=self.reask,
                    max_new_tokens=self.max_new_tokens,
                    logprobs=self.logprobs,
                    cache=cache,
                )
                for spec in self.specs
            ]
        return self._judges

    def close(self) -> None:
        for judge in self._judges or []:
            judge.backend.close()
        self._judges = None

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        if "reference" in self.rubric.needs and not item.references:
            return "the rubric needs a reference"
        if "source" in self.rubric.needs and not getattr(item, "source", ""):
            return "the rubric needs the source"
        return None

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        prompts = [
            self.rubric.render(
                source=getattr(item, "source", ""),
                output=item.prediction,
                reference=item.references[0] if item.references else "",
            )
            for item in items
        ]
        per_judge = [judge.judge(prompts) for judge in self.judges]
        return [self._scores([outcomes[k] for outcomes in per_judge]) for k in range(len(items))]

    def _one(
        self, name: str, judge: Judge, outcome: tuple[Verdict | str, list[Generation]]
    ) -> Score:
        verdict, replies = outcome
        details: dict[str, JSONValue] = {
            "judge": judge.name,
            "raw": [g.text for g in replies],
            **usage_details(replies),
        }
        if isinstance(verdict, str):
            status = "error" if verdict.startswith("judge call failed") else "parse_error"
            return Score(name=name, value=NAN, status=status, explanation=verdict, details=details)
        details["form"] = verdict.form
        assert isinstance(verdict.value, float)
        return Score(name=name, value=verdict.value, explanation=verdict.rationale, details=details)

    def _scores(self, outcomes: list[tuple[Verdict | str, list[Generation]]]) -> list[Score]:
        if len(self.judges) == 1:
            return [self._one(self.metric, self.judges[0], outcomes[0])]
        singles = [
            self._one(f"{self.metric}@{judge.name}", judge, outcome)
            for judge, outcome in zip(self.judges, outcomes, strict=True)
        ]
        ok = [s.value for s in singles if s.status == "ok"]
        if not ok:
            combined = Score(
                name=self.metric, value=NAN, status="parse_error",
                explanation="no judge of the panel gave a readable verdict",
            )  # fmt: skip
        else:
            if self.combine == "mean":
                value = statistics.fmean(ok)
            else:
                counts = Counter(ok).most_common()
                tied = [v for v, c in counts if c == counts[0][1]]
                value = tied[0] if len(tied) == 1 else statistics.median(ok)
            combined = Score(
                name=self.metric, value=value,
                details={"judges_ok": len(ok), "judges": len(singles)},
            )  # fmt: skip
        return [combined, *singles]
