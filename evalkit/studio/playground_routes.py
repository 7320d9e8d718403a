"""The playground's page and JSON API (see evalkit.studio.app for the guard every route has).

- `GET /playground`; `GET /api/tasks` -> {tasks: [name]}; `GET /api/tasks/NAME?offset=&limit=`
  -> the task's template and a page of samples (evalkit.studio.prompts);
- `POST /api/render` {task, sample_id, template, system_template} -> {messages, references};
- `POST /api/playground` {model, prompt, system?} -> the NDJSON stream (evalkit.studio.playground);
- `POST /api/prompt-sets` {set, version, prompt, system?, template?, system_template?, task?,
  sample_id?, references?, answers: [{model, text, seconds, ttft_s, output_tokens, cost_usd}]}
  -> the set (evalkit.studio.prompt_sets); `GET /api/prompt-sets` -> {sets: [...]};
- `POST /api/prompt-sets/NAME/run` -> a run's state; `GET /api/prompt-runs/ID` -> its state,
  run directory and paired comparisons; `GET /prompt-runs/ID/report` -> its report.html.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse

from evalkit.store.ratings_db import RatingError
from evalkit.studio.playground import PlaygroundModel, stream_answer
from evalkit.studio.prompt_runs import PromptRuns
from evalkit.studio.prompt_sets import Answer, Saved, list_sets, save_prompt, set_sample_id
from evalkit.studio.prompts import TaskPicker, render


def _text(fields: dict[str, Any], key: str, default: str | None = None) -> str:
    value = fields.get(key, default)
    if not isinstance(value, str):
        raise RatingError(f"expected a text field {key!r}")
    return value


def _messages(fields: dict[str, Any]) -> list[dict[str, str]]:
    system = _text(fields, "system", "")
    user = [{"role": "user", "content": _text(fields, "prompt")}]
    return ([{"role": "system", "content": system}] if system.strip() else []) + user


def _answers(fields: dict[str, Any]) -> list[Answer]:
    raw = fields.get("answers")
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise RatingError("expected answers: a list of {model, text, ...}")
    try:
        return [
            Answer(
                model=str(a["model"]),
                text=str(a["text"]),
                seconds=_number(a.get("seconds")),
                ttft_s=_number(a.get("ttft_s")),
                output_tokens=_int(a.get("output_tokens")),
                cost_usd=_number(a.get("cost_usd")),
            )
            for a in raw
        ]
    except KeyError as exc:
        raise RatingError(f"an answer needs {exc}") from None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def add_playground(
    app: FastAPI,
    page: Callable[..., HTMLResponse],
    body: Callable[[bytes], dict[str, Any]],
    models: Sequence[PlaygroundModel],
    picker: TaskPicker,
    sets_root: Path,
) -> None:
    by_name = {m.name: m for m in models}
    runs = PromptRuns(sets_root)

    @app.get("/playground", response_class=HTMLResponse)
    async def playground_page() -> HTMLResponse:
        return page("playground.html", models=list(by_name), tasks=picker.names())

    @app.get("/api/tasks")
    async def tasks() -> JSONResponse:
        return JSONResponse({"tasks": picker.names()})

    @app.get("/api/tasks/{name}")
    async def task(name: str, offset: int = 0, limit: int = 100) -> JSONResponse:
        return JSONResponse(picker.describe(name, offset, min(max(limit, 1), 1000)))

    @app.post("/api/render")
    async def render_sample(request: Request) -> JSONResponse:
        fields = body(await request.body())
        name, sample_id = _text(fields, "task"), _text(fields, "sample_id")
        sample = picker.sample(name, sample_id)
        template = _text(fields, "template", picker.task(name).spec.prompt)
        messages = render(sample, template, _text(fields, "system_template", ""))
        return JSONResponse({"messages": messages, "references": sample.references})

    @app.post("/api/playground")
    async def playground_stream(request: Request) -> StreamingResponse:
        fields = body(await request.body())
        messages = _messages(fields)
        model = by_name.get(str(fields.get("model")))
        if model is None:
            raise RatingError(f"unknown playground model {str(fields.get('model'))[:64]!r}", 404)
        return StreamingResponse(stream_answer(model, messages), media_type="application/x-ndjson")

    @app.post("/api/prompt-sets")
    async def save(request: Request) -> JSONResponse:
        fields = body(await request.body())
        messages, task_name = _messages(fields), fields.get("task") or None
        sample_id = fields.get("sample_id") or None
        source, refs = None, fields.get("references") or []
        if task_name is not None:  # a task's sample: its own references and scorers
            refs = picker.sample(_text(fields, "task"), _text(fields, "sample_id")).references
            spec = picker.task(task_name).spec
            source = {"scorers": spec.scorers, "language": spec.language,
                      "primary_metric": spec.primary_metric}  # fmt: skip
        if not isinstance(refs, list):
            refs = [str(refs)]
        saved = Saved(
            set_sample_id(task_name, sample_id, messages[-1]["content"]), messages,
            [str(r) for r in refs if str(r).strip()], _text(fields, "template", "{{ input }}"),
            _text(fields, "system_template", ""), task_name, sample_id,
        )  # fmt: skip
        version = _text(fields, "version", "v1")
        name, answers = _text(fields, "set"), _answers(fields)
        return JSONResponse(save_prompt(sets_root, name, version, saved, answers, source))

    @app.get("/api/prompt-sets")
    async def sets() -> JSONResponse:
        return JSONResponse({"sets": list_sets(sets_root)})

    @app.post("/api/prompt-sets/{name}/run")
    async def run_set(name: str) -> JSONResponse:
        return JSONResponse(runs.start(name).as_dict(), status_code=202)

    @app.get("/api/prompt-runs/{job_id}")
    async def run_state(job_id: str) -> JSONResponse:
        return JSONResponse(runs.job(job_id).as_dict())

    @app.get("/prompt-runs/{job_id}/report")
    async def run_report(job_id: str) -> FileResponse:
        report = runs.job(job_id).run_dir / "report.html"
        if not report.is_file():
            raise RatingError("the run has no report (yet)", status=404)
        return FileResponse(report, media_type="text/html")
