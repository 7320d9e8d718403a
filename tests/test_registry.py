"""The typed registry (evalkit/registry.py) and the plugin contract (evalkit/plugins.py): typed
entries, a plugin that breaks the contract refused with one line (exit 2 from the CLI), and a
plugin that implements a protocol without inheriting its defaults gets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from evalkit import registry
from evalkit.errors import UserError
from evalkit.plugins import AdaptedBackend, AdaptedScorer
from evalkit.scorers.match import ExactMatch
from evalkit.stages.metricspec import specs_of_scorers
from evalkit.stages.pipeline import _close_backends
from evalkit.types import Aggregate, Generation, Request, Score


@pytest.fixture(autouse=True)
def _fresh_registrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", {})


class PlainScorer:
    """The Scorer protocol's required members only: no evalkit base class."""

    name = "plain"
    metrics = ("plain",)

    def signature(self) -> str:
        return "plain|v1"

    def score(self, items: Sequence[Any]) -> list[list[Score]]:
        return [[Score(name="plain", value=float(len(i.prediction)))] for i in items]

    def aggregate(
        self, metric: str, scores: Sequence[Score], *, task: str, model: str, seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:  # fmt: skip
        values = [s.value for s in scores]
        return Aggregate(task=task, model=model, metric=metric, value=sum(values) / len(values),
                         ci_low=None, ci_high=None, n=len(values), n_failed=0)  # fmt: skip


class CorpusPlainScorer(PlainScorer):
    """Declares some optional capabilities as today's plugins do: plain attributes/methods."""

    name = "corpus_plain"
    cpu_heavy = False
    memoize = False
    higher_is_better = False

    def __init__(self) -> None:
        self.prepared: list[Sequence[str]] = []

    def prepare(self, references: Sequence[Sequence[str]]) -> None:
        self.prepared = list(references)

    def score(self, items: Sequence[Any]) -> list[list[Score]]:
        return [
            [Score(name="plain", value=0.0, details={"stats": [len(i.prediction), 1.0]})]
            for i in items
        ]

    def corpus_value(self, summed: np.ndarray) -> float:
        return float(summed[0] / max(summed[1], 1.0))


class NoScore:
    name = "broken"
    metrics = ("broken",)

    def signature(self) -> str:
        return "broken"


def test_built_in_entries_are_typed() -> None:
    bleu = registry.scorer("bleu")
    assert isinstance(bleu, registry.ScorerEntry) and bleu.kind == "scorer"
    assert bleu.source == "evalkit.scorers.corpus:BLEU"
    assert bleu.options is not None and "language" in bleu.options
    replay = registry.backend("replay")
    assert isinstance(replay, registry.BackendEntry) and replay.kind == "backend"
    assert replay.source == "evalkit.backends.replay:build_replay_backends"
    built = registry.scorer("exact_match").build({})
    assert isinstance(built, ExactMatch)  # a scorer inheriting the defaults is not wrapped


def test_unknown_names_and_options_are_one_line_errors() -> None:
    with pytest.raises(UserError, match=r"unknown scorer 'bleux' \(did you mean 'bleu'\?\)"):
        registry.scorer("bleux")
    with pytest.raises(UserError, match=r"scorer 'bleu': unknown option 'tokenise' \(did you"):
        registry.scorer("bleu").build({"tokenise": "13a"})
    with pytest.raises(UserError, match=r"scorer 'plain': unknown option 'x' \(it takes no opt"):
        registry.register("scorer", "plain", PlainScorer).build({"x": 1})  # type: ignore[union-attr]


def test_a_plugin_without_the_base_class_gets_the_defaults() -> None:
    entry = registry.register("scorer", "plain", PlainScorer)
    assert isinstance(entry, registry.ScorerEntry) and entry.source.endswith(":PlainScorer")
    assert registry.scorer("plain") is entry
    scorer = entry.build({})
    assert isinstance(scorer, AdaptedScorer)
    assert (scorer.cpu_heavy, scorer.higher_is_better, scorer.counts_truncated) == (
        True, True, False,
    )  # fmt: skip
    assert scorer.memoize
    assert scorer.scale is None and scorer.prepare is None and scorer.corpus_value is None
    assert scorer.corpus_formula is None and scorer.sentence_embedders() == []
    scorer.close()  # a no-op, there to call
    [spec] = specs_of_scorers([("plain", {})], [scorer])
    assert (spec.aggregation, spec.higher_is_better, spec.scale) == ("scorer", True, None)


def test_a_plugin_s_own_capabilities_are_read_once_and_kept() -> None:
    scorer = registry.register("scorer", "corpus_plain", CorpusPlainScorer).build({})  # type: ignore[union-attr]
    assert not scorer.cpu_heavy and not scorer.higher_is_better and not scorer.memoize
    assert scorer.prepare is not None and scorer.corpus_value is not None
    scorer.prepare([("a", "b")])
    assert scorer.inner.prepared == [("a", "b")]  # type: ignore[attr-defined]
    assert scorer.corpus_value(np.array([3.0, 4.0])) == 0.75
    [spec] = specs_of_scorers([("corpus_plain", {})], [scorer])
    assert (spec.aggregation, spec.higher_is_better, spec.formula) == ("corpus", False, None)


class EchoBackend:
    closed = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def signature(self) -> str:
        return "echo"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return [Generation(text=r.messages[-1].content) for r in requests]

    def close(self) -> None:
        EchoBackend.closed += 1


def test_a_structural_backend_is_adapted_once_and_keeps_its_identity() -> None:
    shared = EchoBackend("echo")
    entry = registry.register("backend", "echo", lambda name, options, task: [shared])
    first = entry.build("echo", {}, None)  # type: ignore[union-attr]
    second = entry.build("echo", {}, None)  # type: ignore[union-attr]
    assert isinstance(first[0], AdaptedBackend) and first[0] is second[0]
    backend = first[0]
    assert (backend.concurrent_batches, backend.cacheable, backend.runs_inline) == (1, True, False)
    assert backend.failure_guard is None and backend.estimate is None and backend.report is None

    plan = SimpleNamespace(backends=[backend, second[0]], scorers=[])  # what is read of a plan
    EchoBackend.closed = 0
    _close_backends([plan])  # type: ignore[list-item]
    assert EchoBackend.closed == 1  # one backend, closed once


def test_a_plugin_that_breaks_the_contract_is_refused_at_registration() -> None:
    with pytest.raises(UserError, match=r"scorer 'broken' \(.*:NoScore\) does not follow the "
                       r"plugin contract: the class has no score\(\) method"):  # fmt: skip
        registry.register("scorer", "broken", NoScore)
    with pytest.raises(UserError, match="a backend entry point names a class or a factory"):
        registry.register("backend", "nothing", 42)
    with pytest.raises(UserError, match="a task entry point names a folder path or a callable"):
        registry.register("task", "nothing", 42)
    assert registry.names("evalkit.scorers").count("broken") == 0


def test_a_backend_factory_that_makes_no_backend_is_refused_when_built() -> None:
    entry = registry.register("backend", "odd", lambda name, options, task: [object()])
    with pytest.raises(UserError, match=r"backend 'odd' .* made a backend without signature\(\)"):
        entry.build("odd", {}, None)  # type: ignore[union-attr]
    single = registry.register("backend", "single", lambda name, options, task: EchoBackend(name))
    with pytest.raises(UserError, match="its factory must return a list of backends"):
        single.build("single", {}, None)  # type: ignore[union-attr]


def _fake_distribution(site: Path) -> None:
    """An installed package whose scorer entry point names a class without score()."""
    (site / "badplug.py").write_text(
        "class NoScore:\n    name = 'bad'\n    metrics = ('bad',)\n"
        "    def signature(self):\n        return 'bad'\n",
        encoding="utf-8",
    )
    info = site / "badplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evalkit.scorers]\nbad = badplug:NoScore\n")


