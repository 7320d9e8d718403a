"""What `evalkit studio` and `evalkit ratings ...` do (cli.py only declares the options)."""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Hashable, Mapping
from pathlib import Path

from evalkit.errors import UserError
from evalkit.judges.rubric import Rubric, load_rubric
from evalkit.store.atomicio import atomic_write_bytes, atomic_write_text
from evalkit.store.ratings_db import DB_NAME, RatingsDB, open_db

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def studio_rubric(name: str) -> Rubric:
    rubric = load_rubric(name)
    if rubric.scale is None:
        raise UserError(f"rubric '{rubric.name}' has no scale: the studio needs a pointwise one")
    return rubric


def studio_token(host: str, token_env: str) -> str | None:
    """The token every request must carry: the value of $token_env when it is set; required
    when `host` is not a loopback address (UserError otherwise)."""
    token = os.environ.get(token_env, "").strip() or None
    if token is None and host not in LOCAL_HOSTS:
        raise UserError(
            f"listening on {host} needs a token: set {token_env} (or name another variable "
            "with --token-env); without one the studio listens on 127.0.0.1 only"
        )
    return token


def serve_studio(
    run_dir: Path,
    host: str,
    port: int,
    db_path: Path | None,
    token_env: str,
    rubric: str,
    playground: Path | None = None,
    prompt_sets: Path = Path("prompt_sets"),
) -> None:
    try:
        import uvicorn

        from evalkit.studio.app import create_app
    except ImportError as exc:
        raise UserError(f"the studio needs {exc.name}: pip install 'evalkit[studio]'") from None
    from evalkit.analysis.rundir import open_run
    from evalkit.studio.items import load_run_items
    from evalkit.studio.playground import load_models
    from evalkit.studio.prompts import TaskPicker

    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: run directory not found")
    token = studio_token(host, token_env)
    chosen = studio_rubric(rubric)
    models = load_models(playground) if playground else []
    listener = bind_port(host, port)
    try:
        open_run(run_dir)  # not a run directory: the one error, before a database is made there
    except UserError:
        listener.close()
        raise
    db = RatingsDB(db_path or run_dir / DB_NAME)
    n_items = load_run_items(db, run_dir)
    shown = f"[{host}]" if ":" in host else host
    print(f"evalkit studio: {n_items} items, ratings in {db.path}", flush=True)
    print(f"http://{shown}:{port}/" + ("?token=..." if token else ""), flush=True)
    picker = TaskPicker(run_task_refs(run_dir))
    app = create_app(db, chosen, token, models, picker, prompt_sets)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])


def bind_port(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (IPv6 when `host` has a ':'), bound here so that
    a port in use or a host not on this machine is a UserError, not uvicorn's log line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"cannot listen on {host}:{port}: {reason} (try another --port)") from None


def run_task_refs(run_dir: Path) -> list[str]:
    """The task references a run was made with (its run.json's config)."""
    from evalkit.analysis.rundir import open_run
    from evalkit.config import RunConfig

    return list(RunConfig.from_dict(open_run(run_dir).record.config).task_refs)


def export_ratings(
    source: Path, fmt: str, output: Path | None, kind: str | None = None
) -> str | None:
    """Write every rating and vote (`kind`: only "point" or "pair") as JSONL, CSV or Parquet to
    `output` (JSONL/CSV: stdout when None; returns the text then)."""
    from evalkit.analysis.ratings import export_frame

    frame = export_frame(open_db(source), kind)
    if fmt == "parquet":
        if output is None:
            raise UserError("--format parquet needs --output FILE")
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        atomic_write_bytes(output, buffer.getvalue())
        return None
    if fmt == "csv":
        text = frame.to_csv(index=False)
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        text = "".join(_json_line(r) for r in records)
    if output is None:
        return text
    atomic_write_text(output, text)
    return None


def _json_line(row: Mapping[Hashable, object]) -> str:
    """One JSONL line; U+2028 and U+2029 escaped, so a reader that splits on every Unicode line
    break (Python's str.splitlines, JavaScript) still sees one record per line."""
    text = json.dumps(row, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"
