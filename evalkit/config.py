"""The validated run configuration. Hydra composes a dict; this module is what the library reads.

The library never imports Hydra (design.md): runners turn the composed config into a plain dict
and call `RunConfig.from_dict`, which reports the first problem as one line naming the field.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import to_jsonable_python

from evalkit.abort import DEFAULT_MAX_CONSECUTIVE_FAILURES
from evalkit.errors import UserError
from evalkit.limits import BROWSER_SAMPLES
from evalkit.validation import first_error


def settings_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Every setting of a command's model that has a default, with it, as JSON values (nested
    settings as dicts, tuples as lists, paths as strings): the one place a command's defaults are
    given. The runners store them as the config node conf/<command>.yaml's defaults list starts
    with (runners/compose.py); a default factory is called anew each time (it may read the
    environment, as the response cache's path does)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            out[name] = to_jsonable_python(field.get_default(call_default_factory=True))
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SuiteConfig(_Strict):
    name: str
    description: str = ""
    tasks: list[str] = Field(min_length=1)


_NAME_CHARS = r"A-Za-z0-9_.@+\-"
# the option that says what a model is, in the order looked for (hf: path; openai: model)
_NAMED_BY = ("model", "path")


def display_name(backend: str, options: dict[str, Any]) -> str:
    """What tables, run.json and the report call a model whose config names none: the last
    part of its model id or path (`gpt-4o-mini`, `/x/tiny-llama/` -> `tiny-llama`,
    `meta-llama/Llama-3.1-8B` -> `Llama-3.1-8B`), characters a name cannot hold turned to `-`;
    the backend's name when it has neither (replay: each recorded system is named anyway)."""
    if backend != "replay":
        for key in _NAMED_BY:
            value = options.get(key)
            if isinstance(value, str) and value.strip("/\\ "):
                last = re.split(r"[/\\]", value.strip().rstrip("/\\"))[-1]
                name = re.sub(f"[^{_NAME_CHARS}]+", "-", last).strip("-")
                if name:
                    return name
    return backend


class ModelConfig(BaseModel):
    """`backend` picks the entry point; every other key is passed to it as an option.
    `name` (the display name) defaults to `display_name` of the model id or path."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str = Field(pattern=f"^[{_NAME_CHARS}]+$")
    backend: str

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("name") is None and "backend" in data:
            options = {k: v for k, v in data.items() if k not in ("name", "backend")}
            return {**data, "name": display_name(str(data["backend"]), options)}
        return data

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _absolute_base_url(self) -> ModelConfig:
        url = (self.model_extra or {}).get("base_url")
        if url is None:
            return self
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url '{url}' is not an absolute http(s) URL (e.g. http://127.0.0.1:8000/v1)"
            )
        return self


def _default_cache_path() -> str:
    """$EVALKIT_CACHE_DIR/responses.sqlite, else ~/.cache/evalkit/ (as conf/run.yaml says)."""
    return os.path.join(os.environ.get("EVALKIT_CACHE_DIR", "~/.cache/evalkit"), "responses.sqlite")


class CacheConfig(_Strict):
    enabled: bool = Field(True, description="Keep generations in the response cache.")
    path: str = Field(
        default_factory=_default_cache_path,
        description="$EVALKIT_CACHE_DIR/responses.sqlite, else ~/.cache/evalkit/.",
    )


class ScoringConfig(_Strict):
    workers: int | Literal["auto"] = Field(
        "auto", description="Processes for CPU-heavy scoring; 0 scores in the main process."
    )
    bootstrap_resamples: int = Field(1000, ge=100, description="Resamples of every 95% CI.")
    engine: Literal["local", "dask"] = Field(
        "local", description="Where CPU-heavy scorers run: local processes, or a Dask cluster."
    )
    scheduler_address: str | None = Field(
        None, description="engine=dask: a scheduler (tcp://host:8786); None: a local cluster."
    )

    @field_validator("workers")
    @classmethod
    def _not_negative(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"{value} workers: use 0 (score in the main process), N > 0 or 'auto'")
        return value


class ReportConfig(_Strict):
    enabled: bool = Field(True, description="Write RUN_DIR/report.html at the end of the run.")
    max_samples: int | None = Field(
        BROWSER_SAMPLES,
        ge=0,
        description="Outputs per task x model in the sample browser, the first by data order "
        "(None: all; statistics always use every output).",
    )


TASK_SCORERS = "task"
"""The key of `scorers` that stands for each task's own scorers (conf/scorers/task_default.yaml)."""