def test_a_bad_plugin_from_the_cli_is_one_line_and_exit_2(tmp_path: Path, qa_task: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _fake_distribution(site)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", f"tasks=[{qa_task}]", "+scorers.bad={}",
         "run_dir=out", "progress=false", "report.enabled=false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": path, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "evalkit: error: scorer 'bad' (badplug:NoScore) does not follow the plugin contract: "
        "the class has no score() method (see 'A custom scorer (or backend, or task) as a "
        "plugin' in README.md)"
    ]
    assert not (tmp_path / "out" / "run.json").exists()


def test_a_structural_plugin_scorer_runs_in_a_run(tmp_path: Path, qa_task: Path) -> None:
    import evalkit

    registry.register("scorer", "corpus_plain", CorpusPlainScorer)
    evalkit.evaluate(
        [str(qa_task)], scorers={"corpus_plain": {}}, run_dir=tmp_path / "run",
        report={"enabled": False}, progress=False, scoring={"workers": 0},
    )  # fmt: skip
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    [spec] = stored["metric_specs"]["toy_qa"]
    assert (spec["aggregation"], spec["higher_is_better"]) == ("corpus", False)
    outputs = [json.loads(line) for line in (qa_task / "outputs.jsonl").read_text().splitlines()]
    for system in ("good", "bad"):
        lengths = [len(o["output"]) for o in outputs if o["system"] == system]
        [value] = [a["value"] for a in stored["aggregates"] if a["model"] == system]
        assert value == pytest.approx(sum(lengths) / len(lengths))  # the corpus value: mean length


