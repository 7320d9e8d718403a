"""`evalkit.evaluate(...)`: a run from Python, as `evalkit run` does it, returning the loaded run.

The model is a preset of conf/model/ by name ("replay", "hf", "openai"), or a dict whose
`backend` picks that preset and whose other keys override it (`{"backend": "hf", "path": DIR}`).
Everything else is RunConfig's (config.py): `scorers` as `evalkit run`'s scorers group (None:
each task's own; a dict replaces them; a dict with the key "task" adds to them), and any other
run setting as a keyword (`limit=`, `seed=`, `batch_size=`, `scoring={"workers": 0}`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.analysis.results import LoadedRun, load_run
from evalkit.config import RunConfig
from evalkit.errors import UserError, did_you_mean
from evalkit.resources import builtin_dir


def model_config(model: str | dict[str, Any]) -> dict[str, Any]:
    """A model preset (conf/model/NAME.yaml, interpolations resolved) with overrides applied."""
    overrides = {"backend": model} if isinstance(model, str) else dict(model)
    backend = overrides.get("backend")
    if not isinstance(backend, str):
        raise UserError("evaluate: model must be a preset name or a dict with a 'backend' key")
    presets = {p.stem: p for p in (builtin_dir("conf") / "model").glob("*.yaml")}
    base = OmegaConf.load(presets[backend]) if backend in presets else OmegaConf.create({})
    if isinstance(model, str) and backend not in presets:
        raise UserError(
            f"evaluate: unknown model preset '{backend}'{did_you_mean(backend, presets)}"
        )
    merged = OmegaConf.merge(base, OmegaConf.create(overrides))
    try:
        data = OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        raise UserError(f"evaluate: model.{key}: a value is required") from None
    assert isinstance(data, dict)
    data.setdefault("name", backend)
    return {str(k): v for k, v in data.items()}


def evaluate(
    tasks: Sequence[str | Path],
    model: str | dict[str, Any] = "replay",
    scorers: dict[str, dict[str, Any]] | None = None,
    run_dir: str | Path | None = None,
    **settings: Any,
) -> LoadedRun:
    """Run `tasks` (names or task.yaml paths) on `model`, score, write run_dir; return the run.

    `run_dir` defaults to reports/<date>/<time>_evaluate_<model>/ like `evalkit run`; a run_dir
    that holds the same run resumes it. The HTML report is written unless `report={"enabled":
    False}`. Returns what `evalkit.load_run(run_dir)` returns. Raises `evalkit.errors.UserError`
    for a bad task, model or setting (the CLI's one-line errors).
    """
    from evalkit.report.page import render_report
    from evalkit.stages.pipeline import run_evaluation

    if isinstance(tasks, str | Path):
        raise UserError("evaluate: tasks must be a list of task names or paths")
    models = model_config(model)
    if run_dir is None or not str(run_dir).strip():  # empty or blank: not given, never the cwd
        now = datetime.now()
        run_dir = (
            Path("reports")
            / now.strftime("%Y-%m-%d")
            / (now.strftime("%H-%M-%S") + f"_evaluate_{models['name']}")
        )
    data: dict[str, Any] = {
        "suite": {"name": "evaluate", "tasks": [str(t) for t in tasks]},
        "model": models,
        "scorers": scorers or {},
        "run_dir": str(run_dir),
        "progress": False,
        **settings,
    }
    config = RunConfig.from_dict(data)
    record = run_evaluation(config, Path(run_dir))
    loaded = load_run(run_dir)
    if config.report.enabled:
        stored = loaded.stored
        html = render_report(record, stored.stored_records, label=stored.name, run_dir=stored.path)
        stored.store.write_report(html)
    return loaded