class RunConfig(_Strict):
    suite: SuiteConfig
    tasks: list[str] | None = Field(None, description="Overrides the suite's task list.")
    model: ModelConfig
    scorers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=f"Empty: each task's own scorers. With the key '{TASK_SCORERS}': the task's own"
        " scorers plus the others named (an entry of the same name replaces the task's options).",
    )
    run_dir: str | None = Field(
        None, description="Where this run is written; None: reports/<date>/<time>_<suite>_<model>."
    )
    sweep_dir: str | None = Field(
        None, description="Where a multirun sweep is written; None: reports/multirun/<date>/..."
    )
    seed: int = Field(1234, ge=0, description="Seeds sampling backends and every bootstrap.")
    batch_size: int = Field(256, ge=1, description="Samples per backend call and per record batch.")
    limit: int | None = Field(None, ge=1, description="Only the first N samples of each task.")
    cache: CacheConfig = Field(default_factory=lambda: CacheConfig())
    scoring: ScoringConfig = ScoringConfig()
    report: ReportConfig = ReportConfig()
    progress: bool = Field(True, description="Show the progress display on stderr.")
    retry_failed: bool = Field(
        False, description="On resume, redo samples whose generation failed."
    )
    dry_run: bool = Field(False, description="Estimate tokens and cost; call no model.")
    fail_on_errors: bool = Field(
        False, description="Exit with status 1 when some samples failed (0 otherwise)."
    )
    max_consecutive_failures: int = Field(
        DEFAULT_MAX_CONSECUTIVE_FAILURES,
        ge=1,
        description="Stop the run (exit 3) after this many failed API requests in a row.",
    )

    @field_validator("tasks")
    @classmethod
    def _some_tasks(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("no tasks given (tasks=[] is empty; leave it out for the suite's)")
        return value

    @field_validator("run_dir")
    @classmethod
    def _run_dir_not_a_file(cls, value: str | None) -> str | None:
        """run_dir, or a folder above it, must not be an existing file (mkdir would fail)."""
        if value is None:
            return value
        for folder in (Path(value), *Path(value).parents):
            if folder.exists() and not folder.is_dir():
                raise ValueError(f"'{folder}' is an existing file, not a directory")
        return value

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """`settings_defaults(RunConfig)`: conf/run.yaml takes them from here (the runner
        stores them as a config node), and `evalkit.evaluate` through `from_dict`."""
        return settings_defaults(cls)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"config: {first_error(exc)}") from None

    @property
    def task_refs(self) -> list[str]:
        return list(self.tasks) if self.tasks else list(self.suite.tasks)

    def scorer_specs(self, task_scorers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The scorers a task runs with: its own, its own plus those added, or those given instead.

        `scorers=lexical` replaces the task's scorers; `+scorers.bleu={}` on the default group
        (`{task: {}}`) adds bleu to them.
        """
        if not self.scorers:
            return dict(task_scorers)
        named = {k: v for k, v in self.scorers.items() if k != TASK_SCORERS}
        return {**task_scorers, **named} if TASK_SCORERS in self.scorers else named

    def spec_for_resume(self) -> dict[str, Any]:
        """What must match for a rerun into the same run_dir to continue the same run."""
        data = self.model_dump(
            mode="json",
            exclude={
                "run_dir",
                "sweep_dir",
                "progress",
                "report",
                "cache",
                "retry_failed",
                "dry_run",
                "fail_on_errors",
                "max_consecutive_failures",
            },
        )
        for where in ("workers", "engine", "scheduler_address"):  # where, not what, is scored
            data["scoring"].pop(where, None)
        return data