def test_a_capability_declared_as_a_method_is_read_as_its_value() -> None:
    class Declares(EchoBackend):
        def runs_inline(self) -> bool:
            return False

        def cacheable(self) -> bool:
            return False

    entry = registry.register("backend", "declares", lambda name, options, task: [Declares(name)])
    [backend] = entry.build("declares", {}, None)  # type: ignore[union-attr]
    assert (backend.runs_inline, backend.cacheable) == (False, False)


def test_a_capability_method_on_a_class_with_the_defaults_is_read_as_its_value() -> None:
    """Subclasses of BackendDefaults / ReferenceScorer are not wrapped: a method there must
    still read as its value (a bound method reads as yes)."""
    from evalkit.protocols import BackendDefaults
    from evalkit.scorers.match import ExactMatch

    class Declares(BackendDefaults):
        name = "declares"

        def signature(self) -> str:
            return "declares"

        def generate(self, requests: Sequence[Request]) -> list[Generation]:
            return []

        def runs_inline(self) -> bool:  # type: ignore[override]
            return False

        def cacheable(self) -> bool:  # type: ignore[override]
            return False

    class Cheap(ExactMatch):
        def memoize(self) -> bool:  # type: ignore[override]
            return True

        def higher_is_better(self) -> bool:  # type: ignore[override]
            return False

    entry = registry.register("backend", "declares2", lambda name, options, task: [Declares()])
    [backend] = entry.build("declares2", {}, None)  # type: ignore[union-attr]
    assert (backend.runs_inline, backend.cacheable) == (False, False)
    scorer = registry.register("scorer", "cheap", Cheap).build({})  # type: ignore[union-attr]
    assert (scorer.memoize, scorer.higher_is_better) == (True, False)


def test_a_capability_method_that_cannot_be_called_is_refused_in_one_line() -> None:
    class NeedsArgument(PlainScorer):
        def memoize(self, items: object) -> bool:
            return True

    entry = registry.register("scorer", "needs", NeedsArgument)
    with pytest.raises(UserError, match=r"scorer 'needs' .* its `memoize` must be a yes/no"):
        entry.build({})  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        (lambda self: 1 / 0, r"its signature\(\) raised ZeroDivisionError: division by zero"),
        (lambda self: sys.exit(3), r"its signature\(\) raised SystemExit: 3"),
        (lambda self: None, r"its signature\(\) returned None, not a non-empty string"),
        (lambda self: "", r"its signature\(\) returned '', not a non-empty string"),
    ],
)
def test_a_plugin_whose_signature_fails_is_refused_when_built(signature: Any, problem: str) -> None:
    """signature() keys the response cache and run.json: checked once when the plugin is built,
    so it is one line before the run starts, not a traceback from inside it."""
    registry.register(
        "scorer", "bad_signature", type("BadSig", (PlainScorer,), {"signature": signature})
    )
    with pytest.raises(UserError, match=rf"scorer 'bad_signature' .*BadSig\) .*{problem}"):
        registry.scorer("bad_signature").build({})
    backend = type("BadSigBackend", (EchoBackend,), {"signature": signature})
    registry.register("backend", "bad_signature", lambda name, options, task: [backend(name)])
    with pytest.raises(UserError, match=rf"backend 'bad_signature' .*{problem}"):
        registry.backend("bad_signature").build("bad_signature", {}, None)
