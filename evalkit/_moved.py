"""Old module paths (before the layered layout) still import, with a DeprecationWarning.

`import evalkit.compare` gives the module now at `evalkit.analysis.compare`, the same object, so
code written against the flat layout keeps working for a release while it moves to the new paths.
Names that became packages (`evalkit.store`, `evalkit.tasks`, `evalkit.judging`) forward their old
attributes from the package's `__getattr__` (`forward_attribute`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import importlib.abc

MOVED: dict[str, str] = {
    "aggregate": "stages.aggregate",
    "agreement": "stats.agreement",
    "alpaca_eval_lc": "stats.alpaca_eval_lc",
    "analysis_store": "analysis.stored",
    "api": "app.api",
    "atomicio": "store.atomicio",
    "bootstrap": "stats.bootstrap",
    "cache": "store.cache",
    "catalog": "app.catalog",
    "cli": "app.cli",
    "columns": "store.columns",
    "compare": "analysis.compare",
    "compare_view": "app.compare_view",
    "conversations": "stages.conversations",
    "corpus_formulas": "stats.corpus_formulas",
    "datafiles": "tasks.datafiles",
    "extraction": "tasks.extraction",
    "extraction_scoring": "stages.extraction_scoring",
    "fewshot": "tasks.fewshot",
    "gate": "analysis.gate",
    "hfdata": "tasks.hfdata",
    "judge_protocols": "judges.judge_protocols",
    "judge_reliability": "analysis.judge_reliability",
    "judge_view": "app.judge_view",
    "judging": "judging.command",
    "judging_pairwise": "judging.pairwise",
    "judging_pointwise": "judging.pointwise",
    "judging_recorded": "judging.recorded",
    "judging_report": "judging.reports",
    "leaderboard": "analysis.leaderboard",
    "leaderboard_export": "report.leaderboard_export",
    "lmeval": "tasks.lmeval",
    "logs": "console.logs",
    "metaeval": "stats.metaeval",
    "metaeval_sources": "analysis.metaeval_sources",
    "metaeval_view": "app.metaeval_view",
    "metric_agreement": "analysis.metric_agreement",
    "metricspec": "stages.metricspec",
    "multiturn": "tasks.multiturn",
    "pairwise_stats": "stats.pairwise_stats",
    "pipeline": "stages.pipeline",
    "pricing": "backends.pricing",
    "progress": "console.progress",
    "progress_phase": "console.progress_phase",
    "provenance": "store.provenance",
    "pytest_plugin": "app.pytest_plugin",
    "recorded_judgments": "judges.recorded_judgments",
    "recorded_stats": "analysis.recorded_stats",
    "redact": "store.redact",
    "report.analyse": "analysis.report_analysis",
    "report.bundle": "analysis.bundle",
    "report.comparisons": "analysis.report_comparisons",
    "report.decision": "analysis.decision",
    "report.judges_view": "analysis.judge_rows",
    "report.pareto": "stats.pareto",
    "report.payload": "analysis.report_payload",
    "report.rankcorr": "stats.rankcorr",
    "report.scorer_pareto": "analysis.scorer_pareto",
    "results": "analysis.results",
    "rundir": "analysis.rundir",
    "runner_loader": "app.runner_loader",
    "sample_stream": "stages.sample_stream",
    "scorers.distilled": "distill.scorer",
    "scoring": "stages.scoring",
    "scoring_dask": "stages.scoring_dask",
    "serve": "app.serve",
    "session": "app.session",
    "significance": "stats.significance",
    "significance_policy": "stats.significance_policy",
    "store": "store.run_store",
    "studio.analysis": "analysis.ratings",
    "studio.db": "store.ratings_db",
    "studio.human_labels": "analysis.human_labels",
    "taskcheck": "stages.taskcheck",
    "tasks": "tasks.task",
    "textnorm": "scorers.textnorm",
    "usage": "stages.usage",
}
"""Old path below `evalkit.` -> new path below `evalkit.`."""

PACKAGE_FORMER_MODULES: dict[str, str] = {
    "store": "store.run_store",
    "tasks": "tasks.task",
    "judging": "judging.command",
}
"""A package that replaced a module of the same name -> the module that holds its old names."""


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"evalkit.{old} moved to evalkit.{new}; the old path will be removed",
        DeprecationWarning,
        stacklevel=3,
    )


class _Alias:
    """A loader (importlib's protocol; no importlib.abc: it imports importlib.resources)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _warn(self.old, self.new)
        return importlib.import_module(f"evalkit.{self.new}")

    def exec_module(self, module: ModuleType) -> None:
        """The module is the new one, already executed."""


class MovedModuleFinder:
    """Consulted after the normal finders: only names that no longer exist reach it."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        old = fullname.removeprefix("evalkit.")
        if not fullname.startswith("evalkit.") or old not in MOVED:
            return None
        loader = cast("importlib.abc.Loader", _Alias(old, MOVED[old]))
        return importlib.machinery.ModuleSpec(fullname, loader)


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())


def forward_attribute(package: str, name: str) -> object:
    """An attribute of a package that used to be a module: taken from the module that holds it."""
    new = PACKAGE_FORMER_MODULES[package]
    module = importlib.import_module(f"evalkit.{new}")
    if name.startswith("__") or not hasattr(module, name):
        raise AttributeError(f"module 'evalkit.{package}' has no attribute '{name}'")
    _warn(f"{package}.{name}", f"{new}.{name}")
    return getattr(module, name)
